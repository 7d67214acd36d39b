# declares:
import html
import re

TAG = re.compile(r"<[^>]+>")


def strip(text: str) -> str:
    return html.unescape(TAG.sub(" ", text)).strip()
