# declares: env=LANG
import os


def locale() -> str:
    return os.environ.get("LANG", "C.UTF-8").split(".")[0]
