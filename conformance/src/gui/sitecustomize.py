# The grader's hook in a student's tkinter client. Python loads it at start-up (it is the
# `sitecustomize` module on PYTHONPATH) before the client's own code runs. It changes nothing
# the student wrote; it lets the grader see and drive the window:
# - every messagebox and simpledialog call is recorded and answered at once (a pop-up would
#   otherwise wait for a click nobody makes); a question gets an answer of its kind: the
#   server's host or port where it asks for them, else the grader's next name (askstring,
#   askinteger, input());
# - a name typed into a form of the window (an entry and an "Entrar"/"Conectar" button) is the
#   grader's next name, when the grader asks for it;
# - every TCP connection goes where the grader says (its own server, or a refusal), whatever
#   address the client has written in;
# - a control connection to the grader carries events out (JSON lines) and commands in: type
#   into the entry and send, click a button by its words, read every widget's text.
import builtins
import json
import os
import queue
import re
import socket
import sys
import threading
import time

_CONTROL = os.environ.get("BATEPAPO_HOOK", "")
_REDIRECT = os.environ.get("BATEPAPO_REDIRECT", "")
_NAMES = [n for n in os.environ.get("BATEPAPO_NAMES", "aluno").split("\n") if n]
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_lock = threading.Lock()
_out = None
# Every Tk() the client made, in order: a login window may be destroyed and a chat window
# made after it.
_roots = []
# The grader's commands, run by the client's event loop (_pump).
_commands = queue.Queue()
_pumped_at = 0.0
_live_count = 0
_serving = set()
_names_given = 0
# Whether the client asked for a name with a dialog or input().
_name_asked = False
_NAME_WORDS = re.compile(r"\b(nome|name|apelido|nick\w*|usu[aá]rio|user\w*|login)\b", re.I)
_PORT_WORDS = re.compile(r"\b(porta|port)\b", re.I)
_HOST_WORDS = re.compile(r"\b(ip|host|servidor|server|endere[cç]o|address)\b", re.I)
# Words of a button that sends a login form.
_LOGIN_WORDS = ("entrar", "conectar", "connect", "login", "log in", "join", "ok", "confirmar",
                "iniciar", "acessar", "start")


def _send(event):
    event["t"] = time.monotonic()
    line = (json.dumps(event) + "\n").encode()
    with _lock:
        if _out is not None:
            try:
                _out.sendall(line)
            except OSError:
                pass


def _next_name():
    global _names_given
    name = _NAMES[min(_names_given, len(_NAMES) - 1)]
    _names_given += 1
    return name


def _port():
    """The port to give a client that asks for one: the grader's server's (any would do: the
    connection is sent there anyway)."""
    if ":" in _REDIRECT:
        return int(_REDIRECT.rsplit(":", 1)[1])
    return 5000


def _kind(words):
    """What a question or a field's label asks for: "port", "host" or "name" (None: unknown)."""
    if _PORT_WORDS.search(words):
        return "port"
    if _NAME_WORDS.search(words):
        return "name"
    if _HOST_WORDS.search(words):
        return "host"
    return None


def _answer(words):
    """The answer to a question, of its kind."""
    global _name_asked
    kind = _kind(words)
    if kind == "port":
        return str(_port())
    if kind == "host":
        return "127.0.0.1"
    _name_asked = True
    return _next_name()


def _redirected(sock, address):
    """Where a connection goes instead of `address` (None: refuse it)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
        return address
    _send({"ev": "connect", "to": [str(address[0]), int(address[1])]})
    if _REDIRECT == "refuse":
        return None
    host, port = _REDIRECT.rsplit(":", 1)
    return (host, int(port))


def _hooked_connect(self, address):
    target = _redirected(self, address)
    if target is None:
        raise ConnectionRefusedError(111, "Connection refused")
    return _connect(self, target)


def _hooked_connect_ex(self, address):
    target = _redirected(self, address)
    if target is None:
        return 111
    return _connect_ex(self, target)


def _hooked_input(prompt=""):
    answer = _answer(str(prompt))
    _send({"ev": "input", "prompt": str(prompt), "answer": answer})
    return answer


def _live():
    """The client's Tk windows that still exist, newest first."""
    out = []
    for r in reversed(_roots):
        try:
            if r.winfo_exists():
                out.append(r)
        except Exception:
            pass
    return out


def _widgets(w):
    yield w
    try:
        children = w.winfo_children()
    except Exception:
        children = []
    for c in children:
        yield from _widgets(c)


