# Cliente sem mainloop: o nome vem do console (input), e um laço "while rodando" chama
# root.update() e lê o socket com select; "Sair" fica no menu Arquivo. Defeito plantado: sem
# servidor, só escreve o erro no console e sai, sem pop-up (RF11).
import select
import socket
import tkinter as tk
from tkinter import messagebox

nome = input("Nome: ").strip()
while " " in nome or "@" in nome or not nome:
    print("Nome inválido, tente de novo.")
    nome = input("Nome: ").strip()

root = tk.Tk()
root.title("Chat")
try:
    conexao = socket.create_connection(("127.0.0.1", 6000), timeout=5)
except OSError:
    print("Erro: servidor indisponível")
    raise SystemExit(1)
conexao.sendall(nome.encode())
conexao.setblocking(False)

texto = tk.Text(root, height=16, width=60)
texto.pack()
entrada = tk.Entry(root, width=60)
entrada.pack()
rodando = True


def enviar(_=None):
    msg = entrada.get().strip()
    entrada.delete(0, tk.END)
    if not msg:
        return
    if msg.split()[0] == "@" + nome:
        messagebox.showerror("Erro", "Não pode mandar mensagem para si mesmo.")
        return
    conexao.sendall(msg.encode())


def sair():
    global rodando
    rodando = False


entrada.bind("<Return>", enviar)
menu = tk.Menu(root)
arquivo = tk.Menu(menu, tearoff=0)
arquivo.add_command(label="Sair", command=sair)
menu.add_cascade(label="Arquivo", menu=arquivo)
root.config(menu=menu)
root.protocol("WM_DELETE_WINDOW", sair)

while rodando:
    prontos, _, _ = select.select([conexao], [], [], 0.05)
    if prontos:
        dados = conexao.recv(1024)
        if not dados:
            break
        texto.insert(tk.END, dados.decode(errors="replace") + "\n")
    root.update()
conexao.close()
root.destroy()
