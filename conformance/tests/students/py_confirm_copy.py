# Servidor de chat multiusuário (trabalho de Redes).
# Framing: "lines" - cada mensagem é uma linha terminada em \n.
# Cada cliente tem uma thread que lê e uma thread que escreve (com fila), então um cliente
# lento não trava ninguém.
# Design (não é defeito): uma mensagem privada também volta para quem mandou, como
#   confirmação: "(privado para @bob): texto". Só o remetente recebe essa cópia.
# Expected to fail: nothing.
import queue
import socket
import sys
import threading

HOST = '127.0.0.1'
PORT = int(sys.argv[1])

usuarios = {}  # nome -> Usuario
trava = threading.Lock()


class Usuario:
    def __init__(self, sock, endereco):
        self.sock = sock
        self.ip, self.porta = endereco
        self.nome = None
        self.fila = queue.Queue()
        threading.Thread(target=self.escritor, daemon=True).start()

    def manda(self, texto):
        self.fila.put(texto)

    def escritor(self):
        while True:
            texto = self.fila.get()
            if texto is None:
                return
            try:
                self.sock.sendall(texto.encode())
            except OSError:
                return


def manda_para_todos(texto, menos):
    with trava:
        lista = [u for u in usuarios.values() if u is not menos]
    for u in lista:
        u.manda(texto)


def atende(sock, endereco):
    eu = Usuario(sock, endereco)
    leitor = sock.makefile('r', encoding='utf-8', errors='replace')
    try:
        eu.manda('Qual o seu nome?\n')
        while True:
            linha = leitor.readline()
            if not linha:
                return
            nome = linha.strip()
            if nome == '' or ' ' in nome or '@' in nome:
                eu.manda('Nome inválido: não pode ter espaço nem @. Qual o seu nome?\n')
                continue
            with trava:
                if nome in usuarios:
                    nome = None
                else:
                    usuarios[nome] = eu
                    eu.nome = nome
            if nome is None:
                eu.manda('Esse nome já está em uso. Escolha outro:\n')
                continue
            break

        eu.manda(f'Bem-vindo, {nome}! Seu IP: {eu.ip}, Porta: {eu.porta}\n')
        manda_para_todos(f'{nome} entrou no chat (IP: {eu.ip}, Porta: {eu.porta})\n', eu)
        print(f'[+] {nome} {eu.ip}:{eu.porta}', flush=True)

        for linha in leitor:
            msg = linha.strip()
            if not msg:
                continue
            if msg.startswith('@'):
                destino, _, texto = msg[1:].partition(' ')
                if destino == nome:
                    eu.manda('Erro: você não pode mandar mensagem privada para você mesmo.\n')
                    continue
                with trava:
                    d = usuarios.get(destino)
                if d is None:
                    eu.manda(f'Erro: {destino} não está no chat.\n')
                    continue
                d.manda(f'{nome} (privado): {texto}\n')
                eu.manda(f'(privado para @{destino}): {texto}\n')  # confirmação pro remetente
            else:
                manda_para_todos(f'{nome}: {msg}\n', eu)
    except OSError as e:
        print('[!] erro:', e, flush=True)
    finally:
        if eu.nome:
            with trava:
                del usuarios[eu.nome]
            manda_para_todos(f'{eu.nome} saiu do chat\n', eu)
            print(f'[-] {eu.nome}', flush=True)
        eu.fila.put(None)
        sock.close()


servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
servidor.bind((HOST, PORT))
servidor.listen(5)
print(f'Servidor ouvindo em {HOST}:{PORT}', flush=True)
while True:
    conexao, endereco = servidor.accept()
    threading.Thread(target=atende, args=(conexao, endereco), daemon=True).start()
