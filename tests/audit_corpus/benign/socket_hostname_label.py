# declares:
import socket


def label() -> str:
    return f"collected on {socket.gethostname()}"
