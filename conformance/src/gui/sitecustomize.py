# The grader's hook in a student's tkinter client. Python loads it at start-up (it is the
# `sitecustomize` module on PYTHONPATH) before the client's own code runs. It changes nothing
# the student wrote; it lets the grader see and drive the window:
# - every messagebox and simpledialog call is recorded and answered at once (a pop-up would
#   otherwise wait for a click nobody makes); askstring() and input() get the grader's names;
# - every TCP connection goes where the grader says (its own server, or a refusal), whatever
#   address the client has written in;
# - a control connection to the grader carries events out (JSON lines) and commands in: type
#   into the entry and send, click a button by its words, read every widget's text.
import builtins
import json
import os
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
_root = None
_names_given = 0


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
    name = _next_name()
    _send({"ev": "input", "prompt": str(prompt), "answer": name})
    return name


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
    if _root is None:
        return []
    out = []
    for w in _widgets(_root):
        t = _text_of(w)
        if t and t.strip():
            out.append({"class": w.winfo_class(), "text": t, "window": str(w.winfo_toplevel())})
    return out


def _buttons(words):
    for w in _widgets(_root):
        if w.winfo_class() in ("Button", "TButton"):
            text = str(w.cget("text")).strip().lower()
            if any(text == x or text.startswith(x) for x in words):
                yield w


def _type(text, send_words):
    entries = [w for w in _widgets(_root) if w.winfo_class() in ("Entry", "TEntry")]
    if not entries:
        return "no entry in the window"
    # The entry with the keyboard focus, else the last one (the message box, below the chat).
    focus = _root.focus_get()
    entry = focus if focus in entries else entries[-1]
    entry.delete(0, "end")
    entry.insert(0, text)
    entry.focus_set()
    # Bound on the entry, on its window, or for every widget.
    bound = any(str(w.bind("<Return>")).strip() for w in (entry, entry.winfo_toplevel()))
    bound = bound or bool(str(_root.bind_all("<Return>")).strip())
    if bound:
        entry.event_generate("<Return>", when="tail")
        return "enter"
    buttons = list(_buttons(send_words))
    if buttons:
        buttons[0].invoke()
        return "button"
    return "neither Enter nor a send button"


def _serve(sock):
    reader = sock.makefile("r", encoding="utf-8")
    for line in reader:
        try:
            cmd = json.loads(line)
        except ValueError:
            continue
        reply = {"ev": "reply", "id": cmd.get("id")}
        try:
            if _root is None:
                reply["error"] = "no window yet"
            elif cmd["cmd"] == "texts":
                reply["texts"] = _texts()
            elif cmd["cmd"] == "type":
                reply["how"] = _type(cmd["text"], cmd.get("send", []))
            elif cmd["cmd"] == "click":
                buttons = list(_buttons(cmd["words"]))
                if buttons:
                    # Answered first: a button that closes the window may end the program
                    # before the click returns.
                    reply["clicked"] = str(buttons[0].cget("text"))
                    _send(reply)
                    buttons[0].invoke()
                    continue
                else:
                    reply["error"] = "no button says " + "/".join(cmd["words"])
        except Exception as e:  # A widget gone, a Tcl error: the grader reports it.
            reply["error"] = "%s: %s" % (type(e).__name__, e)
        _send(reply)


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

    def askstring(title=None, prompt=None, *args, **kwargs):
        name = _next_name()
        _send({"ev": "askstring", "title": str(title or ""), "prompt": str(prompt or ""), "answer": name})
        return name

    simpledialog.askstring = askstring
    tk_init = tkinter.Tk.__init__

    def init(self, *args, **kwargs):
        global _root
        tk_init(self, *args, **kwargs)
        if _root is None:
            _root = self
            _send({"ev": "window"})

    tkinter.Tk.__init__ = init
    mainloop = tkinter.Misc.mainloop

    def loop(self, n=0):
        _send({"ev": "mainloop"})
        return mainloop(self, n)

    tkinter.Misc.mainloop = loop
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
