"""Running a trusted plugin in the host process, behind the same Runner interface.

Honest limits: in-process code cannot be stopped from outside, so per-call timeouts apply
only to ``async`` methods (cancelled at the deadline); a plain method that hangs, hangs.
Use level ``sandboxed`` for code you do not vouch for.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, final

from ._ceilings import check_output
from ._config import build_config, config_schema
from ._context import CapabilityBackend, PluginContext
from ._errors import InterfaceError, PluginError, PluginTimeout, WiseflowError
from ._interface import validate_interface
from ._loader import import_entry
from ._plugin import BasePlugin
from ._record import Checkpoint, check_returned, screen
from ._runner import RunnerSpec
from ._verdict import is_plugin_made, issued_or_plugin, plugin_failure

__all__ = ["InProcessRunner"]

#: Items per chunk of a stream, and the longest a chunk waits for more (as a worker's).
CHUNK_ITEMS = 500
CHUNK_SECONDS = 0.02


@final
class InProcessRunner:
    """Runner for level ``trusted``: the plugin object lives in this process."""

    def __init__(self, spec: RunnerSpec, backend: CapabilityBackend) -> None:
        self.spec = spec
        self._backend = backend
        self._cls: type[BasePlugin] | None = None
        self._plugin: BasePlugin | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._initialized = False
        self._valid = False

    @property
    def name(self) -> str:
        return self.spec.instance

    def load(self) -> None:
        m = self.spec.manifest
        cls = self.spec.plugin_class or import_entry(
            m.entry,
            plugin=m.name,
            code_root=self.spec.code_root,
            root=self.spec.root,
            files=self.spec.files,
        )
        problems = validate_interface(cls, m.kind, plugin=m.name)
        self._cls = cls  # kept even when invalid, so that `check` can still validate config
        self._valid = not problems
        if problems:
            raise InterfaceError(
                f"plugin '{m.name}' does not implement the {m.kind} interface: "
                + "; ".join(p.message for p in problems),
                plugin=m.name,
                problems=problems,
            )

    def config_schema(self) -> dict[str, Any] | None:
        return config_schema(self._cls.Config if self._cls else None)

    def check_config(self, config: dict[str, Any]) -> None:
        assert self._cls is not None, "load() first"
        build_config(self._cls.Config, config, self.spec.manifest.name)

    def initialize(self, config: dict[str, Any]) -> None:
        assert self._cls is not None, "load() first"
        assert self._valid, "the plugin failed its interface check"
        name = self.spec.manifest.name
        cfg = build_config(self._cls.Config, config, name)
        data_dir = Path(self.spec.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        ctx = PluginContext(
            name=self.spec.instance, config=cfg, data_dir=data_dir, backend=self._backend
        )
        try:
            plugin = self._cls()
        except Exception as exc:
            raise PluginError(
                f"constructing {self._cls.__qualname__} failed: {type(exc).__name__}: {exc}",
                plugin=name,
            ) from exc
        self._plugin = plugin
        try:
            with self._plugin_code():
                started = plugin.initialize(ctx)
            self._run(started, None)
        except WiseflowError as exc:
            if not is_plugin_made(exc):
                raise
            # as for a worker: what the plugin says of itself (WF105) keeps its meaning only
            raise plugin_failure(exc, self.spec.instance, "initialize") from exc
        self._initialized = True

    def _run(self, value: Any, timeout: float | None) -> Any:
        if not inspect.isawaitable(value):
            return value
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        try:
            return self._loop.run_until_complete(asyncio.wait_for(_wrap(value), timeout))
        except WiseflowError as exc:
            self._mark(exc)
            raise
        except TimeoutError:
            raise PluginTimeout(
                f"call took longer than {timeout}s and was cancelled", plugin=self.spec.instance
            ) from None

    def _mark(self, exc: WiseflowError) -> None:
        """Mark what plugin code raised as the plugin's (the broker's own errors excepted)."""
        issued_or_plugin(exc, getattr(self._backend, "issued", None))

    @contextmanager
    def _plugin_code(self) -> Iterator[None]:
        try:
            yield
        except WiseflowError as exc:
            self._mark(exc)
            raise

    def call(self, method: str, args: list[Any], timeout: float | None) -> Any:
        plugin = self._require()
        with self._plugin_code():
            value = getattr(plugin, method)(*args)
        out = self._run(value, timeout)
        check_output(self.spec, method, args, out)  # the same ceiling as a worker's
        check_returned(out, self.spec.instance)  # and the same record contract
        return out

    def stream(self, method: str, args: list[Any], timeout: float | None) -> Iterator[Any]:
        plugin = self._require()
        with self._plugin_code():
            value = getattr(plugin, method)(*args)
        result = self._run(value, timeout)
        if isinstance(result, AsyncIterator) or hasattr(result, "__anext__"):
            yield from screen(self._iterate_async(result, timeout))
        else:
            try:  # one handler for the whole stream: nothing is added per item
                # records breaking the contract are refused one by one, as a worker's are
                yield from screen(result)
            except WiseflowError as exc:
                self._mark(exc)
                raise

    def chunks(
        self, method: str, args: list[Any], timeout: float | None, size: int | None = None
    ) -> Iterator[list[Any]]:
        """:meth:`stream` in lists, cut as a worker cuts them (see ``_sandbox._worker``)."""
        most = size or CHUNK_ITEMS
        buf: list[Any] = []
        started = 0.0
        try:
            for item in self.stream(method, args, timeout):
                if not buf:
                    started = time.monotonic()
                buf.append(item)
                if (
                    len(buf) >= most
                    or type(item) is Checkpoint
                    or time.monotonic() - started >= CHUNK_SECONDS
                ):
                    yield buf
                    buf = []
        except Exception:
            if buf:  # what came before a failure is still handed on, then the failure
                yield buf
            raise
        if buf:
            yield buf

    def _iterate_async(self, agen: AsyncIterator[Any], timeout: float | None) -> Iterator[Any]:
        while True:
            try:
                item = self._run(agen.__anext__(), timeout)
            except StopAsyncIteration:
                return
            yield item

    def _require(self) -> BasePlugin:
        if self._plugin is None:
            raise PluginError("plugin is not initialized", plugin=self.spec.instance)
        return self._plugin

    def close(self) -> None:
        plugin, self._plugin = self._plugin, None
        try:
            if plugin is not None and self._initialized:
                self._run(plugin.shutdown(), None)
        finally:
            self._initialized = False
            if self._loop is not None:
                self._loop.close()
                self._loop = None

    def pid(self) -> int | None:
        return None


async def _wrap(awaitable: Any) -> Any:
    return await awaitable
