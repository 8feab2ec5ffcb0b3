# Cliente que aceita qualquer nome (defeito: nomes com espaço ou @ vão ao servidor - RF1).
import socket
import threading
import tkinter as tk
import tkinter.scrolledtext as st
from tkinter import messagebox, simpledialog

HOST, PORT = "127.0.0.1", 50001


class Chat:
    def __init__(self):
        self.root = tk.Tk()
        self.root.withdraw()
        self.nome = simpledialog.askstring("Login", "Nome de usuário")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self.sock.connect((HOST, PORT))
        except ConnectionRefusedError:
            messagebox.showerror("Servidor", "Servidor offline!")
            self.root.destroy()
            return
        self.sock.send(self.nome.encode("utf-8"))
        self.root.deiconify()
        self.area = st.ScrolledText(self.root)
        self.area.pack()
        self.campo = tk.Entry(self.root)
        self.campo.pack(fill=tk.X)
        tk.Button(self.root, text="Enviar", command=self.enviar).pack()
        tk.Button(self.root, text="Sair", command=self.sair).pack()
        threading.Thread(target=self.ouvir, daemon=True).start()
        self.root.mainloop()

    def ouvir(self):
        while True:
            try:
                dado = self.sock.recv(1024)
            except OSError:
                return
            if not dado:
                return
            self.area.insert(tk.END, dado.decode("utf-8"))

    def enviar(self):
        texto = self.campo.get()
        alvo = texto.split(" ")[0]
        if alvo == "@" + self.nome:
            messagebox.showwarning("Aviso", "Não é possível enviar mensagem para si mesmo")
            return
        self.sock.send(texto.encode("utf-8"))
        self.campo.delete(0, tk.END)

    def sair(self):
        self.sock.close()
        self.root.destroy()


Chat()
