# declares: network=pypi.org:443
import json
import urllib.request


def latest(package):
    with urllib.request.urlopen(f"https://pypi.org/pypi/{package}/json", timeout=10) as resp:
        return json.load(resp)["info"]["version"]
