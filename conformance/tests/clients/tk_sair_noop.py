# Cliente cujo botão Sair só limpa a tela (defeito: não sai do chat - RF9).
import socket
import threading
import tkinter as tk
from tkinter import messagebox, simpledialog

janela = tk.Tk()
janela.withdraw()
nome = simpledialog.askstring("Entrar", "Nome:")
if not nome or " " in nome or "@" in nome:
    messagebox.showerror("Erro", "Nome inválido")
    nome = simpledialog.askstring("Entrar", "Nome:")
c = socket.socket()
try:
    c.connect(("127.0.0.1", 9999))
except Exception:
    messagebox.showerror("Erro de conexão", "O servidor não está ativo")
    janela.destroy()
    raise SystemExit
c.send(nome.encode())
janela.deiconify()
caixa = tk.Text(janela)
caixa.pack()
e = tk.Entry(janela)
e.pack()


def enviar(evento=None):
    m = e.get()
    if m.split(" ")[0] == "@" + nome:
        messagebox.showerror("Erro", "Você não pode mandar mensagem para você mesmo")
        return
    c.send(m.encode())
    e.delete(0, tk.END)


def sair():
    caixa.delete("1.0", tk.END)  # esqueci de fechar a conexão


def ouvir():
    while True:
        try:
            r = c.recv(1024)
        except OSError:
            break
        if not r:
            break
        caixa.insert(tk.END, r.decode())


e.bind("<Return>", enviar)
tk.Button(janela, text="Sair", command=sair).pack()
threading.Thread(target=ouvir, daemon=True).start()
janela.mainloop()
