# declares:
import psutil


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6
