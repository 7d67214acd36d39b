"""Original-API plugin classes hosted as wiseflow plugins (SPEC §16, LEGACY-API.md).

:func:`adapt` wraps a legacy class in a plugin class of its kind, which the host then runs
like any other (same loading, interface check, lifecycle, retries, sandbox and store):

- ``initialize(ctx)`` constructs the legacy object with the stage's ``config`` table as
  its ``self.config``, then calls ``validate_config()`` (False: WF105),
  ``initialize()`` (False: a failed initialize, WF400 naming the plugin) and, for a
  connector, ``connect()``; ``shutdown()`` calls ``disconnect()`` then ``shutdown()``.
- connector: ``fetch(state)`` calls ``fetch_data(config.query)`` once and yields one
  record per item of its ``data`` (or ``items``) list; an item that cannot be a record is
  yielded as a refusal (a dead letter naming the reason), never mended.
- processor: ``process(batch)`` calls the legacy ``process(item)`` once per record (as
  a dict); a dict, a list of dicts or a string (the new text) comes back, None drops it.
- analyzer: ``analyze(batch)`` keeps the records; ``result()`` calls the legacy
  ``analyze(items)`` once with all of them and returns its dict.

Legacy methods may be ``async``: their coroutines are run to completion here.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import (
    ConfigError,
    InterfaceError,
    PermissionDenied,
    PluginError,
    Problem,
    SkipRecord,
)
from .._plugin import AnalyzerPlugin, ConnectorPlugin, ProcessorPlugin
from .._record import Record
from ._core import KIND_OF
from ._core import BasePlugin as LegacyBase
from ._mapping import from_legacy, item_id, to_legacy

if TYPE_CHECKING:
    import asyncio

    from .._context import PluginContext

__all__ = ["adapt"]

#: What legacy methods usually return: never awaitable (skips ``inspect.isawaitable``).
_PLAIN = frozenset({dict, list, str, bool, int, type(None)})
#: The method each kind must have (LEGACY-API.md, "The three kinds").
_METHOD = {"connector": "fetch_data", "processor": "process", "analyzer": "analyze"}


def adapt(legacy: Any, kind: str, plugin: str, *, env: tuple[str, ...] = ()) -> type[Any]:
    """The wiseflow plugin class hosting ``legacy`` as a ``kind`` (WF103 when it cannot).

    ``env``: the variables the manifest declares; those granted are set in ``os.environ``
    (where not set already) before the legacy object is made, since legacy code reads them
    there: a sandbox worker's environment holds nothing of the host's.
    """
    problems = _problems(legacy, kind, plugin)
    if problems:
        raise InterfaceError(
            f"plugin '{plugin}' is not an original-API {kind}: "
            + "; ".join(p.message for p in problems),
            plugin=plugin,
            problems=problems,
        )
    base = {"connector": _Connector, "processor": _Processor, "analyzer": _Analyzer}[kind]
    attrs = {"legacy": legacy, "legacy_env": env, "__module__": legacy.__module__}
    return type(legacy.__name__, (base,), attrs)


def _problems(legacy: Any, kind: str, plugin: str) -> list[Problem]:
    def bad(message: str, hint: str) -> Problem:
        return Problem(code="WF103", message=message, hint=hint, plugin=plugin)

    if not isinstance(legacy, type):
        return [bad(f"entry is {type(legacy).__name__}, not a class", "point `entry` at the class")]
    if kind not in _METHOD:
        return [bad(f"unknown kind {kind!r}", "kind is connector, processor or analyzer")]
    name = legacy.__name__
    kinds = [k for base, k in KIND_OF.items() if issubclass(legacy, base)]
    if kinds and kind not in kinds:
        return [
            bad(
                f"manifest says kind = {kind!r} but {name} is a {kinds[0]}",
                f"set kind = {kinds[0]!r} in plugin.toml",
            )
        ]
    method = _METHOD[kind]
    impl = inspect.getattr_static(legacy, method, None)
    if not callable(impl) or getattr(legacy, method) is getattr(LegacyBase, method, None):
        return [bad(f"{name} has no {method}() method", f"a legacy {kind} defines {method}()")]
    owner = next((k for k in legacy.__mro__ if method in vars(k)), None)
    if owner is not None and owner in KIND_OF:  # only the stand-in's abstract method
        return [bad(f"{name}.{method}() is not implemented", f"define {method}() in {name}")]
    return []


class _Hosted:
    """What the three adapters share: the legacy object and its lifecycle."""

    legacy: ClassVar[type[Any]]
    legacy_env: ClassVar[tuple[str, ...]] = ()
    #: The stage's config table, taken as it is: it is the legacy ``self.config``.
    Config: ClassVar[type[Any] | None] = dict

    _obj: Any = None
    _loop: asyncio.AbstractEventLoop | None = None
    _ctx: PluginContext

    def _start(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        name = ctx.name
        _export_granted(ctx, self.legacy_env)
        obj = self.legacy(dict(ctx.config or {}))
        self._obj = obj
        validate = getattr(obj, "validate_config", None)
        if callable(validate) and self._settle(validate()) is False:
            raise ConfigError(
                f"legacy plugin {name!r}: validate_config() returned False",
                plugin=name,
                hint=f"check the `config` table of stage {name!r} in the pipeline file",
            )
        if self._settle(obj.initialize()) is False:
            raise PluginError(
                f"legacy plugin {name!r}: initialize() returned False (it could not start)",
                plugin=name,
                hint=f"check the `config` table of stage {name!r} in the pipeline file and "
                "the plugin's log (`wiseflow runs show RUN`); its initialize() decides",
            )
        connect = getattr(obj, "connect", None) if isinstance(self, _Connector) else None
        if callable(connect) and self._settle(connect()) is False:
            raise PluginError(
                f"legacy plugin {name!r}: connect() returned False",
                plugin=name,
                hint="the source could not be reached; check the stage's config",
            )

    def _stop(self) -> None:
        obj, self._obj = self._obj, None
        try:
            if obj is not None:
                disconnect = getattr(obj, "disconnect", None)
                try:
                    if isinstance(self, _Connector) and callable(disconnect):
                        self._settle(disconnect())
                finally:
                    self._settle(obj.shutdown())
        finally:
            loop, self._loop = self._loop, None
            if loop is not None:
                loop.close()

    def _settle(self, value: Any) -> Any:
        """``value``, run to completion when a legacy ``async`` method returned it."""
        if type(value) in _PLAIN or not inspect.isawaitable(value):
            return value
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()

        async def wait() -> Any:
            return await value

        return self._loop.run_until_complete(wait())


def _export_granted(ctx: PluginContext, names: tuple[str, ...]) -> None:
    """Each granted variable of ``names`` into ``os.environ`` (unless already there)."""
    import os

    for var in names:
        if var in os.environ:
            continue
        try:
            value = ctx.secret(var)
        except PermissionDenied:
            continue  # declared, not granted: the legacy code finds it unset
        if value is not None:
            os.environ[var] = value


class _Connector(_Hosted, ConnectorPlugin):
    """An original-API connector (see the module docstring)."""

    def initialize(self, ctx: PluginContext) -> None:
        self._start(ctx)

    def shutdown(self) -> None:
        self._stop()

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | SkipRecord]:
        config = self._ctx.config or {}
        query = config.get("query", "")
        got = self._settle(self._obj.fetch_data(query if isinstance(query, str) else ""))
        source = self._ctx.name
        for item in _items(got):
            record = from_legacy(item, source=source)
            if isinstance(record, str):
                yield SkipRecord(item_id(item), f"legacy item refused: {record}")
            else:
                yield record


def _items(got: Any) -> list[Any]:
    """The items of what ``fetch_data`` returned: ``data`` or ``items``, or a list."""
    if type(got) is list:
        return got
    if type(got) is dict:
        for key in ("data", "items"):
            value = got.get(key)
            if type(value) is list:
                return value
            if type(value) is dict:
                return [value]
        if not got:
            return []
        keys = ", ".join(sorted(repr(k)[:40] for k in list(got)[:10]))
        raise PluginError(f"fetch_data() returned a dict without 'data' or 'items' ({keys})")
    if got is None:
        return []
    raise PluginError(f"fetch_data() returned {type(got).__name__}, not a dict or a list")


class _Processor(_Hosted, ProcessorPlugin):
    """An original-API processor (see the module docstring)."""

    def initialize(self, ctx: PluginContext) -> None:
        self._start(ctx)

    def shutdown(self) -> None:
        self._stop()

    def process(self, batch: list[Record]) -> list[Record]:
        out: list[Record] = []
        for record in batch:
            got = self._settle(self._obj.process(to_legacy(record)))
            if got is None:
                continue
            if type(got) is str:
                got = {**to_legacy(record), "content": got}
            for item in got if type(got) is list else [got]:
                made = from_legacy(item, source=record.source, base=record)
                if isinstance(made, str):
                    raise SkipRecord(record.id, f"legacy process() returned {made}")
                out.append(made)
        return out


class _Analyzer(_Hosted, AnalyzerPlugin):
    """An original-API analyzer (see the module docstring)."""

    _seen: list[dict[str, Any]]

    def initialize(self, ctx: PluginContext) -> None:
        self._seen = []
        self._start(ctx)

    def shutdown(self) -> None:
        self._stop()

    def analyze(self, batch: list[Record]) -> None:
        self._seen.extend(to_legacy(r) for r in batch)

    def result(self) -> dict[str, Any]:
        got = self._settle(self._obj.analyze(self._seen))
        if type(got) is not dict:
            raise PluginError(f"legacy analyze() returned {type(got).__name__}, not a dict")
        return got
