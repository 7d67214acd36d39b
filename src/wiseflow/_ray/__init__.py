"""The Ray executor (SPEC §15): each sandboxed plugin instance's worker on a Ray node.

Modules, one job each:

- ``_cluster``: connecting the driver (this host) to a cluster; unreachable is WF501.
- ``_actor``: :class:`WorkerHost`, the actor on a node that starts and supervises the
  confined worker with the local start path, and relays its operations and requests.
- ``_runner``: :class:`RayRunner`, the host's runner seam over that actor.
- ``_executor``: :func:`ray_executor`, which makes the host build Ray runners for the
  sandboxed instances assembled inside it.

Ray itself is imported only when a cluster is used (the extra ``wiseflow[ray]``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["RayRunner", "connect", "ray_executor"]


def __getattr__(name: str) -> Any:
    if name == "RayRunner":
        from ._runner import RayRunner

        return RayRunner
    if name == "connect":
        from ._cluster import connect

        return connect
    if name == "ray_executor":
        from ._executor import ray_executor

        return ray_executor
    raise AttributeError(name)
