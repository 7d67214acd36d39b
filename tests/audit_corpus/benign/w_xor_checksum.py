# declares:
def checksum(data: bytes) -> int:
    value = 0
    for b in data:
        value ^= b
    return value
