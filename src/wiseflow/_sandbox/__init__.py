"""Sandboxed plugin runtime: confined worker processes and the host side that drives them.

Modules, one job each:

- ``_probe``: which confinement layers this machine supports (``wiseflow doctor``).
- ``_sys``, ``_seccomp``, ``_landlock``: the kernel interfaces, via ctypes.
- ``_confine``: the layers applied inside a worker, in order.
- ``_protocol``: the length-prefixed msgpack frames between host and worker.
- ``_worker``: the worker process's main loop (imports only the plugin contract).
- ``_runner``: :class:`WorkerRunner`, the host side implementing ``Runner``.
"""

from __future__ import annotations

from ._probe import probe

__all__ = ["probe"]
