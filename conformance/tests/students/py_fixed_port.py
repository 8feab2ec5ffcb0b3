# Servidor de chat multiusuário (trabalho de Redes).
# Framing: "writes" - cada recv(1024) é uma mensagem, como no enunciado.
# A porta está fixa no código (50001), como no enunciado: o corretor roda cada cópia
# numa rede só dela (como root) ou uma de cada vez.
# Defect: nenhum, fora a porta fixa e sem SO_REUSEADDR.
# Expected to fail: nothing (graded as handed in: python3 py_fixed_port.py).
import queue
import socket
import sys
import threading

HOST = ''
PORT = 50001  # a porta do trabalho

clientes = {}  # nome -> Cliente
lock = threading.Lock()


def log(*args):
    print('[Servidor]', *args, flush=True)


class Cliente:
    def __init__(self, sock, endereco):
        self.sock = sock
        self.ip, self.porta = endereco
        self.nome = None
        self.fila = queue.Queue()
        self.vivo = True
        threading.Thread(target=self.enviador, daemon=True).start()

    def enviar(self, texto):
        # só coloca na fila, quem manda de verdade é a thread enviador
        if self.vivo:
            self.fila.put(texto)

    def enviador(self):
        while True:
            texto = self.fila.get()
            if texto is None:
                break
            try:
                self.sock.sendall(texto.encode())
            except OSError:
                self.vivo = False
                try:
                    self.sock.shutdown(socket.SHUT_RDWR)  # acorda o recv da outra thread
                except OSError:
                    pass
                break


def broadcast(mensagem, remetente):
    """Manda para todo mundo menos o remetente (sem segurar o lock durante o envio)."""
    with lock:
        destinos = [c for c in clientes.values() if c is not remetente]
    for c in destinos:
        c.enviar(mensagem)


def nome_valido(nome):
    return nome != '' and ' ' not in nome and '@' not in nome


def registrar(cliente):
    cliente.enviar('Digite seu nome:\n')
    while True:
        dados = cliente.sock.recv(1024)
        if not dados:
            return False
        nome = dados.decode(errors='replace').strip()
        if not nome_valido(nome):
            cliente.enviar('Erro: nome inválido (não pode ter espaço nem @). Digite outro nome:\n')
            continue
        with lock:
            if nome in clientes:
                ocupado = True
            else:
                ocupado = False
                cliente.nome = nome
                clientes[nome] = cliente
        if ocupado:
            cliente.enviar('Erro: já existe um usuário ativo com esse nome. Digite outro nome:\n')
            continue
        return True


def handle_cliente(sock, endereco):
    cliente = Cliente(sock, endereco)
    try:
        if not registrar(cliente):
            return
        nome = cliente.nome
        cliente.enviar(f'Bem-vindo, {nome}! Seu IP: {cliente.ip}, Porta: {cliente.porta}\n')
        with lock:
            ativos = ', '.join(clientes.keys())
        cliente.enviar(f'Usuários ativos: {ativos}\n')
        broadcast(f'{nome} entrou no chat. (IP: {cliente.ip}, Porta: {cliente.porta})\n', cliente)
        log(f'{nome} entrou ({cliente.ip}:{cliente.porta}). Conectados: {list(clientes.keys())}')
        while True:
            dados = sock.recv(1024)
            if not dados:
                break
            mensagem = dados.decode(errors='replace').strip()
            if not mensagem:
                continue
            log(f'Recebido de {nome}: {mensagem}')
            if mensagem.startswith('@'):
                partes = mensagem[1:].split(' ', 1)
                destino = partes[0]
                texto = partes[1] if len(partes) > 1 else ''
                if destino == nome:
                    cliente.enviar('Erro: você não pode mandar mensagem privada para si mesmo.\n')
                    continue
                with lock:
                    d = clientes.get(destino)
                if d is None:
                    cliente.enviar(f'Erro: usuário {destino} não encontrado.\n')
                else:
                    d.enviar(f'{nome} (privado): {texto}\n')
            else:
                broadcast(f'{nome}: {mensagem}\n', cliente)
    except OSError as e:
        log(f'Erro com {endereco}: {e}')
    finally:
        saiu = False
        with lock:
            if cliente.nome is not None and clientes.get(cliente.nome) is cliente:
                del clientes[cliente.nome]
                saiu = True
        cliente.vivo = False
        cliente.fila.put(None)
        if saiu:
            broadcast(f'{cliente.nome} saiu do chat.\n', cliente)
            log(f'{cliente.nome} saiu. Conectados: {list(clientes.keys())}')
        try:
            sock.close()
        except OSError:
            pass


def main():
    servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    servidor.bind((HOST, PORT))
    servidor.listen(5)
    log(f'Escutando em {HOST}:{PORT}')
    while True:
        sock, endereco = servidor.accept()
        log(f'Nova conexão de {endereco}')
        threading.Thread(target=handle_cliente, args=(sock, endereco), daemon=True).start()


if __name__ == '__main__':
    main()
