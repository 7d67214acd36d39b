# declares:
import os


def open_fds() -> int:
    return len(os.listdir(f"/proc/{os.getpid()}/fd"))
