"""``executor = "ray"``: the host builds a :class:`RayRunner` for every sandboxed instance.

Trusted instances stay in the host process (they are the host's code); sandboxed and
strict ones get their worker on a Ray node. The choice is made where the host builds a
runner (``_host._assembly.build_runner``), through its hook for worker runners: per
manager, so one pipeline's choice is its own (a local pipeline running at the same time in
this process stays local), or process-wide with :func:`ray_executor` and no manager.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from .._contract._errors import PipelineError
from .._host._assembly import use_worker_runner
from .._host._runner import RunnerSpec
from ._cluster import connect, using

__all__ = ["connect_for", "executor_for", "ray_executor"]


def _ray_runner(spec: RunnerSpec, broker: Any, **options: Any) -> Any:
    from ._runner import RayRunner

    return RayRunner(spec, broker, **options)


@contextmanager
def ray_executor(address: str = "auto", manager: Any = None) -> Iterator[None]:
    """Within: plugin instances assembled for sandboxed levels run on the cluster: those of
    ``manager`` (a :class:`~wiseflow.PluginManager`), or with None those of every manager
    of this process without an executor of its own.

    Connects first (WF501 when the cluster is unreachable), so that nothing starts before.
    """
    with using(address):
        previous = use_worker_runner(_ray_runner, manager)
        try:
            yield
        finally:
            use_worker_runner(previous, manager)


def _address(pipeline: Any) -> str | None:
    """The cluster's address when ``pipeline`` (its ``[pipeline]`` table) says executor = "ray"."""
    if getattr(pipeline, "executor", "local") != "ray":
        return None
    return getattr(pipeline, "ray_address", None) or "auto"


def connect_for(pipeline: Any) -> bool:
    """Connect to the pipeline's cluster now (WF501 if unreachable), before anything starts;
    whether the pipeline runs on Ray."""
    address = _address(pipeline)
    if address is not None:
        try:
            connect(address)
        except PipelineError as exc:
            exc.plugin = exc.plugin or getattr(pipeline, "path", None)  # name the file (§6)
            raise
    return address is not None


def executor_for(pipeline: Any, manager: Any = None) -> AbstractContextManager[None]:
    """Where the pipeline's instances (``manager``'s) are built: on its Ray cluster, or
    locally."""
    address = _address(pipeline)
    return nullcontext() if address is None else ray_executor(address, manager)
