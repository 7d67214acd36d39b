"""Soft limits: a warning when a plugin's figure nears its hard limit, once per crossing.

Crossing one calls ``on_soft`` once; it is re-armed when the figure drops below again
(with some hysteresis). The meter (``_meter``) checks them after each sample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import final

__all__ = ["SOFT_FRACTION", "OnSoft", "SoftLimits", "soft_limit_reason"]

#: Soft limits default to this fraction of the hard ones.
SOFT_FRACTION = 0.8

#: Told of a crossing: (resource, figure, soft limit, hard limit or None).
OnSoft = Callable[[str, float, float, float | None], None]


@final
class SoftLimits:
    """Soft limits (memory MB, CPU s, open fds); None switches one off.

    Operators set them as ``[plugins.NAME] resources.soft_memory_mb`` (``soft_cpu_seconds``,
    ``soft_open_files``); by default they are :data:`SOFT_FRACTION` of the hard limits.
    """

    __slots__ = ("armed", "hard", "soft")

    def __init__(
        self, soft: dict[str, float | None], hard: dict[str, float | None] | None = None
    ) -> None:
        self.soft = {k: v for k, v in soft.items() if v is not None}
        self.hard = hard or {}
        self.armed = dict.fromkeys(self.soft, True)

    @classmethod
    def derive(cls, hard: dict[str, float | None], operator: dict[str, float]) -> SoftLimits:
        """Soft limits from hard ones and the operator's ``soft_*`` resource keys."""
        keys = {
            "memory_mb": "soft_memory_mb",
            "cpu_s": "soft_cpu_seconds",
            "fds": "soft_open_files",
        }
        soft: dict[str, float | None] = {}
        for res, key in keys.items():
            h = hard.get(res)
            if key in operator:
                value: float | None = float(operator[key])
                if h is not None and value is not None:
                    value = min(value, h)
                soft[res] = value
            else:
                soft[res] = None if h is None else h * SOFT_FRACTION
        return cls(soft, hard)

    def check(self, figures: dict[str, float | None], on_soft: OnSoft | None) -> list[str]:
        """Report each soft limit newly crossed by ``figures``; returns their names."""
        crossed = []
        for res, limit in self.soft.items():
            value = figures.get(res)
            if value is None:
                continue
            if value >= limit and self.armed[res]:
                self.armed[res] = False
                crossed.append(res)
                if on_soft is not None:
                    on_soft(res, value, limit, self.hard.get(res))
            elif value < limit * 0.95:
                self.armed[res] = True  # hysteresis: a figure hovering at the line warns once
        return crossed


def soft_limit_reason(resource: str, value: float, soft: float, hard: float | None) -> str:
    """``memory_mb at 130.2 MB, over its soft limit 128 MB; hard limit 160 MB``."""
    unit = {"memory_mb": "MB", "cpu_s": "s CPU", "fds": "open fds"}.get(resource, "")
    hard_txt = f"; hard limit {hard:g} {unit}" if hard is not None else ""
    return f"{resource} at {value:.1f} {unit}, over its soft limit {soft:g} {unit}{hard_txt}"
