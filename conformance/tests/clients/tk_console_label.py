# Cliente com o nome pedido no console e os erros num Label (defeito: sem pop-up quando o
# servidor não está ativo - o RF11 pede um pop-up).
import socket
import threading
from tkinter import *

nome = input("Seu nome: ").strip()
while " " in nome or "@" in nome:
    nome = input("Nome inválido, outro: ").strip()

root = Tk()
root.title("Bate-papo de " + nome)
status = Label(root, text="conectando...")
status.pack()
chat = Listbox(root, width=70, height=18)
chat.pack()
msg = Entry(root, width=60)
msg.pack()
s = socket.socket()
conectado = False
try:
    s.connect(("localhost", 55555))
    s.send(nome.encode())
    conectado = True
    status.config(text="conectado")
except Exception as e:
    status.config(text="Erro: servidor não encontrado (" + str(e) + ")")


def receber():
    while True:
        try:
            m = s.recv(1024).decode()
        except Exception:
            break
        if not m:
            break
        for linha in m.splitlines():
            chat.insert(END, linha)


def mandar(ev=None):
    t = msg.get()
    if t.startswith("@" + nome + " ") or t == "@" + nome:
        status.config(text="Erro: não pode mandar mensagem privada para si mesmo")
        msg.delete(0, END)
        return
    s.send(t.encode())
    chat.insert(END, "eu: " + t)
    msg.delete(0, END)


def sair():
    s.close()
    root.quit()


msg.bind("<Return>", mandar)
Button(root, text="Sair", command=sair).pack()
if conectado:
    threading.Thread(target=receber, daemon=True).start()
root.mainloop()
