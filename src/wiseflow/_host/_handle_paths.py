"""The paths of a :class:`~wiseflow._host._handle.PluginHandle` call that are not the usual
one: a failed first attempt (the retry policy, then the verdict), a failed direct call, and
streams. Functions of the handle, kept apart so that ``_handle`` shows the usual path whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ._lifecycle import PluginState
from ._metering._meter import clock
from ._resilience import BreakerState

if TYPE_CHECKING:
    from ._handle import PluginHandle

__all__ = ["again", "direct_failed", "stream_chunks"]

_ACTIVE = PluginState.ACTIVE
_CLOSED = BreakerState.CLOSED


def again(handle: PluginHandle, method: str, args: tuple[Any, ...], first: Exception) -> Any:
    """After a failed first attempt: the retry policy, then the verdict on the failure; the
    latency counts every attempt and backoff."""
    breaker = handle.breaker
    start = perf_counter() - handle.meter.elapsed
    try:
        out = handle._policy(method).again(
            method, lambda: handle._once(method, args), first, handle._before_retry
        )
    except Exception as exc:
        raise handle._failed(exc, method, args) from exc
    except BaseException:
        if breaker is not None:
            breaker.release()
        raise
    finally:
        handle.stats.latencies.append(perf_counter() - start)
    if breaker is not None:
        breaker.success()
    return out


def direct_failed(
    handle: PluginHandle,
    method: str,
    args: tuple[Any, ...],
    exc: BaseException,
    began: tuple[float, int],
    *,
    by_plugin: bool,
) -> Any:
    """A direct call (see ``PluginHandle.invoke``) that began at ``began`` (clock, threads
    alive) failed: the plugin's own error marked as such (``by_plugin``), the attempt metered
    (a ceiling the watch finds replaces the error, as in ``PluginMeter.call``), then
    :func:`again` as for any failed first attempt."""
    own = handle._own
    if by_plugin and own is not None and own.instance is not None:
        own.instance.raised(exc)
    try:
        handle.meter.done(began[0], clock(), -1.0, -1, began[1], handle.threads)
    except Exception as ceiling:
        exc = ceiling
    if not isinstance(exc, Exception):
        handle._interrupted()
        raise exc
    return again(handle, method, args, exc)


def stream_chunks(
    handle: PluginHandle, method: str, args: tuple[Any, ...], size: int | None
) -> Iterator[list[Any]]:
    """``PluginHandle.stream_chunks``: routed like a call, counted once, metered per chunk,
    retried only before its first chunk."""
    breaker = handle.breaker
    if handle.lifecycle.state is not _ACTIVE or (
        breaker is not None and breaker.state_ is not _CLOSED
    ):
        fb = handle.router.route(method)
        if fb is not None:
            yield from fb.stream_chunks(method, *args, size=size)
            return
    stats = handle.stats
    stats.calls += 1
    start = perf_counter()
    try:
        try:
            chunks, chunk = _open(handle, method, args, size)
        except Exception as first:
            chunks, chunk = handle._policy(method).again(
                method, lambda: _open(handle, method, args, size), first, handle._before_retry
            )
        try:
            while chunk is not None:
                stats.records_out += len(chunk)
                yield chunk
                chunk = handle.meter.next_chunk(chunks)
        finally:
            _close(chunks)
    except GeneratorExit:
        if breaker is not None:
            breaker.release()
        raise
    except Exception as exc:
        raise handle._failed(exc, method, args) from exc
    finally:
        stats.latencies.append(perf_counter() - start)
    if breaker is not None:
        breaker.success()


def _open(
    handle: PluginHandle, method: str, args: tuple[Any, ...], size: int | None
) -> tuple[Iterator[list[Any]], Any]:
    """Start the stream and take its first chunk (None: it yielded nothing)."""
    chunks = handle.runner.chunks(method, list(args), handle.timeout_s, size)
    try:
        return chunks, handle.meter.next_chunk(chunks)
    except BaseException:
        _close(chunks)
        raise


def _close(it: Any) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        close()
