# declares:
import uuid
import hashlib


def stable_id(*parts: str) -> str:
    return str(uuid.UUID(hashlib.md5("|".join(parts).encode()).hexdigest()))


def new_id() -> str:
    return uuid.uuid4().hex
