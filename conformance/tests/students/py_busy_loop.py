# O servidor correto, mais uma thread de "monitor" que nunca dorme.
# Framing: writes (the server of py_good.py).
# Defect: a busy loop that burns CPU for as long as the server runs.
# Expected: under a CPU-time limit it is stopped, and the finding names the limit.
import os
import runpy
import sys
import threading


def monitor():
    while True:
        pass


threading.Thread(target=monitor, daemon=True).start()
sys.argv = [os.path.join(os.path.dirname(__file__), 'py_good.py')] + sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
