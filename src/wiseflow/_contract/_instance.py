"""One plugin object hosted in this process: :class:`PluginInstance`.

The one place that hosts plugin code: it imports the entry, checks the interface (WF103),
builds the config (WF105) and the :class:`~wiseflow._contract._context.PluginContext`, constructs
and initializes the plugin, calls its methods (awaiting a coroutine on the instance's own event
loop, cancelled at the call's timeout: WF401), iterates what a method yields (a sync or an
async iterator) item by item or in chunks, and shuts it down. The in-process runner (level
``trusted``, and the local stages of tests and benchmarks) and the sandbox worker both run
plugins through it, so a plugin behaves the same at every level by construction.

What plugin code raises is marked as the plugin's
(:func:`~wiseflow._contract._verdict.issued_or_plugin`: the broker's own errors passed on excepted);
what this module raises itself (a timeout, a refused private method) is the host's. The record
contract and the output ceilings are applied by the callers, where records leave the plugin's
process (see ``_inprocess`` and the sandbox protocol).

The sandbox worker imports this module: it imports only the plugin contract and
``_verdict`` (never the manager, the handle, the pipeline, the store or the CLI), and
``asyncio`` only when a plugin first hands back an awaitable.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

from ._config import build_config, config_schema
from ._context import CapabilityBackend, PluginContext
from ._errors import InterfaceError, PluginError, PluginTimeout, WiseflowError
from ._interface import validate_interface
from ._record import Checkpoint
from ._verdict import issued_or_plugin

if TYPE_CHECKING:
    import asyncio
    import logging

    from ._errors import Problem

__all__ = ["CHUNK_ITEMS", "CHUNK_SECONDS", "SCALARS", "PluginInstance", "awaited"]

#: Items per chunk, and how long after a hand-off items are gathered into one chunk (a
#: checkpoint ends its chunk too; an item that comes later than that goes on at once).
CHUNK_ITEMS = 500
CHUNK_SECONDS = 0.02
#: Types a method returns that are handed on as they are (neither awaited nor screened).
SCALARS: frozenset[type] = frozenset({dict, str, int, float, bool, bytes})


@final
class PluginInstance:
    """One plugin class, and once initialized its object, with the loop that runs it.

    Args:
        cls: the plugin's class (as imported from its entry).
        name: the instance name (pipeline ``name``; the plugin's name by default): what
            errors are attributed to.
        plugin: the plugin's name (its manifest's).
        kind: the kind its manifest declares; the interface is checked against it.

    The ``backend`` given to :meth:`initialize` serves the plugin's context; its ``issued``
    (a broker's) tells the host's own errors, passed on by the plugin, from the plugin's.
    """

    __slots__ = (
        "_loop", "backend", "cls", "ctx", "kind", "methods", "name", "obj", "plugin", "problems",
        "results",
    )  # fmt: skip

    def __init__(self, cls: Any, *, name: str, plugin: str, kind: str) -> None:
        self.cls = cls
        self.name = name
        self.plugin = plugin
        self.kind = kind
        self.problems: list[Problem] = validate_interface(cls, kind, plugin=plugin)
        self.obj: Any = None
        self.ctx: PluginContext | None = None
        self.backend: CapabilityBackend | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Called with (method, args, value) on a list or tuple a method returns, before it
        #: is handed on (the in-process runner's record contract and output ceiling); None
        #: in a worker, whose host takes the records as they cross the pipe.
        self.results: Callable[[str, Sequence[Any], Any], None] | None = None
        #: The object's public methods called so far, looked up once while it lives (as
        #: pluggy keeps a hook implementation's function): emptied when it is shut down.
        self.methods: dict[str, Callable[..., Any]] = {}

    @classmethod
    def load(
        cls,
        entry: str,
        *,
        name: str,
        plugin: str,
        kind: str,
        code_root: str | None,
        root: str | None = None,
        files: dict[str, str] | None = None,
    ) -> PluginInstance:
        """Import ``entry`` (``module:Class``; WF102, WF303) and check its interface."""
        from ._loader import import_entry  # the import machinery only where code is loaded

        def imported() -> Any:
            return import_entry(entry, plugin=plugin, code_root=code_root, root=root, files=files)

        # -- hook: an original-API entry (`adapter = "legacy"`, SPEC §16) is adapted here --
        if root is not None:
            from ._legacy import import_legacy, legacy_manifest

            legacy = legacy_manifest(root, files, plugin)
            if legacy is not None:
                found = import_legacy(imported, kind=kind, plugin=plugin, manifest=legacy)
                return cls(found, name=name, plugin=plugin, kind=kind)
        # -- end of hook ----------------------------------------------------------------------
        return cls(imported(), name=name, plugin=plugin, kind=kind)

    # -- before initialize -------------------------------------------------------------------

    def interface_error(self) -> InterfaceError | None:
        """WF103 listing every interface problem, or None for a valid plugin."""
        if not self.problems:
            return None
        return InterfaceError(
            f"plugin '{self.plugin}' does not implement the {self.kind} interface: "
            + "; ".join(p.message for p in self.problems),
            plugin=self.plugin,
            problems=self.problems,
        )

    def config_schema(self) -> dict[str, Any] | None:
        return config_schema(getattr(self.cls, "Config", None))

    def build_config(self, raw: dict[str, Any] | None) -> Any:
        """``raw`` validated into the plugin's ``Config`` (WF105 naming every bad field)."""
        return build_config(getattr(self.cls, "Config", None), raw, self.plugin)

    def initialize(
        self,
        config: Any,
        *,
        data_dir: Path,
        backend: CapabilityBackend,
        log: logging.Logger | None = None,
        obj: Any = None,
    ) -> None:
        """Build the context, construct the plugin (or adopt ``obj``) and initialize it.

        ``config`` comes from :meth:`build_config`. A constructor that raises is WF400; what
        ``initialize`` raises is marked as the plugin's and passed on.
        """
        self.backend = backend
        self.ctx = PluginContext(
            name=self.name, config=config, data_dir=data_dir, backend=backend, log=log
        )
        if obj is None:
            try:
                obj = self.cls()
            except Exception as exc:
                raise PluginError(
                    f"constructing {self.cls.__qualname__} failed: {type(exc).__name__}: {exc}",
                    plugin=self.name,
                ) from exc
        try:
            started = obj.initialize(self.ctx)
        except WiseflowError as exc:
            self._mark(exc)
            raise
        self.run(started, None)
        self.methods.clear()
        self.obj = obj  # callable from now on, and shut down at the end

    # -- calls -------------------------------------------------------------------------------

    def call(self, method: str, args: Sequence[Any], timeout: float | None) -> Any:
        """``method(*args)``, a coroutine awaited (cancelled after ``timeout``: WF401); a list
        or tuple it returns goes through :attr:`results` first."""
        bound = self.methods.get(method) or self.method(method)
        try:
            value = bound(*args)
        except WiseflowError as exc:
            self._mark(exc)
            raise
        if value is None or type(value) in SCALARS:
            return value
        return self.settle(method, args, value, timeout)

    def method(self, name: str) -> Callable[..., Any]:
        """The plugin object's public method ``name`` (refused: private, or no object)."""
        obj = self.obj
        if obj is None or name[:1] == "_":
            raise self._refused(name)
        try:
            found: Callable[..., Any] = getattr(obj, name)
        except WiseflowError as exc:  # raised by the plugin's own attribute code
            self._mark(exc)
            raise
        self.methods[name] = found
        return found

    def settle(self, method: str, args: Sequence[Any], value: Any, timeout: float | None) -> Any:
        """What a call of ``method`` returned, as it is handed on: a list or tuple through
        :attr:`results`, an awaitable awaited (other values as they are)."""
        kind = type(value)
        if kind is list or kind is tuple:
            if self.results is not None:
                self.results(method, args, value)
            return value
        return self.run(value, timeout)

    def raised(self, exc: BaseException) -> None:
        """``exc`` came out of one of the object's methods called directly (not through
        :meth:`call`): a ``WiseflowError`` is marked as the plugin's."""
        if isinstance(exc, WiseflowError):
            self._mark(exc)

    def run(self, value: Any, timeout: float | None) -> Any:
        """``value``, awaited on this instance's loop when it is awaitable."""
        if not inspect.isawaitable(value):
            return value
        loop = self._loop
        if loop is None:
            import asyncio  # only plugins with async methods pay for asyncio

            loop = self._loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(_bounded(value, timeout))
        except WiseflowError as exc:
            self._mark(exc)
            raise
        except _Expired:
            raise PluginTimeout(
                f"call took longer than {timeout}s and was cancelled", plugin=self.name
            ) from None

    def items(self, method: str, args: list[Any], timeout: float | None) -> Iterator[Any]:
        """What ``method(*args)`` yields, item by item; ``timeout`` bounds each async item.

        Closing the iterator early closes the plugin's (``aclose`` for an async one).
        """
        value = self.call(method, args, timeout)
        if isinstance(value, AsyncIterator) or hasattr(value, "__anext__"):
            return self._async_items(value, timeout)
        return self._sync_items(value)

    def chunks(
        self,
        method: str,
        args: list[Any],
        timeout: float | None,
        *,
        size: int = CHUNK_ITEMS,
        seconds: float = CHUNK_SECONDS,
    ) -> Generator[list[Any], None, None]:
        """:meth:`items` as non-empty lists, in order.

        A chunk ends at ``size`` items, at a :class:`~wiseflow.Checkpoint`, or with the first
        item that comes ``seconds`` or more after the last chunk was handed on (such an item
        that would start a chunk goes on alone at once). When the plugin fails,
        the items it yielded before are handed on first, then its error is raised.
        """
        return _chunked(self.items(method, args, timeout), size, seconds)

    def _sync_items(self, value: Iterable[Any]) -> Iterator[Any]:
        try:  # one handler for the whole stream: nothing is added per item
            yield from value  # closed early, it closes the plugin's iterator too
        except WiseflowError as exc:
            self._mark(exc)
            raise

    def _async_items(self, agen: AsyncIterator[Any], timeout: float | None) -> Iterator[Any]:
        try:
            while True:
                try:
                    item = self.run(agen.__anext__(), timeout)
                except StopAsyncIteration:
                    return
                yield item
        except GeneratorExit:  # closed early: the plugin's iterator is closed too
            aclose = getattr(agen, "aclose", None)
            if callable(aclose):
                _quietly(lambda: self.run(aclose(), timeout))
            raise

    # -- the end -----------------------------------------------------------------------------

    def shutdown(self, timeout: float | None = None) -> None:
        """Call the plugin's ``shutdown`` (once) and close the loop, even when it fails."""
        obj, self.obj = self.obj, None
        self.methods.clear()
        try:
            if obj is not None:
                try:
                    stopped = obj.shutdown()
                except WiseflowError as exc:
                    self._mark(exc)
                    raise
                self.run(stopped, timeout)
        finally:
            loop, self._loop = self._loop, None
            if loop is not None:
                loop.close()

    # -- helpers -----------------------------------------------------------------------------

    def _mark(self, exc: WiseflowError) -> None:
        """Mark what plugin code raised as the plugin's (the broker's own errors excepted)."""
        issued_or_plugin(exc, getattr(self.backend, "issued", None))

    def _refused(self, method: str) -> PluginError:
        if self.obj is None:
            return PluginError("plugin is not initialized", plugin=self.name)
        return PluginError(f"refusing to call private method {method!r}", plugin=self.name)


def _quietly(close: Any) -> None:
    """Call ``close`` (if any): what a plugin's iterator says on the way out is moot."""
    if callable(close):
        try:
            close()
        except Exception:
            pass


class _Expired(Exception):
    """The call's own deadline passed (a plugin's own ``TimeoutError`` stays its own)."""


async def awaited(awaitable: Any) -> Any:
    """A coroutine awaiting ``awaitable`` (what a loop runs; any awaitable may come in)."""
    return await awaitable


async def _bounded(awaitable: Any, timeout: float | None) -> Any:
    if timeout is None:
        return await awaitable
    import asyncio

    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            return await awaitable
    except TimeoutError:
        if deadline.expired():
            raise _Expired from None
        raise


def _chunked(items: Iterator[Any], size: int, seconds: float) -> Generator[list[Any], None, None]:
    """``items`` as lists (see :meth:`PluginInstance.chunks`).

    Each chunk's first item is taken by the outer loop, the rest through ``islice`` (the
    count is kept in C): per item, only the checkpoint test and the clock are Python. A
    first item that came ``seconds`` or more after the last hand-off (a slow source) goes
    on alone: it never waits for an item the plugin has not made yet, so whoever waits on
    the chunks (a host's per-item deadline) waits for one item, never for two.
    """
    now = time.monotonic
    buf: list[Any] = []
    handed = now()
    try:
        for first in items:
            buf = [first]
            if type(first) is not Checkpoint and now() - handed < seconds:
                deadline = handed + seconds
                append = buf.append
                for item in islice(items, size - 1):
                    append(item)
                    if type(item) is Checkpoint or now() >= deadline:
                        break
            out, buf = buf, []
            yield out
            handed = now()
    except BaseException as exc:
        if buf and not isinstance(exc, GeneratorExit | KeyboardInterrupt):
            out, buf = buf, []
            yield out  # what the plugin made before it failed is delivered first
        raise
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
