"""Statistics for count series, in plain ``math`` (no SciPy needed).

- :func:`mann_kendall`: Mann-Kendall trend test, normal approximation with tie
  correction and continuity correction; two-sided p-value; Sen's slope.
- :func:`bursts`: periods whose count stands out from a trailing baseline (z-score).
- :func:`forecast`: ordinary least squares over the recent window with a prediction
  interval from the residuals (t quantile approximated by the normal one for n > 30,
  a small table below).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

__all__ = ["bursts", "forecast", "mann_kendall"]

# two-sided 95% t quantiles by degrees of freedom (1..30); normal beyond
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]  # fmt: skip


def _t95(df: int) -> float:
    return _T95[df - 1] if 1 <= df <= 30 else 1.96


def mann_kendall(values: list[float], alpha: float = 0.05) -> dict[str, Any]:
    """Mann-Kendall test for a monotonic trend in ``values`` (in time order).

    Returns:
        ``{"n", "s", "z", "p", "trend", "sen_slope"}``; ``trend`` is ``"increasing"``,
        ``"decreasing"`` or ``"no trend"`` at level ``alpha``; ``"too short"`` for n < 4.
    """
    n = len(values)
    if n < 4:
        return {"n": n, "s": 0, "z": 0.0, "p": 1.0, "trend": "too short", "sen_slope": 0.0}
    s = 0
    for i in range(n - 1):
        vi = values[i]
        for j in range(i + 1, n):
            d = values[j] - vi
            s += (d > 0) - (d < 0)
    ties = Counter(values).values()
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties)) / 18
    if var <= 0:
        z = 0.0
    elif s > 0:
        z = (s - 1) / math.sqrt(var)
    elif s < 0:
        z = (s + 1) / math.sqrt(var)
    else:
        z = 0.0
    p = math.erfc(abs(z) / math.sqrt(2))
    trend = "no trend"
    if p < alpha:
        trend = "increasing" if z > 0 else "decreasing"
    return {
        "n": n,
        "s": s,
        "z": round(z, 3),
        "p": round(p, 5),
        "trend": trend,
        "sen_slope": round(_sen_slope(values), 4),
    }


def _sen_slope(values: list[float]) -> float:
    n = len(values)
    if n > 400:  # O(n²) pairs: thin the series evenly first
        step = n / 400
        idx = [int(i * step) for i in range(400)]
        pts = [(i, values[i]) for i in idx]
    else:
        pts = list(enumerate(values))
    slopes = sorted(
        (pts[j][1] - pts[i][1]) / (pts[j][0] - pts[i][0])
        for i in range(len(pts) - 1)
        for j in range(i + 1, len(pts))
    )
    if not slopes:
        return 0.0
    mid = len(slopes) // 2
    return slopes[mid] if len(slopes) % 2 else (slopes[mid - 1] + slopes[mid]) / 2


def bursts(
    labels: list[str], values: list[float], *, window: int = 12, z: float = 3.0, min_count: int = 5
) -> list[dict[str, Any]]:
    """Periods whose count is ``z`` standard deviations above the mean of the ``window``
    periods before it (and at least ``min_count``)."""
    out = []
    for i in range(window, len(values)):
        base = values[i - window : i]
        mean = sum(base) / window
        sd = math.sqrt(sum((x - mean) ** 2 for x in base) / (window - 1))
        sd = max(sd, 1.0)  # a flat baseline would make any blip a "burst"
        score = (values[i] - mean) / sd
        if score >= z and values[i] >= min_count:
            out.append(
                {
                    "period": labels[i],
                    "count": values[i],
                    "baseline": round(mean, 2),
                    "z": round(score, 2),
                }
            )
    return out


def forecast(values: list[float], *, horizon: int = 3, window: int = 24) -> dict[str, Any]:
    """Linear forecast of the next ``horizon`` periods from the last ``window`` ones.

    The 95% prediction interval uses the residual standard error of the fit:
    ``ŷ ± t·s·sqrt(1 + 1/n + (x - x̄)² / Sxx)``; lower bounds are clipped at 0.
    """
    ys = values[-window:]
    n = len(ys)
    if n < 3:
        return {"method": "too short", "points": []}
    xs = list(range(n))
    xbar = sum(xs) / n
    ybar = sum(ys) / n
    sxx = sum((x - xbar) ** 2 for x in xs)
    slope = sum((x - xbar) * (y - ybar) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = ybar - slope * xbar
    resid = [y - (intercept + slope * x) for x, y in zip(xs, ys, strict=True)]
    s = math.sqrt(sum(r * r for r in resid) / (n - 2)) if n > 2 else 0.0
    t = _t95(n - 2)
    points = []
    for h in range(1, horizon + 1):
        x = n - 1 + h
        yhat = intercept + slope * x
        half = t * s * math.sqrt(1 + 1 / n + (x - xbar) ** 2 / sxx)
        points.append(
            {
                "step": h,
                "value": round(max(yhat, 0.0), 2),
                "low": round(max(yhat - half, 0.0), 2),
                "high": round(yhat + half, 2),
            }
        )
    return {
        "method": f"OLS over last {n} periods, 95% prediction interval from residuals",
        "slope": round(slope, 4),
        "residual_sd": round(s, 3),
        "points": points,
    }