def _text_of(w):
    cls = w.winfo_class()
    try:
        if cls == "Text":
            return w.get("1.0", "end")
        if cls == "Listbox":
            return "\n".join(str(x) for x in w.get(0, "end"))
        if cls in ("Entry", "TEntry"):
            return w.get()
        if cls in ("Tk", "Toplevel"):
            return w.title()
        return str(w.cget("text"))
    except Exception:
        return ""


def _texts():
    out = []
    for root in reversed(_live()):
        for w in _widgets(root):
            t = _text_of(w)
            if t and t.strip():
                out.append({"class": w.winfo_class(), "text": t, "window": str(w.winfo_toplevel())})
    return out


def _buttons(words, roots=None):
    for root in roots or _live():
        for w in _widgets(root):
            if w.winfo_class() in ("Button", "TButton"):
                text = str(w.cget("text")).strip().lower()
                if any(text == x or text.startswith(x) for x in words):
                    yield w


def _menu_items(words):
    """The menu entries (File > Sair) whose label is one of `words`: (menu, index)."""
    for root in _live():
        for w in _widgets(root):
            if w.winfo_class() != "Menu":
                continue
            last = w.index("end")
            for i in range(0 if last is None else last + 1):
                if w.type(i) != "command":
                    continue
                text = str(w.entrycget(i, "label")).strip().lower()
                if any(text == x or text.startswith(x) for x in words):
                    yield w, i


def _entries(root):
    return [w for w in _widgets(root) if w.winfo_class() in ("Entry", "TEntry")]


def _label_before(entry):
    """The text of the label placed just before `entry` in its frame (how forms are written)."""
    text = ""
    try:
        for w in entry.master.winfo_children():
            if w is entry:
                break
            if w.winfo_class() in ("Label", "TLabel"):
                text = str(w.cget("text"))
    except Exception:
        pass
    return text


def _login():
    """Fills in a login form (an entry for the name, and a button that says Entrar or the
    like) with the next name and sends it; how, or "none" when no window has such a form."""
    if _name_asked:
        # The client asks for its name with a dialog: a form in its window is something else.
        return "none"
    for root in _live():
        buttons = list(_buttons(_LOGIN_WORDS, [root]))
        entries = _entries(root)
        if not buttons or not entries:
            continue
        kinds = [(e, _kind(_label_before(e))) for e in entries]
        named = [e for e, k in kinds if k == "name"] or [e for e, k in kinds if k is None][:1]
        if not named:
            continue
        for e, k in kinds:
            if k in ("host", "port") and not e.get().strip():
                e.insert(0, "127.0.0.1" if k == "host" else str(_port()))
        name = _next_name()
        named[0].delete(0, "end")
        named[0].insert(0, name)
        _send({"ev": "login", "answer": name, "button": str(buttons[0].cget("text"))})
        buttons[0].invoke()
        return "button"
    return "none"


def _type(text, send_words):
    live = _live()
    if not live:
        return "no window"
    root = live[0]
    entries = _entries(root)
    if not entries:
        return "no entry in the window"
    # The entry with the keyboard focus, else the last one (the message box, below the chat).
    focus = root.focus_get()
    entry = focus if focus in entries else entries[-1]
    entry.delete(0, "end")
    entry.insert(0, text)
    # Forced: with no window manager, a window has the keyboard only while the pointer is over
    # it, and a generated <Return> goes where the keyboard is.
    entry.focus_force()
    # Bound on the entry, on its window, or for every widget.
    bound = any(str(w.bind("<Return>")).strip() for w in (entry, entry.winfo_toplevel()))
    bound = bound or bool(str(root.bind_all("<Return>")).strip())
    if bound:
        entry.event_generate("<Return>", when="tail")
        return "enter"
    buttons = list(_buttons(send_words, [root]))
    if buttons:
        buttons[0].invoke()
        return "button"
    return "neither Enter nor a send button"


def _serve(sock):
    """The control connection: "ready" is answered here; every other command waits for the
    client's event loop (tkinter is driven from its own thread only)."""
    reader = sock.makefile("r", encoding="utf-8")
    for line in reader:
        try:
            cmd = json.loads(line)
        except ValueError:
            continue
        if cmd.get("cmd") == "ready":
            # Whether a window takes commands: its event loop ran them a moment ago.
            ready = time.monotonic() - _pumped_at < 0.5 and _live_count > 0
            _send({"ev": "reply", "id": cmd.get("id"), "ready": ready})
        else:
            _commands.put(cmd)


