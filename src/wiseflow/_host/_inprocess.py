"""Running a trusted plugin in the host process, behind the same Runner interface.

The plugin is hosted by the same :class:`~wiseflow._contract._instance.PluginInstance` as in a
sandbox worker; this runner adds what a worker's host adds where records cross to it: the
record contract (a record breaking it is refused, naming the field) and the output
ceiling of ``process`` (WF403).

Honest limits: in-process code cannot be stopped from outside, so per-call timeouts apply
only to ``async`` methods (cancelled at the deadline); a plain method that hangs, hangs.
Use level ``sandboxed`` for code you do not vouch for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, final

from .._contract._ceilings import check_output
from .._contract._context import CapabilityBackend
from .._contract._errors import PluginError, WiseflowError
from .._contract._instance import CHUNK_ITEMS, PluginInstance
from .._contract._plugin import BasePlugin
from .._contract._record import check_returned, screen
from .._contract._verdict import is_plugin_made, plugin_failure
from ._runner import RunnerSpec

__all__ = ["InProcessRunner"]


@final
class InProcessRunner:
    """Runner for level ``trusted``: the plugin object lives in this process.

    Args:
        spec: what to run.
        backend: the plugin's capability backend (the host's broker).
        plugin: an object to host instead of constructing one from the class (local stages
            built around a plugin object); it is used once: loaded again after ``close``
            (a recovery), the runner constructs a fresh object from the class.
        owns_backend: close ``backend`` with the runner.
    """

    __slots__ = ("_backend", "_cls", "_object", "_owns", "call", "instance", "spec")

    #: ``call(method, args, timeout)``: the hosted instance's own ``PluginInstance.call``
    #: once loaded (one frame less on every trusted call), its lists and tuples screened by
    #: :meth:`_results`; before ``load`` it refuses.
    call: Callable[[str, Sequence[Any], float | None], Any]
    #: The hosted :class:`PluginInstance` once loaded: a handle calls the methods in its
    #: ``methods`` directly on its usual path (see ``PluginHandle.invoke``).
    instance: PluginInstance | None

    def __init__(
        self,
        spec: RunnerSpec,
        backend: CapabilityBackend,
        *,
        plugin: BasePlugin | None = None,
        owns_backend: bool = False,
    ) -> None:
        self.spec = spec
        self._backend = backend
        self._object = plugin
        self._owns = owns_backend
        self._cls: type[Any] | None = None
        self.instance = None
        self.call = self._unloaded

    @property
    def name(self) -> str:
        return self.spec.instance

    @property
    def context(self) -> Any:
        """The plugin's :class:`~wiseflow.PluginContext` once initialized, else None."""
        return self.instance.ctx if self.instance is not None else None

    def load(self) -> None:
        spec, m = self.spec, self.spec.manifest
        cls = spec.plugin_class
        if cls is not None:
            inst = PluginInstance(cls, name=spec.instance, plugin=m.name, kind=m.kind)
        else:
            inst = PluginInstance.load(
                m.entry,
                name=spec.instance,
                plugin=m.name,
                kind=m.kind,
                code_root=spec.code_root,
                root=spec.root,
                files=spec.files,
            )
        # kept even when invalid, so that `check` can still validate the config
        self.instance, self._cls = inst, inst.cls
        inst.results = self._results
        self.call = inst.call
        problem = inst.interface_error()
        if problem is not None:
            raise problem

    def config_schema(self) -> dict[str, Any] | None:
        return self.instance.config_schema() if self.instance is not None else None

    def check_config(self, config: dict[str, Any]) -> None:
        assert self.instance is not None, "load() first"
        self.instance.build_config(config)

    def initialize(self, config: dict[str, Any]) -> None:
        inst = self.instance
        assert inst is not None, "load() first"
        assert not inst.problems, "the plugin failed its interface check"
        cfg = inst.build_config(config)
        data_dir = Path(self.spec.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        obj, self._object = self._object, None  # an object handed in is initialized once
        try:
            inst.initialize(cfg, data_dir=data_dir, backend=self._backend, obj=obj)
        except WiseflowError as exc:
            if not is_plugin_made(exc):
                raise
            # as for a worker: what the plugin says of itself (WF105) keeps its meaning only
            raise plugin_failure(exc, self.spec.instance, "initialize") from exc

    def _unloaded(self, method: str, args: Sequence[Any], timeout: float | None) -> Any:
        raise PluginError("plugin is not initialized", plugin=self.spec.instance)

    def _results(self, method: str, args: Sequence[Any], out: Any) -> None:
        listed = args if isinstance(args, list) else list(args)
        check_output(self.spec, method, listed, out)  # the same ceiling as a worker's
        check_returned(out, self.spec.instance)  # and the same record contract

    def stream(self, method: str, args: list[Any], timeout: float | None) -> Iterator[Any]:
        """Item by item; records breaking the contract are refused one by one, as a
        worker's are."""
        items = self._require().items(method, args, timeout)
        try:
            yield from screen(items)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # stopped early: the plugin's iterator is closed now, not when collected

    def chunks(
        self, method: str, args: list[Any], timeout: float | None, size: int | None = None
    ) -> Iterator[list[Any]]:
        """What ``method`` yields as non-empty lists of at most ``size`` items, in order
        (see ``PluginInstance.chunks``): a source runs no further ahead than one batch."""
        inst = self._require()
        for chunk in inst.chunks(method, args, timeout, size=size or CHUNK_ITEMS):
            yield list(screen(chunk))  # each record as a worker's host would take it

    def _require(self) -> PluginInstance:
        inst = self.instance
        if inst is None:
            raise PluginError("plugin is not initialized", plugin=self.spec.instance)
        return inst

    def close(self) -> None:
        inst = self.instance
        try:
            if inst is not None:
                inst.shutdown()  # the plugin's, when it was initialized; the loop always
        finally:
            if self._owns:
                close = getattr(self._backend, "close", None)
                if callable(close):
                    close()

    def pid(self) -> int | None:
        return None
