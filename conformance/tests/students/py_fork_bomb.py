# Servidor que "aquece" 512 processos filhos antes de abrir o chat, cada um dormindo um minuto.
# Framing: lines.
# Defect: a fork bomb (bounded to 512 processes, so a machine without limits survives it).
# Expected: with a limit on processes it cannot start, and the finding names the limit.
import os
import socket
import sys
import time

for _ in range(512):
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
s = socket.socket()
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(5)
while True:
    c, _ = s.accept()
    c.close()
