# Cliente que lê o socket na thread principal antes do mainloop (defeito: a janela nunca abre).
import socket
import tkinter as tk
from tkinter import messagebox, simpledialog

root = tk.Tk()
nome = simpledialog.askstring("Nome", "Seu nome")
s = socket.socket()
try:
    s.connect(("127.0.0.1", 5000))
except OSError:
    messagebox.showerror("Erro", "Servidor fora do ar")
    raise SystemExit
s.send(nome.encode())
historico = []
while True:  # espera o servidor mandar algo... para sempre
    d = s.recv(1024)
    if not d:
        break
    historico.append(d.decode())
texto = tk.Text(root)
texto.pack()
root.mainloop()
