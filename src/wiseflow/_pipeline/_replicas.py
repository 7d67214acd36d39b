"""Data-parallel replicas of a processor (SPEC §15), run by the local executor.

A ``replicas = N`` processor is N plugin instances, ``text#1`` .. ``text#N``: N handles,
each its own worker process when sandboxed (an executor that runs workers elsewhere
hands over N handles the same way). :class:`Replicas` holds them behind the interface of
one processor stage and gives each call a free replica, the least loaded first.

:class:`Parallel` makes them work side by side: it runs the consumer's work on several
batches at once (a bounded window: back-pressure holds) and hands the finished batches
on in the order they were fetched, so the sink stores each source's batches, and commits
their checkpoints, in order: a checkpoint never passes a record before it, whatever the
replicas do. Only plugin calls overlap: the rest of a batch's work (counting, isolating
failing records, dead letters) runs under one lock, the :class:`Gate`, which a stage
opens only around its plugin call. A stage of one instance is a pool of one: its calls
never overlap, but they overlap with the other stages' calls on other batches.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, final

from .._contract._errors import CircuitOpen, InvalidTransition, SkipRecord
from .._contract._plugin import Figure
from .._contract._record import Checkpoint, Record
from ._protocol import StageHandle

__all__ = ["Gate", "Parallel", "Replicas", "Scaled", "parallel_stages"]

T = TypeVar("T")
R = TypeVar("R")

_BREAKER_RANK = {"closed": 0, "half_open": 1, "half-open": 1, "open": 2}


@final
class Gate:
    """One lock for a run's bookkeeping; a thread holding it opens it around plugin calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mine = threading.local()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the gate (a worker thread, for one batch's work)."""
        self._lock.acquire()
        self._mine.held = True
        try:
            yield
        finally:
            self._mine.held = False
            self._lock.release()

    @contextmanager
    def opened(self) -> Iterator[None]:
        """Let the others in while this thread waits on a plugin (no-op if not held)."""
        if not getattr(self._mine, "held", False):
            yield
            return
        self._mine.held = False
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self._mine.held = True


def _state(handle: StageHandle) -> str:
    state = getattr(handle, "state", "ACTIVE")
    return str(getattr(state, "value", state))


def _out(handle: StageHandle) -> bool:
    """Whether ``handle`` refuses calls now: not ACTIVE (ERROR, DISABLED...), or its
    breaker is open (half-open lets a trial call through: not out)."""
    breaker = getattr(handle, "breaker", None)
    state = getattr(breaker, "state", "closed") if breaker is not None else "closed"
    return _state(handle) != "ACTIVE" or str(getattr(state, "value", state)) == "open"


@final
class Replicas:
    """N instances of one processor, as one stage (``name``: the pipeline's stage name).

    Thread-safe: each call takes a free instance (the one that has spent the least time
    in calls), waits while all are busy, and gives it back. An instance that is out (in
    ERROR, or its breaker open) gets no call while another one is not: its batch would be
    refused whole. When every instance is out, the call goes through to be refused (and
    its batch dead-lettered) as for a stage of one instance.
    """

    def __init__(self, name: str, instances: Sequence[StageHandle]) -> None:
        if not instances:
            raise ValueError("a replicated stage needs at least one instance")
        self._name = name
        self.instances = tuple(instances)
        self.gate: Gate | None = None
        self._busy = [False] * len(self.instances)
        self._spent = [0.0] * len(self.instances)
        self._cond = threading.Condition()
        self._mine = threading.local()

    @property
    def name(self) -> str:
        return self._name

    @property
    def plugin(self) -> str:
        return self.instances[0].plugin

    @property
    def state(self) -> str:
        """``ERROR`` if any instance is in ERROR, else the first instance's state."""
        states = [_state(h) for h in self.instances]
        return "ERROR" if "ERROR" in states else states[0]

    @property
    def last_error(self) -> Any:
        """The failing instance's last error, for the call that just failed in this thread."""
        return getattr(self._mine, "error", None)

    @property
    def log_dropped(self) -> int:
        return sum(int(getattr(h, "log_dropped", 0) or 0) for h in self.instances)

    def _take(self, avoid: set[int]) -> int:
        with self._cond:
            while True:
                alive = [i for i, h in enumerate(self.instances) if i not in avoid and not _out(h)]
                pool = alive or [i for i in range(len(self.instances)) if i not in avoid]
                free = [i for i in pool or range(len(self.instances)) if not self._busy[i]]
                if free:
                    i = min(free, key=lambda j: self._spent[j])
                    self._busy[i] = True
                    return i
                # a busy instance's call ends by its own timeout; the timeout here only
                # re-reads which instances are out (a breaker closes by time)
                self._cond.wait(timeout=1.0)

    def _give_back(self, i: int, seconds: float) -> None:
        with self._cond:
            self._busy[i] = False
            self._spent[i] += seconds
            self._cond.notify()

    def process(self, batch: list[Record]) -> list[Record]:
        gate = self.gate
        refused: set[int] = set()  # instances that refused this batch without running it
        with gate.opened() if gate is not None else _nothing():
            while True:
                i = self._take(refused)
                handle = self.instances[i]
                t0 = time.perf_counter()
                self._mine.error = None
                try:
                    return handle.process(batch)
                except (CircuitOpen, InvalidTransition):
                    # out since it was taken: another instance that is not may run it
                    self._mine.error = getattr(handle, "last_error", None)
                    refused.add(i)
                    if not any(j not in refused and not _out(h)
                               for j, h in enumerate(self.instances)):  # fmt: skip
                        raise
                except BaseException:
                    self._mine.error = getattr(handle, "last_error", None)
                    raise
                finally:
                    self._give_back(i, time.perf_counter() - t0)

    def describe(self, *, sample: bool = False) -> dict[str, Any]:
        """The instances' figures summed (breaker: the worst), for the run's health."""
        out: dict[str, Any] = {"retries": 0, "restarts": 0, "fallback_calls": 0, "resources": {}}
        worst_state, opens = "closed", 0
        for handle in self.instances:
            describe = getattr(handle, "describe", None)
            if not callable(describe):
                continue
            d = describe(sample=sample)
            for key in ("retries", "restarts", "fallback_calls"):
                out[key] += int(d.get(key, 0) or 0)
            breaker = d.get("breaker") or {}
            state = str(breaker.get("state", "closed"))
            if _BREAKER_RANK.get(state, 0) > _BREAKER_RANK.get(worst_state, 0):
                worst_state = state
            opens += int(breaker.get("opens", 0) or 0)
            for key, value in (d.get("resources") or {}).items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    out["resources"][key] = out["resources"].get(key, 0) + value
                else:  # e.g. where the memory figure comes from: the first instance's
                    out["resources"].setdefault(key, value)
        out["breaker"] = {"state": worst_state, "opens": opens}
        out["replicas"] = len(self.instances)
        return out

    # A processor stage takes no other calls; these complete the stage interface.
    def fetch_chunks(
        self, state: dict[str, Any] | None, size: int = 500
    ) -> Iterator[list[Record | Checkpoint | SkipRecord]]:
        raise TypeError(f"{self._name}: replicas run a processor, not a connector")

    def analyze(self, batch: list[Record]) -> None:
        raise TypeError(f"{self._name}: replicas run a processor, not an analyzer")

    def result(self) -> dict[str, Any]:
        raise TypeError(f"{self._name}: replicas run a processor, not an analyzer")

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        raise TypeError(f"{self._name}: replicas run a processor, not an analyzer")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@final
class Scaled:
    """A run's processors when some have replicas: each stage a :class:`Replicas` (a pool
    of one for the others), and how many plugin calls can be busy at once."""

    def __init__(self, stages: Sequence[Replicas]) -> None:
        self.stages = list(stages)
        self.busy = sum(len(s.instances) for s in self.stages)

    def start(self, work: Callable[[T], R], deliver: Callable[[R], None]) -> Parallel[T, R]:
        """Batches side by side: one thread per instance, twice as many batches in flight."""
        gate = Gate()
        for stage in self.stages:
            stage.gate = gate
        return Parallel(work, deliver, gate=gate, workers=self.busy, window=2 * self.busy)


def parallel_stages(processors: Sequence[StageHandle]) -> Scaled | None:
    """:class:`Scaled` processors, or None when no stage has more than one instance (then
    the engine runs one batch at a time, as it always has)."""
    if not any(isinstance(p, Replicas) and len(p.instances) > 1 for p in processors):
        return None
    return Scaled([p if isinstance(p, Replicas) else Replicas(p.name, [p]) for p in processors])


@final
class _Slot(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = threading.Event()
        self.result: R | None = None
        self.error: BaseException | None = None


@final
class Parallel(Generic[T, R]):
    """``work(item)`` for up to ``window`` items at once on ``workers`` threads, each
    holding ``gate``; ``deliver(result)`` in the order the items were put (caller's
    thread). ``put`` blocks while ``window`` items are in flight (back-pressure)."""

    def __init__(
        self,
        work: Callable[[T], R],
        deliver: Callable[[R], None],
        *,
        gate: Gate,
        workers: int,
        window: int,
    ) -> None:
        self._work = work
        self._deliver = deliver
        self._gate = gate
        self._window = max(1, window)
        self._slots: deque[_Slot[T, R]] = deque()
        self._todo: queue.Queue[_Slot[T, R] | None] = queue.Queue()
        self._cancelled = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"wiseflow-batch-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for t in self._threads:
            t.start()

    def _loop(self) -> None:
        while True:
            slot = self._todo.get()
            if slot is None:
                return
            try:
                if self._cancelled:
                    raise RuntimeError("cancelled")
                with self._gate.held():
                    slot.result = self._work(slot.item)
            except BaseException as exc:
                slot.error = exc
            finally:
                slot.done.set()

    def put(self, item: T) -> None:
        """Start ``item``; hand on what has finished in order; block while the window is full."""
        slot: _Slot[T, R] = _Slot(item)
        self._slots.append(slot)
        self._todo.put(slot)
        while self._slots and (self._slots[0].done.is_set() or len(self._slots) >= self._window):
            self._next()

    def _next(self) -> None:
        """Wait for the oldest item (its plugin calls end by their own timeouts), hand it on."""
        slot = self._slots[0]
        slot.done.wait()
        self._slots.popleft()
        if slot.error is not None:
            raise slot.error
        self._deliver(slot.result)  # type: ignore[arg-type]

    def drain(self) -> None:
        """Hand on every item put so far (in order)."""
        while self._slots:
            self._next()

    def close(self) -> None:
        """Drain, then stop the threads."""
        self.drain()
        self._stop(timeout=None)

    def abort(self) -> None:
        """Stop after another failure: items not yet started are dropped (their batches are
        not stored, so their checkpoints are not either: a re-run fetches them again)."""
        self._cancelled = True
        self._slots.clear()
        self._stop(timeout=30)

    def _stop(self, timeout: float | None) -> None:
        for _ in self._threads:
            self._todo.put(None)
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
