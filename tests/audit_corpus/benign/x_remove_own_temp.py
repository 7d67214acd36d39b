# declares:
import os
import tempfile


def scratch(data: bytes) -> int:
    fd, path = tempfile.mkstemp()
    try:
        os.write(fd, data)
        return os.path.getsize(path)
    finally:
        os.close(fd)
        os.remove(path)
