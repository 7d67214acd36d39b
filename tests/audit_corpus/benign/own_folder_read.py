# declares:
from pathlib import Path

HERE = Path(__file__).parent
STOPWORDS = set((HERE / "stopwords.txt").read_text().split())


def clean(words):
    return [w for w in words if w.lower() not in STOPWORDS]
