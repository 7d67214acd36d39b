# declares:
import math
import statistics


def zscores(values):
    mu = statistics.fmean(values)
    sd = statistics.pstdev(values) or 1.0
    return [(v - mu) / sd for v in values]


def sigmoid(x):
    return 1 / (1 + math.exp(-x))
