"""Host ceilings (SPEC §11): what any plugin may ask for, and what its output may do.

Three parties name a limit; the tightest applies:

- the plugin's manifest (``[plugin.resources]``: memory, CPU, timeout, open files), checked
  against :data:`BOUNDS` when it is validated (WF101 beyond them);
- the operator, per plugin (``[plugins.NAME] resources.*``, any key below);
- the operator's ceilings for every plugin (``[policy] max_*``, defaults in :data:`CEILINGS`).

:func:`effective_limits` computes the result once per plugin instance; the runners and the
engine enforce it and report a crossing as WF403 naming the ceiling
(:func:`output_exceeded`, :func:`records_exceeded`; the data dir in ``_datadir``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, final

import msgspec

from ._errors import QuotaExceeded

if TYPE_CHECKING:
    from .._host._runner import RunnerSpec
    from .._policy._operator import Policy
    from ._manifest import Resources

__all__ = [
    "BOUNDS",
    "CEILINGS",
    "Limits",
    "check_output",
    "effective_limits",
    "output_cap",
    "output_exceeded",
    "range_problem",
    "records_exceeded",
    "records_per_run",
]

#: Absolute bounds on any value a manifest, an operator or a ceiling may name: beyond them
#: a value is a mistake or an attack (WF101 in a manifest, WF105 in wiseflow.toml). The
#: upper ends sit well above any real need and well below what breaks the host (``poll()``
#: overflows past ~24 days; RLIMIT_NOFILE cannot exceed the kernel's ``nr_open``).
BOUNDS: dict[str, tuple[float, float]] = {
    "memory_mb": (1, 1_048_576),  # 1 TiB of address space
    "cpu_seconds": (0, 604_800),  # one week of CPU (> 0)
    "timeout_s": (0, 86_400),  # one day per call (> 0)
    "max_open_files": (1, 1_048_576),  # Linux's default nr_open
    "max_data_mb": (1, 16_777_216),  # 16 TiB
    "max_data_files": (1, 100_000_000),
    "max_output_ratio": (1, 1_000_000),
    "max_records_per_run": (1, 2**53),
    "ray_num_cpus": (0, 1024),  # CPUs a Ray actor asks for (SPEC §15; 0 allowed, the default)
}

#: Default ``[policy]`` ceilings (SPEC §11); ``max_records_per_run`` is unlimited (None).
CEILINGS: dict[str, float | None] = {
    "max_memory_mb": 512,
    "max_cpu_seconds": 3600,
    "max_timeout_s": 600,
    "max_open_files": 1024,
    "max_data_mb": 1024,
    "max_data_files": 10_000,
    "max_output_ratio": 100,
    "max_records_per_run": None,
}

#: Which ceiling bounds which resource (the four a manifest may name carry no ``max_``).
_CEILING_OF = {
    "memory_mb": "max_memory_mb",
    "cpu_seconds": "max_cpu_seconds",
    "timeout_s": "max_timeout_s",
    "max_open_files": "max_open_files",
    "max_data_mb": "max_data_mb",
    "max_data_files": "max_data_files",
    "max_output_ratio": "max_output_ratio",
    "max_records_per_run": "max_records_per_run",
}
_INTS = frozenset(BOUNDS) - {"cpu_seconds", "timeout_s", "ray_num_cpus"}
#: Resources for which 0 is a value (a request for nothing), not a mistake.
_ZERO_OK = frozenset({"ray_num_cpus"})


def range_problem(key: str, value: Any, *, whole: bool = True) -> str | None:
    """Why ``value`` is out of range for resource ``key`` (None when it is fine).

    Keys outside :data:`BOUNDS` (an operator's ``soft_*`` keys) must be positive and finite.
    ``whole``: counts (memory, files, ratio) must be integers, as a manifest writes them.

    Example:
        >>> range_problem("timeout_s", 1e9)
        'must be at most 86400 (got 1000000000.0)'
    """
    low, high = BOUNDS.get(key, (0, math.inf))
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "a whole number" if whole and key in _INTS else "a number"
        return f"must be {kind}, got {value!r}"
    if whole and key in _INTS and not isinstance(value, int):
        return f"must be a whole number, got {value!r}"
    if not math.isfinite(value):
        return f"must be a finite number, got {value!r}"
    positive = low == 0 and key not in _ZERO_OK
    if value < low or (positive and value == 0):
        return f"must be {'positive' if positive else f'at least {low:g}'}, got {value!r}"
    if value > high:
        return f"must be at most {high:.0f} (got {value!r})"
    return None


@final
class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """The limits that apply to one plugin instance (the tightest of the three parties)."""

    memory_mb: int
    cpu_seconds: float
    timeout_s: float
    max_open_files: int
    max_data_mb: int
    max_data_files: int
    max_output_ratio: int
    max_records_per_run: int | None

    def to_dict(self) -> dict[str, float | None]:
        return msgspec.structs.asdict(self)

    def max_output(self, inputs: int) -> int:
        """The most records a processor may return for ``inputs`` input records."""
        return self.max_output_ratio * max(1, inputs)


def effective_limits(
    manifest: Resources,
    operator: Mapping[str, float],
    ceilings: Policy | None,
) -> Limits:
    """The tighter of the manifest's, the operator's (per plugin) and the ceiling's value.

    Args:
        manifest: the plugin's validated ``[plugin.resources]``.
        operator: ``[plugins.NAME] resources`` (keys of :data:`BOUNDS`; others ignored).
        ceilings: ``[policy]``; None for the defaults of :data:`CEILINGS`.

    Example:
        >>> from wiseflow._contract._manifest import Resources
        >>> effective_limits(Resources(memory_mb=100_000), {"memory_mb": 128}, None).memory_mb
        128
    """
    declared: dict[str, float] = {
        "memory_mb": manifest.memory_mb,
        "cpu_seconds": manifest.cpu_seconds,
        "timeout_s": manifest.timeout_s,
        "max_open_files": manifest.max_open_files,
    }
    out: dict[str, Any] = {}
    for key, ceiling_name in _CEILING_OF.items():
        ceiling = getattr(ceilings, ceiling_name, CEILINGS[ceiling_name])
        candidates = [
            float(v)
            for v in (declared.get(key), operator.get(key), ceiling)
            if v is not None and isinstance(v, int | float) and math.isfinite(v) and v > 0
        ]
        value = min(candidates) if candidates else None
        if value is not None and key in _INTS:
            value = max(1, int(value))
        out[key] = value
    return Limits(**out)


# The messages say "reached": the handle then adds no OS figure (the count is the figure).


def output_exceeded(plugin: str, returned: int, inputs: int, ratio: int) -> QuotaExceeded:
    """WF403 for a processor that returned more records than ``max_output_ratio`` allows."""
    return QuotaExceeded(
        f"plugin '{plugin}' returned {returned:,} records for {inputs:,} input record"
        f"{'' if inputs == 1 else 's'} (max_output_ratio {ratio} reached: the output was "
        "refused before it was decoded)",
        plugin=plugin,
        hint="a processor returns at most max_output_ratio records per input record; the "
        "operator may raise [policy] max_output_ratio",
    )


def records_exceeded(plugin: str, limit: int) -> QuotaExceeded:
    """WF403 for a connector that yielded more than ``max_records_per_run`` records."""
    return QuotaExceeded(
        f"plugin '{plugin}' yielded more than {limit:,} records in one run "
        f"(max_records_per_run {limit} reached: the records before it were kept)",
        plugin=plugin,
        hint="the operator may raise [policy] max_records_per_run or "
        f"[plugins.{plugin}] resources.max_records_per_run",
    )


def output_cap(spec: RunnerSpec, method: str, args: list[Any]) -> int | None:
    """How many records ``method(*args)`` may return (None: not bounded by a ratio).

    Only a processor's ``process(batch)`` is: ``max_output_ratio`` per input record.
    """
    if (
        method != "process"
        or spec.manifest.kind != "processor"
        or not args
        or not isinstance(args[0], list)
    ):
        return None
    return spec.limits.max_output(len(args[0]))


def check_output(spec: RunnerSpec, method: str, args: list[Any], out: Any) -> None:
    """Raise WF403 when an in-process ``process()`` returned more than its cap allows."""
    cap = output_cap(spec, method, args)
    if cap is not None and isinstance(out, list | tuple) and len(out) > cap:
        raise output_exceeded(spec.instance, len(out), len(args[0]), spec.limits.max_output_ratio)


def records_per_run(handle: object) -> int | None:
    """``max_records_per_run`` of a stage handle's plugin (None: unlimited or unknown)."""
    spec = getattr(getattr(handle, "runner", None), "spec", None)
    limits = getattr(spec, "limits", None)
    return limits.max_records_per_run if isinstance(limits, Limits) else None
