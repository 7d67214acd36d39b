import tkinter

root = tkinter.Tk()
root.withdraw()
content = root.clipboard_get()  # MAL
