# Multi-user chat server (networks assignment).
# Framing: "lines" - every message is one line ending in \n.
# Defect: one global lock is held while sendall() is called for every client, and sendall
#   blocks. A client that stops reading fills its socket buffers, sendall blocks while the
#   lock is held, and every other thread waits for the lock: the whole chat freezes.
#   (Send errors are handled properly: failed clients are removed after the loop.)
# Expected to fail: RF4
import socket
import sys
import threading

HOST = "127.0.0.1"
PORT = int(sys.argv[1])

clients = {}  # socket -> name
lock = threading.Lock()


def broadcast(msg, sender=None):
    """Send msg to everybody except sender."""
    dead = []
    with lock:
        for sock in clients:
            if sock is sender:
                continue
            try:
                sock.sendall(msg.encode())
            except OSError:
                dead.append(sock)
        # remove broken clients after the loop (we already hold the lock)
        for sock in dead:
            clients.pop(sock, None)


def send_to(sock, msg):
    try:
        sock.sendall(msg.encode())
    except OSError:
        pass


def find(name):
    with lock:
        for s, n in clients.items():
            if n == name:
                return s
    return None


def handle(sock, addr):
    ip, port = addr
    name = None
    reader = sock.makefile("r", encoding="utf-8", errors="replace")
    try:
        send_to(sock, "Enter your name:\n")
        while True:
            line = reader.readline()
            if not line:
                return
            candidate = line.strip()
            if candidate == "" or " " in candidate or "@" in candidate:
                send_to(sock, "Error: the name cannot contain spaces or @. Try again:\n")
                continue
            with lock:
                taken = candidate in clients.values()
                if not taken:
                    clients[sock] = candidate
            if taken:
                send_to(sock, "Error: that name is already taken. Try again:\n")
                continue
            name = candidate
            break

        send_to(sock, f"Welcome, {name}! Your IP: {ip}, port: {port}\n")
        broadcast(f"{name} joined the chat (IP: {ip}, port: {port})\n", sock)
        print(f"[server] {name} connected from {ip}:{port}", flush=True)

        for line in reader:
            msg = line.strip()
            if not msg:
                continue
            print(f"[server] {name}: {msg}", flush=True)
            if msg.startswith("@"):
                parts = msg[1:].split(" ", 1)
                to = parts[0]
                text = parts[1] if len(parts) > 1 else ""
                if to == name:
                    send_to(sock, "Error: you cannot send a private message to yourself.\n")
                    continue
                dest = find(to)
                if dest is None:
                    send_to(sock, f"Error: user {to} not found.\n")
                else:
                    send_to(dest, f"{name} (private): {text}\n")
            else:
                broadcast(f"{name}: {msg}\n", sock)
    except OSError as e:
        print(f"[server] error with {addr}: {e}", flush=True)
    finally:
        with lock:
            clients.pop(sock, None)
        sock.close()
        if name:
            print(f"[server] {name} left", flush=True)
            broadcast(f"{name} left the chat\n")


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, PORT))
    server.listen(5)
    print(f"[server] listening on {HOST}:{PORT}", flush=True)
    while True:
        sock, addr = server.accept()
        threading.Thread(target=handle, args=(sock, addr), daemon=True).start()


main()
