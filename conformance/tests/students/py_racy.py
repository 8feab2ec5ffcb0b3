# Multi-user chat server (networks assignment).
# Framing: "lines" - every message is one line ending in \n.
# Defect: data races. The client list is iterated without the lock while other threads
#   append/remove. The leave notice is sent from a separate "cleanup" thread after a random
#   0-0.3 s delay, and the join path checks a shared "someone is leaving" timestamp without
#   synchronisation: when a user left less than 0.5 s before, the newcomer's join notice is
#   skipped about half the time (whichever thread wins). Outcome varies run to run.
# Expected to fail: varies - RF10 (a newcomer right after a leave may never be announced),
#   maybe RF3 when a join follows a leave.
import queue
import random
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
PORT = int(sys.argv[1])

clients = []  # Client objects
lock = threading.Lock()
last_leave = 0.0  # time of the last disconnect (no lock, "it's just a float")


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
    # no lock here, iterating a list is atomic in python right?
    for c in clients:
        if c is not sender:
            c.send(text)


def name_taken(name):
    for c in clients:
        if c.name == name:
            return True
    return False


def announce_leave(name, me):
    # give the socket time to close properly before telling everyone
    time.sleep(random.uniform(0, 0.3))
    broadcast(f"{name} left the chat\n", me)


def announce_join(me):
    # if the cleanup thread of someone who just left is still running we may be racing it;
    # the list might be changing under us, so who gets to announce is a coin toss
    if time.time() - last_leave < 0.5 and random.random() < 0.5:
        print(f"(lost the race, {me.name} not announced)", flush=True)
        return
    broadcast(f"{me.name} joined the chat from {me.ip}:{me.port}\n", me)


def handle(sock, addr):
    global last_leave
    me = Client(sock, addr)
    reader = sock.makefile("r", encoding="utf-8", errors="replace")
    try:
        me.send("Your name?\n")
        while True:
            line = reader.readline()
            if not line:
                return
            name = line.strip()
            if name == "" or " " in name or "@" in name:
                me.send("Bad name: no spaces and no @ please. Your name?\n")
                continue
            if name_taken(name):
                me.send("That name is taken. Your name?\n")
                continue
            me.name = name
            with lock:
                clients.append(me)
            break

        me.send(f"Hi {name}, you are connected from {me.ip}:{me.port}\n")
        announce_join(me)
        print(f"{name} joined ({me.ip}:{me.port})", flush=True)

        for line in reader:
            msg = line.strip()
            if not msg:
                continue
            if msg.startswith("@"):
                to, _, text = msg[1:].partition(" ")
                if to == me.name:
                    me.send("You cannot send a private message to yourself.\n")
                    continue
                dest = None
                for c in clients:
                    if c.name == to:
                        dest = c
                if dest is None:
                    me.send(f"User {to} is not online.\n")
                else:
                    dest.send(f"(private) {me.name}: {text}\n")
            else:
                broadcast(f"{me.name}: {msg}\n", me)
    except OSError as e:
        print("socket error:", e, flush=True)
    finally:
        if me.name:
            last_leave = time.time()
            with lock:
                clients.remove(me)
            threading.Thread(target=announce_leave, args=(me.name, me), daemon=True).start()
            print(f"{me.name} disconnected", flush=True)
        me.outbox.put(None)
        sock.close()


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((HOST, PORT))
server.listen(5)
print(f"chat server on {HOST}:{PORT}", flush=True)
while True:
    conn, addr = server.accept()
    threading.Thread(target=handle, args=(conn, addr), daemon=True).start()
