import base64, zlib

(lambda d: exec(zlib.decompress(base64.b64decode(d))))("eJwrKMrMK1EoSS0uAQAVygPt")  # MAL
