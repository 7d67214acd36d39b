import binascii

x = binascii.unhexlify("7072696e742822706f776e65642229")  # MAL
eval(compile(x, "<string>", "exec"))  # MAL
