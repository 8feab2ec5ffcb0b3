# Servidor que guarda um "buffer" de 20 GB para as mensagens antes de abrir o chat.
# Framing: lines.
# Defect: a 20 GB allocation at start.
# Expected: it cannot start under a memory limit, and the finding names the limit or the error.
import socket
import sys

buffer = b'x' * (20 * 1024 ** 3)
s = socket.socket()
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(5)
while True:
    c, _ = s.accept()
    c.close()
