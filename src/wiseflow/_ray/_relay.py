"""What the node tells the host about its worker besides the operations: figures and telemetry.

A worker on a Ray node has a pid only there, so the host cannot read it from the OS. The
actor beside it does: :class:`NodeMeter` samples the worker with the host's own sampler
(:class:`~wiseflow._host._metering.ProcessSampler`: RSS, CPU time, open fds, threads, USS,
children; and the peaks a memory quota is reached against), and keeps the worker's
behaviour telemetry frames (its audit hook, ``_sandbox/_monitor``) for the host, bounded.
Both ride on every event the actor returns (see ``_actor``), and the host asks for a fresh
sample itself when its last one is old (a long batch: ``top`` and the dashboard stay live).

Numbers from a node are treated as hostile data, like a plugin's: :func:`read_sample`
accepts only exact types and finite numbers within physical ranges (anything else drops the
whole sample, the host keeps its previous one), and telemetry is decoded again on the host
against the wire protocol's bounded ``Telemetry`` type.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, final

import msgspec

from .._host._metering import ProcessSample, ProcessSampler, proc_peaks
from .._sandbox._messages import Telemetry

__all__ = ["FRAMES", "NodeMeter", "read_peaks", "read_sample", "read_telemetry"]

#: Telemetry frames kept on the node between two events (the oldest are dropped past it).
FRAMES = 64
#: Bytes of one encoded telemetry frame the host decodes at most.
FRAME_BYTES = 64 * 1024
_PID_MAX = 1 << 22  # the kernel's highest pid_max
_BYTES_MAX = 1 << 50  # 1 PiB of memory: no node has it
_CPU_MAX = 1e9  # seconds (31 years of CPU time)
_COUNT_MAX = 1 << 24  # fds, threads, child processes
_PEAK_MB_MAX = float(1 << 30)  # MB (1 PiB)
_PEAK_KEYS = ("VmPeak", "VmHWM", "VmRSS", "VmSize")


@final
class NodeMeter:
    """On the node: samples of the worker and its telemetry frames, for the next event."""

    def __init__(self) -> None:
        self._sampler = ProcessSampler()
        self._lock = threading.Lock()
        self._frames: deque[bytes] = deque(maxlen=FRAMES)
        self.dropped = 0

    def add(self, msg: Telemetry) -> None:
        """The worker runner's ``behaviour.add``: keep the frame for the host (bounded)."""
        data = msgspec.msgpack.encode(msg)
        with self._lock:
            if len(self._frames) == FRAMES:
                self.dropped += 1
            self._frames.append(data)

    def side(self, pid: int | None, *, peaks: bool = False) -> dict[str, Any]:
        """What goes with an event: a sample of ``pid`` (None: not running), the frames
        since the last event, and with ``peaks`` the worker's memory peaks."""
        with self._lock:
            frames, self._frames = list(self._frames), deque(maxlen=FRAMES)
        out: dict[str, Any] = {"sample": self.sample(pid), "telemetry": frames}
        if peaks and pid is not None:
            out["peaks"] = proc_peaks(pid)
        return out

    def sample(self, pid: int | None) -> dict[str, Any] | None:
        """A full sample of ``pid`` as plain numbers (None when it is not running)."""
        if pid is None:
            return None
        with self._lock:  # the sampler keeps state (its process, USS throttling)
            got = self._sampler.sample(pid, full=True)
        if got is None:
            return None
        return {
            "pid": got.pid, "rss": got.rss, "cpu_s": got.cpu_s, "fds": got.fds,
            "threads": got.threads, "uss": got.uss, "children": got.children,
        }  # fmt: skip


def _number(value: Any, high: float) -> float | None:
    """``value`` as a float when it is an int or float in 0..high (NaN is not), else None."""
    if type(value) is int and 0 <= value <= high:
        return float(value)
    if type(value) is float and 0 <= value <= high:  # NaN compares False
        return value
    return None


def _int(value: Any, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{str(value)[:40]!r} is not an integer in {low}..{high}")
    return value


def _opt_int(value: Any, high: int) -> int | None:
    return None if value is None else _int(value, 0, high)


def read_sample(raw: Any) -> ProcessSample | None:
    """A node's sample as a :class:`ProcessSample`, or None when it is absent or not
    plausible (wrong types, NaN, negative or beyond physical ranges): never a bad figure."""
    if not isinstance(raw, dict):
        return None
    try:
        cpu = _number(raw["cpu_s"], _CPU_MAX)
        if cpu is None:
            raise ValueError(f"cpu_s {str(raw['cpu_s'])[:40]!r}")
        return ProcessSample(
            _int(raw["pid"], 1, _PID_MAX),
            _int(raw["rss"], 0, _BYTES_MAX),
            cpu,
            _int(raw["fds"], 0, _COUNT_MAX),
            _int(raw["threads"], 0, _COUNT_MAX),
            _opt_int(raw.get("uss"), _BYTES_MAX),
            _opt_int(raw.get("children"), _COUNT_MAX),
        )
    except (KeyError, ValueError):
        return None


def read_peaks(raw: Any) -> dict[str, float]:
    """A node's memory peaks (MB), keeping only known keys with plausible values."""
    if not isinstance(raw, dict):
        return {}
    out = {}
    for key in _PEAK_KEYS:
        value = _number(raw.get(key), _PEAK_MB_MAX)
        if value is not None:
            out[key] = value
    return out


def read_telemetry(raw: Any) -> tuple[list[Telemetry], int]:
    """The node's telemetry frames decoded against the bounded wire type (at most
    :data:`FRAMES`); and how many were refused (not bytes, too big, malformed)."""
    if not isinstance(raw, list):
        return [], 0 if raw is None else 1
    frames, refused = [], max(0, len(raw) - FRAMES)
    for data in raw[:FRAMES]:
        if not isinstance(data, bytes) or len(data) > FRAME_BYTES:
            refused += 1
            continue
        try:
            frames.append(msgspec.msgpack.decode(data, type=Telemetry))
        except (msgspec.DecodeError, msgspec.ValidationError):
            refused += 1
    return frames, refused
