"""Connecting the host (the driver) to a Ray cluster, and checking it first.

An unreachable cluster is a clear error (WF501, exit 2) before any plugin starts or any
record moves: ``HOST:PORT`` is tried with a plain TCP connection first (Ray's own client
would retry for minutes), ``auto`` needs a cluster started on this machine. Nothing of Ray
reaches stdout: its log level is WARNING, its workers' output is not sent to the driver.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .._contract._errors import PipelineError

__all__ = ["CONNECT_TIMEOUT", "connect", "connected_address", "using"]

#: Seconds to reach a cluster's address before it is called unreachable.
CONNECT_TIMEOUT = 5.0

_lock = threading.RLock()
_address: str | None = None
_users = 0  # pipelines running on the cluster now (``using``)


def _unreachable(address: str, why: str) -> PipelineError:
    return PipelineError(
        f"the Ray cluster at {address!r} is unreachable: {why}",
        hint="start one (`ray start --head`) or set ray_address under [pipeline] to a "
        "running cluster's HOST:PORT",
    )


def _check_tcp(address: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise PipelineError(
            f"ray_address {address!r} is not HOST:PORT or 'auto'",
            hint='write ray_address = "auto" or "HOST:PORT" under [pipeline]',
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise _unreachable(address, exc.strerror or type(exc).__name__) from None


def connect(address: str) -> None:
    """Connect this process to the cluster at ``address`` (once; again only if it changes)."""
    global _address
    try:
        import ray
    except ImportError:
        raise PipelineError(
            'executor = "ray" needs Ray, which is not installed',
            hint="pip install 'wiseflow[ray]'",
        ) from None
    with _lock:
        if _address == address and ray.is_initialized():
            return
        if _users and ray.is_initialized():  # leaving would stop the pipelines using it
            raise PipelineError(
                f"this process runs a pipeline on the Ray cluster at {_address!r} now, and "
                f"Ray connects a process to one cluster: {address!r} cannot be used as well",
                hint="give both pipelines the same ray_address, or run this one in its own "
                "process (`wiseflow run`)",
            )
        if address != "auto" and not address.startswith("ray://"):
            _check_tcp(address)
        if ray.is_initialized():
            ray.shutdown()
        try:
            ray.init(
                address=address,
                logging_level=logging.WARNING,
                log_to_driver=False,
                configure_logging=True,
                namespace="wiseflow",
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise _unreachable(address, str(exc)[:300]) from None
        _quiet(ray)
        _address = address


@contextmanager
def using(address: str) -> Iterator[None]:
    """Connected to ``address`` within; no other cluster can be connected to meanwhile."""
    global _users
    with _lock:  # reentrant: connect takes it too
        connect(address)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1


def _quiet(ray: object) -> None:
    """Keep the cluster's error notices (a worker died, ...) off the driver's stdout.

    ``log_to_driver=False`` stops the workers' output; Ray still prints the raylet's notices
    to stdout from a thread, unless its (private) switch for worker logs is off. The host
    reports those events itself (WF402), and Ray's logs stay on the nodes.
    """
    worker = getattr(getattr(ray, "_private", None), "worker", None)
    if worker is not None and hasattr(worker, "_worker_logs_enabled"):
        worker._worker_logs_enabled = False


def connected_address() -> str | None:
    """The address this process is connected to, or None."""
    return _address
