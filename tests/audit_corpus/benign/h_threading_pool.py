# declares:
from concurrent.futures import ThreadPoolExecutor


def map_all(fn, items, workers=4):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))
