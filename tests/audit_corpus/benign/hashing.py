# declares:
import hashlib
import hmac


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sign(key: bytes, msg: bytes) -> str:
    return hmac.new(key, msg, hashlib.sha256).hexdigest()
