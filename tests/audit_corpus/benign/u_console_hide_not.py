# declares:
import sys


def is_tty() -> bool:
    return sys.stdout.isatty()
