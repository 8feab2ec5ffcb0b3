# Servidor de chat multiusuário (trabalho de Redes).
# Framing: "writes" - cada recv(1024) é uma mensagem (como no enunciado).
# Cada cliente tem uma thread que lê e uma thread que envia (com fila).
# A thread de cada cliente pede o nome e, quando o nome é aceito, coloca o cliente na fila
# "novos"; o loop do accept (thread principal) é quem avisa todo mundo que ele entrou.
# Defect: quando um cliente desconecta, a thread dele fecha o socket e avisa os outros que
#   ele saiu, mas esquece de tirar o socket da lista de clientes. O próximo aviso de entrada,
#   enviado pelo loop do accept, faz sendall() no socket fechado: OSError (Bad file
#   descriptor) sem try no loop principal -> o loop do accept morre com traceback. As threads
#   dos clientes não são daemon, então o processo continua vivo, mas ninguém novo é atendido
#   (a porta continua aberta e as conexões ficam paradas no backlog).
# Expected to fail: RF8, RF10 (quebra quando um usuário sai: o aviso de saída chega, mas o
#   próximo que entra derruba o accept).
import queue
import socket
import sys
import threading

HOST = '127.0.0.1'
PORT = int(sys.argv[1])

clientes = {}  # socket -> nome
lock = threading.Lock()
novos = queue.Queue()  # (socket, nome, ip, porta) de quem acabou de entrar
filas = {}  # socket -> fila de saída (cada cliente tem uma thread que só envia)


def escritor(sock, fila):
    while True:
        texto = fila.get()
        if texto is None:
            return
        try:
            sock.sendall(texto.encode())
        except OSError:
            return


def envia(sock, texto):
    # manda pela fila do cliente, assim um cliente lento não trava quem está mandando
    fila = filas.get(sock)
    if fila is not None:
        fila.put(texto)


def broadcast(mensagem, remetente):
    """Manda a mensagem para todos menos o remetente."""
    with lock:
        lista = list(clientes.keys())
    for c in lista:
        if c is not remetente:
            envia(c, mensagem)


def handle_cliente(sock, endereco):
    ip, porta = endereco
    nome = None
    filas[sock] = queue.Queue()
    threading.Thread(target=escritor, args=(sock, filas[sock]), daemon=True).start()
    try:
        envia(sock, 'Digite seu nome:\n')
        while True:
            dados = sock.recv(1024)
            if not dados:
                filas[sock].put(None)
                sock.close()
                return
            nome = dados.decode(errors='replace').strip()
            if nome == '' or ' ' in nome or '@' in nome:
                envia(sock, 'Erro: o nome não pode ter espaço nem @. Digite outro:\n')
                continue
            with lock:
                if nome in clientes.values():
                    ok = False
                else:
                    ok = True
                    clientes[sock] = nome
            if not ok:
                envia(sock, 'Erro: já existe um usuário com esse nome. Digite outro:\n')
                continue
            break

        envia(sock, f'Bem-vindo, {nome}! Seu IP: {ip}, Porta: {porta}\n')
        novos.put((sock, nome, ip, porta))  # o loop principal avisa os outros

        while True:
            dados = sock.recv(1024)
            if not dados:
                break
            mensagem = dados.decode(errors='replace').strip()
            if not mensagem:
                continue
            print(f'Recebido de {nome}: {mensagem}', flush=True)
            if mensagem.startswith('@'):
                partes = mensagem[1:].split(' ', 1)
                destino = partes[0]
                texto = partes[1] if len(partes) > 1 else ''
                if destino == nome:
                    envia(sock, 'Erro: você não pode mandar mensagem privada para si mesmo.\n')
                    continue
                alvo = None
                with lock:
                    for s, n in clientes.items():
                        if n == destino:
                            alvo = s
                if alvo is None:
                    envia(sock, f'Erro: usuário {destino} não existe.\n')
                else:
                    envia(alvo, f'{nome} (privado): {texto}\n')
            else:
                broadcast(f'{nome}: {mensagem}\n', sock)
    except OSError as e:
        print(f'Conexão perdida com {nome}: {e}', flush=True)
    # cliente saiu
    filas[sock].put(None)
    sock.close()
    print(f'{nome} saiu do chat', flush=True)
    broadcast(f'{nome} saiu do chat.\n', sock)
    # (faltou: del clientes[sock])


servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
servidor.bind((HOST, PORT))
servidor.listen(5)
servidor.settimeout(0.1)  # pra poder avisar os novos usuários enquanto espera conexão
print(f'Servidor rodando em {HOST}:{PORT}', flush=True)

while True:
    try:
        cliente_socket, endereco = servidor.accept()
        print(f'Nova conexão: {endereco}', flush=True)
        t = threading.Thread(target=handle_cliente, args=(cliente_socket, endereco))
        t.start()
    except socket.timeout:
        pass
    # avisa todo mundo sobre quem entrou
    while not novos.empty():
        sock_novo, nome, ip, porta = novos.get()
        for c in list(clientes.keys()):
            if c is not sock_novo:
                c.sendall(f'{nome} entrou no chat. (IP: {ip}, Porta: {porta})\n'.encode())
        print(f'{nome} entrou no chat. (IP: {ip}, Porta: {porta})', flush=True)
        print(f'Clientes conectados: {list(clientes.values())}', flush=True)
