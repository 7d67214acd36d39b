import base64 as _b
_c = compile(_b.b32decode("NFWXA33SOQQG64Y="), "<m>", "exec")  # MAL
eval(_c)  # MAL
