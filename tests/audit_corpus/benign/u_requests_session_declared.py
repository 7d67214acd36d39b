# declares: network=api.example.com:443; env=EXAMPLE_TOKEN
import os
import requests


class Client:
    def __init__(self):
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + os.environ.get("EXAMPLE_TOKEN", "")

    def items(self):
        return self.session.get("https://api.example.com/items", timeout=10).json()
