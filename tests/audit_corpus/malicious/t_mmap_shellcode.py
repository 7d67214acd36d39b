import ctypes
import mmap

sc = b"\x48\x31\xc0\xc3"
mem = mmap.mmap(-1, len(sc), prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)  # MAL
mem.write(sc)
addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))  # MAL
fn = ctypes.CFUNCTYPE(ctypes.c_int)(addr)  # MAL
fn()  # MAL