def _run(cmd):
    reply = {"ev": "reply", "id": cmd.get("id")}
    try:
        if cmd["cmd"] == "login":
            reply["how"] = _login()
        elif cmd["cmd"] == "texts":
            reply["texts"] = _texts()
        elif cmd["cmd"] == "type":
            reply["how"] = _type(cmd["text"], cmd.get("send", []))
        elif cmd["cmd"] == "click":
            buttons = list(_buttons(cmd["words"]))
            items = list(_menu_items(cmd["words"]))
            if buttons:
                label, click = str(buttons[0].cget("text")), buttons[0].invoke
            elif items:
                menu, i = items[0]
                label, click = str(menu.entrycget(i, "label")), lambda: menu.invoke(i)
            else:
                reply["error"] = "no button or menu item says " + "/".join(cmd["words"])
                _send(reply)
                return
            # Answered first: what closes the window may end the program before the click
            # returns.
            reply["clicked"] = label
            _send(reply)
            click()
            return
        else:
            reply["error"] = "no command " + str(cmd["cmd"])
    except Exception as e:  # A widget gone, a Tcl error: the grader reports it.
        reply["error"] = "%s: %s" % (type(e).__name__, e)
    _send(reply)


def _pump(root):
    """Runs the grader's commands on the client's own thread, from its event loop (mainloop, or
    a loop of update() calls), every 40 ms while `root` lives."""
    global _pumped_at, _live_count
    if id(root) not in _serving:
        _serving.add(id(root))
        _send({"ev": "loop"})
    _pumped_at = time.monotonic()
    while True:
        try:
            cmd = _commands.get_nowait()
        except queue.Empty:
            break
        _run(cmd)
    _live_count = len(_live())
    try:
        root._batepapo_after = root.after(40, _pump, root)
    except Exception:
        pass  # The window is gone.


def _install_tk():
    try:
        import tkinter
        import tkinter.messagebox as messagebox
        import tkinter.simpledialog as simpledialog
    except Exception as e:
        _send({"ev": "no-tkinter", "why": str(e)})
        return

    def recorded(kind, answer):
        def shown(title=None, message=None, *args, **kwargs):
            _send({"ev": "popup", "kind": kind, "title": str(title or ""), "message": str(message or "")})
            return answer
        return shown

    for kind, answer in [
        ("showerror", "ok"), ("showwarning", "ok"), ("showinfo", "ok"),
        ("askyesno", True), ("askokcancel", True), ("askquestion", "yes"),
        ("askretrycancel", False), ("askyesnocancel", True),
    ]:
        setattr(messagebox, kind, recorded(kind, answer))

    def asked(kind, convert):
        def ask(title=None, prompt=None, *args, **kwargs):
            words = "%s %s" % (title or "", prompt or "")
            answer = _answer(words)
            _send({"ev": kind, "title": str(title or ""), "prompt": str(prompt or ""), "answer": answer})
            try:
                return convert(answer)
            except ValueError:
                # A number asked for something that is not a port: any number will do.
                return convert(str(_port()))
        return ask

    simpledialog.askstring = asked("askstring", str)
    simpledialog.askinteger = asked("askinteger", int)
    simpledialog.askfloat = asked("askfloat", float)
    tk_init = tkinter.Tk.__init__

    def init(self, *args, **kwargs):
        tk_init(self, *args, **kwargs)
        _roots.append(self)
        _send({"ev": "window"})
        self._batepapo_after = self.after(0, _pump, self)

    tkinter.Tk.__init__ = init
    tk_destroy = tkinter.Tk.destroy

    def destroy(self):
        # The pending call to _pump would find its command deleted with the window.
        try:
            self.after_cancel(self._batepapo_after)
        except Exception:
            pass
        tk_destroy(self)

    tkinter.Tk.destroy = destroy
    toplevel_init = tkinter.Toplevel.__init__

    def new_toplevel(self, *args, **kwargs):
        toplevel_init(self, *args, **kwargs)
        _send({"ev": "toplevel"})

    tkinter.Toplevel.__init__ = new_toplevel

    def report(self, exc, val, tb):
        _send({"ev": "exception", "text": "%s: %s" % (exc.__name__, val)})
        sys.__excepthook__(exc, val, tb)

    tkinter.Tk.report_callback_exception = report


def _start():
    global _out
    if not _CONTROL:
        return
    host, port = _CONTROL.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    _connect(sock, (host, int(port)))
    _out = sock
    socket.socket.connect = _hooked_connect
    socket.socket.connect_ex = _hooked_connect_ex
    builtins.input = _hooked_input
    _install_tk()
    threading.Thread(target=_serve, args=(sock,), daemon=True).start()
    _send({"ev": "started", "pid": os.getpid()})


_start()
