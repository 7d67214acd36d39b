import marshal, zlib, base64 as b

blob = b"eJxLzs8rSc0rUShJLS4BAClDBnM="
code = marshal.loads(zlib.decompress(b.b64decode(blob)))  # MAL
exec(code)  # MAL
