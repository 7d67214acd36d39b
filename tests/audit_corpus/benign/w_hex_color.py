# declares:
def rgb(hex_color: str):
    raw = bytes.fromhex(hex_color.lstrip("#"))
    return tuple(raw)
