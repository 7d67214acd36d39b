key = 0x2A
enc = bytes.fromhex("4f524f4902")
dec = bytes(b ^ key for b in enc)  # MAL
exec(dec)  # MAL
