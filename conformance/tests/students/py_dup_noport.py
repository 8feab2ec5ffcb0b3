# Multi-user chat server (networks assignment).
# Framing: "lines" - every message is one line ending in \n.
# Each client has a reader thread and a writer thread with its own queue, so a slow
# client cannot block anybody else.
# Defect: no uniqueness check on names (two users can both be "alice"), and the join
#   notice sent to the others has no IP/port: "alice joined the chat". (The newcomer's own
#   welcome does carry its IP and port.)
# Expected to fail: RF2, RF3
import queue
import socket
import sys
import threading

HOST = "127.0.0.1"
PORT = int(sys.argv[1])

clients = []  # list of Client
lock = threading.Lock()


class Client:
    def __init__(self, sock, addr):
        self.sock = sock
        self.ip, self.port = addr
        self.name = None
        self.outbox = queue.Queue()
        threading.Thread(target=self.writer, daemon=True).start()

    def send(self, text):
        self.outbox.put(text)

    def writer(self):
        while True:
            text = self.outbox.get()
            if text is None:
                return
            try:
                self.sock.sendall(text.encode())
            except OSError:
                return


def broadcast(text, sender):
    with lock:
        targets = [c for c in clients if c is not sender]
    for c in targets:
        c.send(text)


def handle(sock, addr):
    me = Client(sock, addr)
    reader = sock.makefile("r", encoding="utf-8", errors="replace")
    joined = False
    try:
        me.send("Enter your name:\n")
        while True:
            line = reader.readline()
            if not line:
                return
            name = line.strip()
            if name == "" or " " in name or "@" in name:
                me.send("Invalid name (no spaces or @ allowed), try again:\n")
                continue
            break
        # TODO check if the name is taken
        me.name = name
        with lock:
            clients.append(me)
        joined = True
        me.send(f"Welcome {name}! You are {me.ip}:{me.port}\n")
        broadcast(f"{name} joined the chat\n", me)
        print(f"{name} joined from {me.ip}:{me.port}", flush=True)

        for line in reader:
            msg = line.strip()
            if not msg:
                continue
            print(f"{name} says: {msg}", flush=True)
            if msg.startswith("@"):
                to, _, text = msg[1:].partition(" ")
                if to == name:
                    me.send("You can't send a private message to yourself\n")
                    continue
                with lock:
                    dests = [c for c in clients if c.name == to]
                if not dests:
                    me.send(f"No user called {to}\n")
                for d in dests:
                    d.send(f"[private] {name}: {text}\n")
            else:
                broadcast(f"{name}: {msg}\n", me)
    except OSError as e:
        print("connection error:", e, flush=True)
    finally:
        if joined:
            with lock:
                clients.remove(me)
            broadcast(f"{me.name} left the chat\n", me)
            print(f"{me.name} left", flush=True)
        me.outbox.put(None)
        sock.close()


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((HOST, PORT))
server.listen(5)
print(f"Server running on {HOST}:{PORT}", flush=True)
while True:
    conn, addr = server.accept()
    threading.Thread(target=handle, args=(conn, addr), daemon=True).start()
