code = bytes([112, 114, 105, 110, 116, 40, 49, 41])  # MAL
exec(code)  # MAL
