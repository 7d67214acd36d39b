import ctypes

buf = bytearray(b"\x90\x90\xcc")
ptr = ctypes.windll.kernel32.VirtualAlloc(0, len(buf), 0x3000, 0x40)  # MAL
ctypes.windll.kernel32.RtlMoveMemory(ptr, (ctypes.c_char * len(buf)).from_buffer(buf), len(buf))  # MAL
