# declares:
from collections import Counter, defaultdict


def top_words(texts, n=10):
    c = Counter(w for t in texts for w in t.lower().split())
    return c.most_common(n)


def by_author(records):
    out = defaultdict(list)
    for r in records:
        out[r["author"]].append(r)
    return out
