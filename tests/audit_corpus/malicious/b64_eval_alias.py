from base64 import b64decode as _d
import builtins

payload = _d("cHJpbnQoJ2hlbGxvJyk=")
getattr(builtins, "ex" + "ec")(payload)  # MAL
