"""The host's side of a capability request: typed, checked, performed by the broker.

A worker asks for a capability with a :class:`~wiseflow._sandbox._protocol.CapRequest`
(``op`` and its arguments as a list). The arguments are decoded into the typed request of
that ``op`` (msgspec validates every field: a header that is not a string, a body that is
not bytes, an extra argument), so that nothing the worker sends reaches the broker
unchecked. A request that does not decode is a protocol violation (the caller stops the
worker); what the broker refuses or fails to do goes back to the worker as an error.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from .._contract._context import CapabilityBackend
from .._contract._errors import PluginError, WiseflowError
from ._protocol import CapReply, CapRequest, error_dict, pack

__all__ = ["CallPlugin", "CheckRead", "HttpRequest", "Malformed", "SecretRequest", "serve"]


class _Args(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    pass


class HttpRequest(_Args, frozen=True):
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    timeout: float | None


class SecretRequest(_Args, frozen=True):
    name: str


class CheckRead(_Args, frozen=True):
    path: str


class CallPlugin(_Args, frozen=True):
    plugin: str
    method: str
    args: list[Any]


Request = HttpRequest | SecretRequest | CheckRead | CallPlugin

_TYPES: dict[str, type[Request]] = {
    "http": HttpRequest,
    "secret": SecretRequest,
    "check_read": CheckRead,
    "call_plugin": CallPlugin,
}


class Malformed(Exception):
    """A capability request that does not decode into its typed form."""


def parse(msg: CapRequest) -> Request:
    """The typed request ``msg`` carries; raises :class:`Malformed`."""
    kind = _TYPES.get(msg.op)
    if kind is None:
        raise Malformed(f"a malformed {msg.op!r} capability request (no capability is called so)")
    try:
        # bytes pass as they are: a str is refused, never base64-decoded into a body
        return msgspec.convert(msg.args, kind, strict=True, builtin_types=(bytes,))
    except (msgspec.ValidationError, TypeError, ValueError, RecursionError) as exc:
        raise Malformed(f"a malformed {msg.op!r} capability request ({exc})") from None


def serve(broker: CapabilityBackend, msg: CapRequest, deadline: float, plugin: str) -> CapReply:
    """Perform ``msg`` through ``broker``: the reply to send (raises :class:`Malformed`).

    HTTP is bounded by what is left of the call's deadline as well as by the broker's own
    limits; a dependency's call is bounded by that dependency's ``timeout_s``.
    """
    req = parse(msg)
    try:
        return CapReply(id=msg.id, value=_perform(broker, req, deadline))
    except WiseflowError as exc:
        return CapReply(id=msg.id, error=error_dict(exc, plugin))
    except Exception as exc:
        err = PluginError(f"capability {msg.op} failed: {type(exc).__name__}: {exc}")
        return CapReply(id=msg.id, error=error_dict(err, plugin))


def _perform(broker: CapabilityBackend, req: Request, deadline: float) -> Any:
    if isinstance(req, HttpRequest):
        left = max(0.001, deadline - time.monotonic())
        asked = left if req.timeout is None else req.timeout
        timeout = asked if 0 < asked < left else left  # NaN and inf included
        resp = broker.http_request(req.method, req.url, req.headers, req.body, timeout)
        return {
            "status": resp.status,
            "headers": dict(resp.headers),
            "content": resp.content,
            "url": resp.url,
        }
    if isinstance(req, SecretRequest):
        return broker.secret(req.name)
    if isinstance(req, CheckRead):
        return broker.check_read(req.path)
    return pack(broker.call_plugin(req.plugin, req.method, req.args))
