# Cliente de chat (tkinter), como o enunciado pede: nome por diálogo, pop-up sem servidor,
# thread de recebimento, "@nome" para si mesmo recusado, botão Sair.
import socket
import threading
import tkinter as tk
from tkinter import messagebox, simpledialog

HOST = "127.0.0.1"
PORT = 5000

janela = tk.Tk()
janela.title("Chat")
janela.withdraw()

nome = None
while True:
    nome = simpledialog.askstring("Nome", "Digite seu nome:", parent=janela)
    if nome is None:
        raise SystemExit
    if " " in nome or "@" in nome:
        messagebox.showerror("Erro", "O nome não pode ter espaço nem @.")
        continue
    break

cliente = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    cliente.connect((HOST, PORT))
except OSError:
    messagebox.showerror("Erro", "Não foi possível conectar ao servidor.")
    raise SystemExit
cliente.sendall(nome.encode())

janela.deiconify()
lista_chat = tk.Text(janela, state=tk.DISABLED, width=60, height=20)
lista_chat.pack(padx=8, pady=8)
entrada = tk.Entry(janela, width=50)
entrada.pack(side=tk.LEFT, padx=8, pady=8)


def mostrar(texto):
    lista_chat.config(state=tk.NORMAL)
    lista_chat.insert(tk.END, texto)
    lista_chat.config(state=tk.DISABLED)
    lista_chat.yview(tk.END)


def enviar(event=None):
    mensagem = entrada.get().strip()
    if not mensagem:
        return
    if mensagem.startswith("@") and mensagem.split(" ")[0][1:] == nome:
        mostrar("Erro: você não pode enviar mensagens privadas para si mesmo.\n")
        entrada.delete(0, tk.END)
        return
    mostrar("Você: " + mensagem + "\n")
    cliente.sendall(mensagem.encode())
    entrada.delete(0, tk.END)


def sair():
    try:
        cliente.sendall(f"{nome} saiu do chat.".encode())
        cliente.close()
    except OSError:
        pass
    janela.destroy()


def recebe():
    while True:
        try:
            dados = cliente.recv(1024)
        except OSError:
            break
        if not dados:
            break
        mostrar(dados.decode(errors="replace"))


entrada.bind("<Return>", enviar)
tk.Button(janela, text="Enviar", command=enviar).pack(side=tk.LEFT)
tk.Button(janela, text="Sair", command=sair).pack(side=tk.LEFT)
threading.Thread(target=recebe, daemon=True).start()
janela.mainloop()
