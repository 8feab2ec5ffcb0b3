# Multi-user chat server (networks assignment).
# Framing: "lines" - every message is one line ending in \n.
# Each client has a reader thread and a writer thread with its own queue.
# Defect: at most MAX_USERS (4) users are allowed: the 5th registration gets "Server full"
#   and is closed. The counter only ever goes up (nobody decrements it when a user leaves),
#   so after 4 registrations in total nobody else can ever join.
# Expected to fail: RF4 (8 users at once are refused), RF10
import queue
import socket
import sys
import threading

HOST = "127.0.0.1"
PORT = int(sys.argv[1])
MAX_USERS = 4

clients = {}  # name -> Client
lock = threading.Lock()
user_count = 0  # how many users are in the chat


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
        targets = [c for c in clients.values() if c is not sender]
    for c in targets:
        c.send(text)


def handle(sock, addr):
    global user_count
    me = Client(sock, addr)
    reader = sock.makefile("r", encoding="utf-8", errors="replace")
    try:
        me.send("Enter your name:\n")
        while True:
            line = reader.readline()
            if not line:
                return
            name = line.strip()
            if name == "" or " " in name or "@" in name:
                me.send("Error: names cannot have spaces or @. Try again:\n")
                continue
            with lock:
                if name in clients:
                    status = "taken"
                elif user_count >= MAX_USERS:
                    status = "full"
                else:
                    status = "ok"
                    clients[name] = me
                    me.name = name
                    user_count += 1
            if status == "taken":
                me.send("Error: name already in use. Try again:\n")
                continue
            if status == "full":
                me.send("Server full, try again later.\n")
                print(f"refused {name} from {addr}: server full", flush=True)
                return
            break

        me.send(f"Welcome, {name}! Your address: IP {me.ip}, port {me.port}\n")
        broadcast(f"{name} has joined the chat (IP {me.ip}, port {me.port})\n", me)
        print(f"{name} joined ({user_count}/{MAX_USERS})", flush=True)

        for line in reader:
            msg = line.strip()
            if not msg:
                continue
            if msg.startswith("@"):
                to, _, text = msg[1:].partition(" ")
                if to == name:
                    me.send("Error: you cannot message yourself.\n")
                    continue
                with lock:
                    dest = clients.get(to)
                if dest:
                    dest.send(f"{name} (private): {text}\n")
                else:
                    me.send(f"Error: no user named {to}.\n")
            else:
                broadcast(f"{name}: {msg}\n", me)
    except OSError as e:
        print("error:", e, flush=True)
    finally:
        if me.name:
            with lock:
                del clients[me.name]
                # user_count -= 1   (forgot this)
            broadcast(f"{me.name} has left the chat\n", me)
            print(f"{me.name} left", flush=True)
        me.outbox.put(None)
        sock.close()


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((HOST, PORT))
server.listen(5)
print(f"listening on {HOST}:{PORT}, max {MAX_USERS} users", flush=True)
while True:
    conn, addr = server.accept()
    threading.Thread(target=handle, args=(conn, addr), daemon=True).start()
