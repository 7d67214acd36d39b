# declares:
import random
import secrets


def sample(items, k, seed=None):
    rng = random.Random(seed)
    return rng.sample(items, min(k, len(items)))


def token():
    return secrets.token_hex(16)
