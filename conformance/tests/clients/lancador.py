# O aluno entregou o cliente em Java com um lançador em Python: "python3 lancador.py".
import os

os.execvp("java", ["java", "ClienteSwing.java"])
