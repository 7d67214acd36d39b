from pytransform import pyarmor_runtime  # MAL

pyarmor_runtime()  # MAL
__pyarmor__(__name__, __file__, b"\x50\x59\x41\x52\x4d\x4f\x52\x00\x00\x03\x08\x00")  # MAL
