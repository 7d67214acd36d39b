# declares:
import base64
import json
import zlib


def decode_state(blob: str) -> dict:
    return json.loads(zlib.decompress(base64.urlsafe_b64decode(blob)))
