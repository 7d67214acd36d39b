# declares:
WORDS = ["alpha", "beta", "gamma"]
LINE = ", ".join(["a", "b", "c"])
PATH = "/".join(["data", "raw", "2024"])


def title(words):
    return " ".join(w.capitalize() for w in words)
