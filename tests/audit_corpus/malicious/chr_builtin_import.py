name = "".join(chr(c) for c in [111, 115])  # MAL
fn = "".join(map(chr, [115, 121, 115, 116, 101, 109]))  # MAL
mod = __import__(name)  # MAL
getattr(mod, fn)("uname -a")  # MAL
