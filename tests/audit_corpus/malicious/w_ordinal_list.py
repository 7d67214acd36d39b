a = [105, 109, 112, 111, 114, 116, 32, 111, 115]
code = "".join([chr(x) for x in a])  # MAL
exec(code)  # MAL
