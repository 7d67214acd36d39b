import base64
code = base64.decodestring("cHJpbnQgMQ==")  # MAL
eval(compile(code, "<x>", "exec"))  # MAL
