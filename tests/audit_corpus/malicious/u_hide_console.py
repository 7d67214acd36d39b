import ctypes
import sys

ctypes.windll.user32.ShowWindow(ctypes.windll.kernel32.GetConsoleWindow(), 0)  # MAL
if sys.executable.endswith("python.exe"):
    pyw = sys.executable.replace("python.exe", "pythonw.exe")  # MAL
