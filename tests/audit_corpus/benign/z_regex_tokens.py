# declares:
import re

HEX40 = re.compile(r"\b[0-9a-f]{40}\b")  # git commit ids


def commits(text):
    return HEX40.findall(text)
