# Cliente sem thread de recebimento: só lê o socket depois de enviar (defeito: RF4).
import socket
import tkinter as tk
from tkinter import messagebox, simpledialog

root = tk.Tk()
root.withdraw()
nome = simpledialog.askstring("Nome", "Qual o seu nome?")
while nome is None or " " in nome or "@" in nome:
    messagebox.showerror("Erro", "Nome não pode ter espaço ou @")
    nome = simpledialog.askstring("Nome", "Qual o seu nome?")
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.connect(("127.0.0.1", 5000))
except ConnectionRefusedError:
    messagebox.showerror("Erro", "Não foi possível conectar")
    raise SystemExit
s.send(nome.encode())
root.deiconify()
log = tk.Text(root)
log.pack()
log.insert("end", s.recv(1024).decode())
entrada = tk.Entry(root)
entrada.pack()


def enviar(ev=None):
    m = entrada.get()
    if m.startswith("@" + nome):
        messagebox.showerror("Erro", "Mensagem privada para si mesmo não é permitida")
        return
    s.send(m.encode())
    entrada.delete(0, "end")
    s.settimeout(0.5)
    try:
        log.insert("end", s.recv(4096).decode())
    except socket.timeout:
        pass


def sair():
    s.close()
    root.destroy()


entrada.bind("<Return>", enviar)
tk.Button(root, text="Sair", command=sair).pack()
root.mainloop()
