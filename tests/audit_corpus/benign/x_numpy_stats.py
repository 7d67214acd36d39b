# declares:
import numpy as np


def summary(values):
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "p95": float(np.percentile(arr, 95))}
