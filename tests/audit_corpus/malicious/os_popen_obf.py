import os

c = "".join(["w", "h", "o", "a", "m", "i"])  # MAL
out = os.popen(c).read()  # MAL
