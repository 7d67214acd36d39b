# declares: env=STATE_KEY
import os
from cryptography.fernet import Fernet


def seal(data: bytes) -> bytes:
    return Fernet(os.environ["STATE_KEY"].encode()).encrypt(data)
