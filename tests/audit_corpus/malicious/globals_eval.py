import base64

g = globals()
g["__builtins__"]["ev" + "al"](base64.b64decode("MSsx"))  # MAL
