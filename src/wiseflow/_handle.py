"""One handle per plugin instance: the single dispatch point for every call into it.

Callers (the pipeline, the CLI, other plugins through ``ctx.plugin``) only ever call
:meth:`PluginHandle.invoke` or :meth:`PluginHandle.stream`. State checks, timing and
error normalisation happen here; the :class:`~wiseflow._runner.Runner` behind it decides
where the code runs (in-process or a sandboxed worker), so policy can grow here without
touching callers.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from typing import Any, final

from ._errors import PluginError, RuntimeFailure, WiseflowError
from ._lifecycle import Lifecycle, PluginState
from ._manifest import Manifest
from ._plugin import Figure
from ._record import Checkpoint, Record
from ._runner import Runner

__all__ = ["CallStats", "PluginHandle"]

#: Methods callable per state (anything else is refused with WF405).
_CALLABLE_WHEN: dict[str, frozenset[PluginState]] = {
    "health": frozenset({PluginState.INITIALIZED, PluginState.ACTIVE, PluginState.DISABLED}),
}
_ACTIVE_ONLY = frozenset({PluginState.ACTIVE})
#: Failures after which the instance cannot be trusted to continue (worker gone or stopped).
_FATAL_CODES = frozenset({"WF401", "WF402", "WF403", "WF406"})


@final
class CallStats:
    """Counts and latencies of the calls made through one handle."""

    __slots__ = ("calls", "cpu_s", "error_codes", "errors", "latencies", "records_in", "records_out")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.error_codes: dict[str, int] = {}
        self.latencies: deque[float] = deque(maxlen=2048)
        self.records_in = 0
        self.records_out = 0
        self.cpu_s = 0.0

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "errors": self.errors,
            "error_codes": sorted(self.error_codes),
            "records_in": self.records_in,
            "records_out": self.records_out,
            "p50_ms": _ms(self.percentile(0.5)),
            "p95_ms": _ms(self.percentile(0.95)),
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


@final
class PluginHandle:
    """A loaded plugin instance, as the host and other plugins see it.

    Not meant to be constructed by users: get one from ``PluginManager.get(name)``.
    """

    def __init__(
        self,
        *,
        instance: str,
        manifest: Manifest,
        origin: str,
        level: str,
        runner: Runner,
        lifecycle: Lifecycle,
        timeout_s: float | None,
    ) -> None:
        self.name = instance
        self.manifest = manifest
        self.origin = origin
        self.level = level
        self.runner = runner
        self.lifecycle = lifecycle
        self.timeout_s = timeout_s
        self.stats = CallStats()
        self.last_error: WiseflowError | None = None
        self.config: dict[str, Any] = {}

    # -- identity --------------------------------------------------------------------------

    @property
    def plugin(self) -> str:
        return self.manifest.name

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def state(self) -> PluginState:
        return self.lifecycle.state

    def __repr__(self) -> str:
        return f"<PluginHandle {self.name} ({self.plugin} {self.version}) {self.state.value}>"

    # -- the dispatch point ----------------------------------------------------------------

    def _check_state(self, method: str) -> None:
        allowed = _CALLABLE_WHEN.get(method, _ACTIVE_ONLY)
        if self.state not in allowed:
            states = ", ".join(sorted(s.value for s in allowed))
            raise RuntimeFailure(
                f"cannot call {method}() on plugin '{self.name}' in state {self.state.value}",
                plugin=self.name,
                code="WF405",
                hint=f"{method}() needs state {states}; use `wiseflow plugins enable`",
            )

    def _failed(self, exc: BaseException, method: str) -> WiseflowError:
        self.stats.errors += 1
        if isinstance(exc, WiseflowError):
            err = exc
            if err.plugin is None:
                err.plugin = self.name
        else:
            err = PluginError(
                f"{method}() raised {type(exc).__name__}: {exc}",
                plugin=self.name,
                hint="see the plugin's log; run with --debug for the traceback",
            )
            err.__cause__ = exc
        self.stats.error_codes[err.code] = self.stats.error_codes.get(err.code, 0) + 1
        self.last_error = err
        if err.code in _FATAL_CODES and self.lifecycle.can(PluginState.ERROR):
            self.lifecycle.transition(PluginState.ERROR, f"{err.code}: {err.message}")
        return err

    def invoke(self, method: str, *args: Any) -> Any:
        """Call ``method(*args)`` on the plugin, wherever it runs."""
        self._check_state(method)
        self.stats.calls += 1
        start = time.perf_counter()
        try:
            return self.runner.call(method, list(args), self.timeout_s)
        except Exception as exc:
            raise self._failed(exc, method) from exc
        finally:
            self.stats.latencies.append(time.perf_counter() - start)

    def stream(self, method: str, *args: Any) -> Iterator[Any]:
        """Iterate what ``method(*args)`` yields (``fetch``), with the same policy."""
        self._check_state(method)
        self.stats.calls += 1
        start = time.perf_counter()
        try:
            for item in self.runner.stream(method, list(args), self.timeout_s):
                self.stats.records_out += 1
                yield item
        except GeneratorExit:
            raise
        except Exception as exc:
            raise self._failed(exc, method) from exc
        finally:
            self.stats.latencies.append(time.perf_counter() - start)

    # -- typed conveniences (all through the dispatch point) --------------------------------

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        return self.stream("fetch", state)

    def check(self) -> None:
        self.invoke("check")

    def process(self, batch: list[Record]) -> list[Record]:
        self.stats.records_in += len(batch)
        out: list[Record] = self.invoke("process", batch)
        self.stats.records_out += len(out)
        return out

    def analyze(self, batch: list[Record]) -> None:
        self.stats.records_in += len(batch)
        self.invoke("analyze", batch)

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = self.invoke("result")
        return out

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        out: list[Figure | str] = self.invoke("render", result)
        return out

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = self.invoke("health")
        return out

    def describe(self) -> dict[str, Any]:
        """State and figures for ``plugins list``, ``top`` and ``run --json``."""
        return {
            "name": self.name,
            "plugin": self.plugin,
            "version": self.version,
            "kind": self.kind,
            "origin": self.origin,
            "level": self.level,
            "state": self.state.value,
            "pid": self.runner.pid(),
            **self.stats.to_dict(),
        }
