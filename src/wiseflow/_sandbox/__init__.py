"""Sandboxed plugin runtime: confined worker processes and the host side that drives them.

Modules, one job each:

- ``_probe``: which confinement layers this machine supports (``wiseflow doctor``).
- ``_sys``, ``_seccomp``, ``_landlock``: the kernel interfaces, via ctypes.
- ``_confine``: the layers applied inside a worker, in order.
- ``_protocol``: the length-prefixed msgpack frames between host and worker.
- ``_worker``: the worker process's main loop (imports only the plugin contract);
  ``_mailbox``: its end of the channel, shared by the serving and plugin threads.
- ``_output``: a worker's stdout/stderr as rate-limited log lines.
- ``_runner``: :class:`WorkerRunner`, the host side implementing ``Runner``; ``_stream``:
  its streams (credit window, deadlines); ``_ending``: how its worker ends, and the verdict.

Names load on first use so that a worker importing this package pays for none of them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WorkerRunner", "probe"]


def __getattr__(name: str) -> Any:
    if name == "probe":
        from ._probe import probe

        return probe
    if name == "WorkerRunner":
        from ._runner import WorkerRunner

        return WorkerRunner
    raise AttributeError(name)
