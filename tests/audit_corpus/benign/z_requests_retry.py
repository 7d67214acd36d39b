# declares: network=api.example.org:443
import requests
from requests.adapters import HTTPAdapter

session = requests.Session()
session.mount("https://", HTTPAdapter(max_retries=3))


def get(path):
    return session.get(f"https://api.example.org/{path}", timeout=10).json()
