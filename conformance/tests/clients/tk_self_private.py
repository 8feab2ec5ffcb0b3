# Cliente que manda até mensagem privada para si mesmo (defeito: RF7).
import socket
import threading
import tkinter as tk
from tkinter import messagebox, simpledialog

root = tk.Tk()
root.withdraw()
nome = simpledialog.askstring("Nome", "Seu nome:")
while not nome or " " in nome or "@" in nome:
    messagebox.showerror("Erro", "Nome inválido")
    nome = simpledialog.askstring("Nome", "Seu nome:")
try:
    sock = socket.create_connection(("127.0.0.1", 65432), timeout=3)
    sock.settimeout(None)
except OSError:
    messagebox.showerror("Erro", "Servidor indisponível")
    raise SystemExit(1)
sock.sendall(nome.encode())
root.deiconify()
texto = tk.Text(root)
texto.pack()
linha = tk.Entry(root)
linha.pack()


def envia(_=None):
    m = linha.get()
    sock.sendall(m.encode())
    texto.insert("end", "> " + m + "\n")
    linha.delete(0, "end")


def escuta():
    while True:
        d = sock.recv(1024)
        if not d:
            break
        texto.insert("end", d.decode())


def sair():
    sock.close()
    root.destroy()


linha.bind("<Return>", envia)
tk.Button(root, text="Sair", command=sair).pack()
threading.Thread(target=escuta, daemon=True).start()
root.mainloop()
