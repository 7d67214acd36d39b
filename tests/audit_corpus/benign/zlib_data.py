# declares:
import zlib


def pack(data: bytes) -> bytes:
    return zlib.compress(data, 6)


def unpack(blob: bytes) -> bytes:
    return zlib.decompress(blob)
