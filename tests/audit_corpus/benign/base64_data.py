# declares:
import base64


def decode_attachment(payload: dict) -> bytes:
    return base64.b64decode(payload["content"])


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
