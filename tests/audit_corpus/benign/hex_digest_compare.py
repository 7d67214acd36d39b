# declares:
import binascii
import hashlib


def checksum_ok(data: bytes, expected_hex: str) -> bool:
    return hashlib.sha1(data).digest() == binascii.unhexlify(expected_hex)
