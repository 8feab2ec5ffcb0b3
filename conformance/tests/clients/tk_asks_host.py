# Cliente que pergunta tudo por diálogos: o IP do servidor, a porta (askinteger) e o nome.
# As mensagens ficam numa Listbox; o Enter envia.
import socket
import threading
import tkinter as tk
from tkinter import messagebox, simpledialog

root = tk.Tk()
root.withdraw()
host = simpledialog.askstring("Servidor", "IP do servidor:", initialvalue="127.0.0.1")
porta = simpledialog.askinteger("Servidor", "Porta do servidor:", initialvalue=5000)
if not host or not porta:
    raise SystemExit
while True:
    nome = simpledialog.askstring("Login", "Digite seu nome de usuário:")
    if nome is None:
        raise SystemExit
    if " " in nome or "@" in nome:
        messagebox.showerror("Erro", "Nome inválido!")
    else:
        break

s = socket.socket()
try:
    s.connect((host, porta))
except OSError as erro:
    messagebox.showerror("Erro de conexão", f"Não consegui conectar em {host}:{porta}: {erro}")
    raise SystemExit(1)
s.sendall((nome + "\n").encode())

root.deiconify()
root.title("Bate-papo")
mensagens = tk.Listbox(root, width=70, height=18)
mensagens.pack(padx=5, pady=5)
ip, p = s.getsockname()
tk.Label(root, text=f"IP: {ip}  Porta: {p}").pack()
campo = tk.Entry(root, width=60)
campo.pack(side=tk.LEFT, padx=5, pady=5)


def envia(_evento=None):
    msg = campo.get()
    campo.delete(0, tk.END)
    if not msg:
        return
    if msg.startswith("@" + nome + " "):
        messagebox.showerror("Erro", "Não é possível mandar mensagem privada para si mesmo")
        return
    s.sendall((msg + "\n").encode())


def sai():
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
    root.quit()


campo.bind("<Return>", envia)
tk.Button(root, text="Sair do chat", command=sai).pack(side=tk.RIGHT, padx=5)


def recebe():
    arquivo = s.makefile("r", encoding="utf-8", errors="replace")
    for linha in arquivo:
        mensagens.insert(tk.END, linha.rstrip("\n"))


threading.Thread(target=recebe, daemon=True).start()
root.mainloop()
