# Cliente de chat com tela de login: uma janela pede o nome (campo + botão "Entrar"), fecha, e
# só então abre a janela do chat (ttk, ScrolledText, botão "Enviar" sem Enter).
import socket
import threading
import tkinter as tk
from tkinter import messagebox, ttk
from tkinter.scrolledtext import ScrolledText

SERVIDOR = ("localhost", 12345)

nome = None


def tela_de_login():
    login = tk.Tk()
    login.title("Entrar no chat")
    ttk.Label(login, text="Seu nome:").pack(padx=10, pady=5)
    campo = ttk.Entry(login, width=30)
    campo.pack(padx=10, pady=5)
    campo.focus_set()

    def entrar():
        global nome
        texto = campo.get().strip()
        if not texto or " " in texto or "@" in texto:
            messagebox.showerror("Nome inválido", "Use um nome sem espaços e sem @.")
            campo.delete(0, tk.END)
            return
        nome = texto
        login.destroy()

    ttk.Button(login, text="Entrar", command=entrar).pack(padx=10, pady=10)
    login.mainloop()


tela_de_login()
if nome is None:
    raise SystemExit

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    sock.connect(SERVIDOR)
except ConnectionRefusedError:
    raiz = tk.Tk()
    raiz.withdraw()
    messagebox.showerror("Servidor offline", "O servidor não está rodando.")
    raise SystemExit(1)
sock.send(nome.encode("utf-8"))
meu_ip, minha_porta = sock.getsockname()[:2]

janela = tk.Tk()
janela.title("Chat - " + nome)
quadro = ttk.Frame(janela, padding=8)
quadro.pack(fill=tk.BOTH, expand=True)
ttk.Label(quadro, text=f"Você está conectado como {nome} ({meu_ip}:{minha_porta})").pack(anchor="w")
historico = ScrolledText(quadro, height=15, width=60, state="disabled")
historico.pack(fill=tk.BOTH, expand=True, pady=5)
linha = ttk.Frame(quadro)
linha.pack(fill=tk.X)
mensagem = ttk.Entry(linha, width=45)
mensagem.pack(side=tk.LEFT, fill=tk.X, expand=True)


def escrever(texto):
    historico.configure(state="normal")
    historico.insert(tk.END, texto + "\n")
    historico.configure(state="disabled")
    historico.see(tk.END)


def enviar():
    texto = mensagem.get().strip()
    if not texto:
        return
    if texto.split()[0] == "@" + nome:
        messagebox.showwarning("Aviso", "Você não pode mandar mensagem privada para você mesmo.")
        return
    sock.send(texto.encode("utf-8"))
    escrever("Eu: " + texto)
    mensagem.delete(0, tk.END)


def sair():
    sock.close()
    janela.destroy()


ttk.Button(linha, text="Enviar", command=enviar).pack(side=tk.LEFT, padx=5)
ttk.Button(quadro, text="Sair", command=sair).pack(anchor="e", pady=5)


def receber():
    while True:
        try:
            dados = sock.recv(4096)
        except OSError:
            return
        if not dados:
            return
        escrever(dados.decode("utf-8", "replace").strip())


threading.Thread(target=receber, daemon=True).start()
janela.protocol("WM_DELETE_WINDOW", sair)
janela.mainloop()
