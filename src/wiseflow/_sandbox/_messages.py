"""The messages between host and worker: typed msgspec structs, and what rides in them.

Every message is a msgspec struct of the tagged union :data:`Message`, encoded as a
msgpack array (its tag first) for speed. Records travel as msgspec structs: batches in
``batch``/``records`` fields directly, and any Record, Checkpoint, Figure or SkipRecord
nested in free-form values as a msgpack extension (:func:`pack`) that decodes back through
the typed decoders, never through pickle. Errors cross as dicts (:func:`error_dict`).

Host → worker: :class:`Setup` :class:`Load` :class:`Init` :class:`Call` :class:`Credit`
:class:`Cancel` :class:`CapReply` :class:`Shutdown`.
Worker → host: :class:`Ready` :class:`Loaded` :class:`Result` :class:`Fail`
:class:`Chunk` :class:`End` :class:`CapRequest` :class:`Log` :class:`Telemetry`. A capability
request's arguments are decoded into their typed form by the host (``_capabilities``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from .._contract._errors import (
    PluginError,
    QuotaExceeded,
    SkipRecord,
    TransientError,
    WiseflowError,
    plugin_traceback,
)
from .._contract._plugin import Figure
from .._contract._record import Checkpoint, Record, refused
from ._confine import Confinement, Policy

__all__ = [
    "Call",
    "Cancel",
    "CapReply",
    "CapRequest",
    "Chunk",
    "Credit",
    "End",
    "Fail",
    "Init",
    "Load",
    "Loaded",
    "Log",
    "Message",
    "Ready",
    "Result",
    "Setup",
    "Shutdown",
    "Telemetry",
    "enc_hook",
    "error_dict",
    "ext_hook",
    "pack",
    "records_only",
]

_EXT_RECORD = 1
_EXT_CHECKPOINT = 2
_EXT_FIGURE = 3
_EXT_SKIP = 4  # a connector refusing one item: SkipRecord(record_id, reason), yielded
_EXT_REFUSED = 5  # a record the worker could not send (breaks the contract): WF406 on the host


class _Msg(msgspec.Struct, tag_field="t", array_like=True, frozen=True):
    pass


# -- host → worker -------------------------------------------------------------------------


class Setup(_Msg, tag="setup", frozen=True):
    policy: Policy


class Load(_Msg, tag="load", frozen=True):
    name: str
    instance: str
    kind: str
    entry: str
    code_root: str | None
    data_dir: str
    root: str | None = None  # the plugin's folder: its modules load from source only
    files: dict[str, str] | None = None  # approved digests of a locked plugin (WF303)
    check: bool = False  # `plugins check`: report interface problems, keep the class
    python_path: list[str] = []  # the plugin's own environment: first on sys.path (§14)


class Loaded(_Msg, tag="loaded", frozen=True):
    schema: dict[str, Any] | None
    error: dict[str, Any] | None = None
    problems: list[dict[str, Any]] | None = None  # interface problems (``check`` only)
    # methods the plugin marked: never retried (names, bounded: the worker's word only
    # ever takes retries away from its own methods)
    non_idempotent: (
        Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=256)]
        | None
    ) = None


class Init(_Msg, tag="init", frozen=True):
    id: int
    config: dict[str, Any]
    check_only: bool = False


class Call(_Msg, tag="call", frozen=True):
    """Run ``method(*args)``; ``batch`` (when set) is inserted as the first argument.

    With ``stream`` the result is iterated and sent as :class:`Chunk` messages, ``credit``
    chunks at a time.
    """

    id: int
    method: str
    args: list[Any]
    batch: list[Record] | None = None
    stream: bool = False
    credit: int = 0


class Credit(_Msg, tag="credit", frozen=True):
    id: int
    n: int


class Cancel(_Msg, tag="cancel", frozen=True):
    id: int


class CapReply(_Msg, tag="capreply", frozen=True):
    id: int
    value: Any = None
    error: dict[str, Any] | None = None


class Shutdown(_Msg, tag="shutdown", frozen=True):
    pass


# -- worker → host -------------------------------------------------------------------------


class Ready(_Msg, tag="ready", frozen=True):
    pid: int
    confinement: Confinement


class Result(_Msg, tag="result", frozen=True):
    id: int
    value: Any = None
    records: list[Record] | None = None


class Fail(_Msg, tag="fail", frozen=True):
    id: int
    error: dict[str, Any]


class Chunk(_Msg, tag="chunk", frozen=True):
    """Items of a stream: ``records`` when all are Records, else ``items``."""

    id: int
    records: list[Record] | None = None
    items: list[Any] | None = None


class End(_Msg, tag="end", frozen=True):
    id: int


class CapRequest(_Msg, tag="cap", frozen=True):
    id: int
    op: str  # http | secret | check_read | call_plugin
    args: list[Any]


class Log(_Msg, tag="log", frozen=True):
    level: int
    message: str


_Word = Annotated[str, msgspec.Meta(max_length=16)]
_Text = Annotated[str, msgspec.Meta(max_length=300)]
_Count = Annotated[int, msgspec.Meta(ge=0, le=1 << 62)]


class Telemetry(_Msg, tag="telemetry", frozen=True):
    """What the plugin attempted since the last frame (``_monitor``): counts per kind,
    refusals per kind, first samples ``[what, target, outcome]``, counts per target.
    Hostile data like everything from a worker: bounded here, merged bounded by the host."""

    counts: Annotated[dict[_Word, _Count], msgspec.Meta(max_length=8)]
    refused: Annotated[dict[_Word, _Count], msgspec.Meta(max_length=8)] = {}
    samples: Annotated[
        dict[_Word, Annotated[list[Annotated[list[_Text], msgspec.Meta(max_length=3)]],
                              msgspec.Meta(max_length=8)]],
        msgspec.Meta(max_length=8),
    ] = {}  # fmt: skip
    targets: Annotated[
        dict[_Word, Annotated[dict[_Text, _Count], msgspec.Meta(max_length=40)]],
        msgspec.Meta(max_length=8),
    ] = {}


Message = (
    Setup
    | Load
    | Init
    | Call
    | Credit
    | Cancel
    | CapReply
    | Shutdown
    | Ready
    | Loaded
    | Result
    | Fail
    | Chunk
    | End
    | CapRequest
    | Log
    | Telemetry
)


_record_encoder = msgspec.msgpack.Encoder()
_record_decoder = msgspec.msgpack.Decoder(Record)
_checkpoint_decoder = msgspec.msgpack.Decoder(Checkpoint)
_figure_decoder = msgspec.msgpack.Decoder(tuple[str, str])


#: Values that cross as they are (exact types: a subclass goes through :func:`pack`'s checks).
_PLAIN = frozenset({str, int, float, bool, type(None), bytes})


def pack(value: Any) -> Any:
    """``value`` with every Record, Checkpoint and Figure (any depth) wrapped as an extension.

    msgspec encodes structs natively, so a Record inside a free-form value would arrive
    as a plain dict; wrapping keeps its type across the wire.
    """
    kind = type(value)
    if kind in _PLAIN:  # the usual argument or return value: nothing to wrap
        return value
    if kind is list:
        return [v if type(v) in _PLAIN else pack(v) for v in value]
    if isinstance(value, Record):
        return msgspec.msgpack.Ext(_EXT_RECORD, _record_encoder.encode(value))
    if isinstance(value, Checkpoint):
        return msgspec.msgpack.Ext(_EXT_CHECKPOINT, _record_encoder.encode(value))
    if isinstance(value, Figure):
        return msgspec.msgpack.Ext(_EXT_FIGURE, _record_encoder.encode([value.title, value.body]))
    if isinstance(value, SkipRecord):
        data = [str(value.record_id), str(value.reason)]
        code = _EXT_REFUSED if value.code == "WF406" else _EXT_SKIP
        return msgspec.msgpack.Ext(code, _record_encoder.encode(data))
    if isinstance(value, list | tuple):
        return [pack(v) for v in value]
    if isinstance(value, dict):
        return {k: pack(v) for k, v in value.items()}
    return value


def records_only(value: Any) -> list[Record] | None:
    """``value`` when it is a non-empty list of Records (sent on the fast typed path)."""
    if (
        type(value) is list
        and value
        and type(value[0]) is Record
        and all(type(v) is Record for v in value)
    ):
        return value
    return None


def enc_hook(obj: Any) -> Any:
    if isinstance(obj, set | frozenset):
        return list(obj)
    raise TypeError(f"cannot send a {type(obj).__name__} between host and worker")


def ext_hook(code: int, data: memoryview) -> Any:
    if code == _EXT_RECORD:
        return _record_decoder.decode(data)
    if code == _EXT_CHECKPOINT:
        return _checkpoint_decoder.decode(data)
    if code == _EXT_FIGURE:
        title, body = _figure_decoder.decode(data)
        return Figure(title, body)
    if code == _EXT_SKIP:
        record_id, reason = _figure_decoder.decode(data)  # two strings, like a Figure
        return SkipRecord(record_id, reason)
    if code == _EXT_REFUSED:
        record_id, reason = _figure_decoder.decode(data)
        return refused(record_id, reason)
    raise msgspec.ValidationError(f"unknown extension type {code}")


def error_dict(exc: BaseException, plugin: str | None, memory_mb: int = 0) -> dict[str, Any]:
    """``exc`` as the dict that crosses the wire (see ``error_from_dict``)."""
    if isinstance(exc, MemoryError):
        exc = QuotaExceeded(
            f"plugin exceeded its memory quota ({memory_mb} MB)",
            plugin=plugin,
            hint="raise resources.memory_mb for this plugin, or process smaller batches",
        )
    if not isinstance(exc, WiseflowError):
        data = PluginError(f"{type(exc).__name__}: {exc}", plugin=plugin).to_dict()
        data["traceback"] = plugin_traceback(exc)
        return data
    data = exc.to_dict()
    if exc.__traceback__ is not None and not isinstance(exc, SkipRecord):
        data["traceback"] = plugin_traceback(exc)
    if data.get("plugin") is None:
        data["plugin"] = plugin
    if exc.problems:  # each finding (config fields, interface methods) crosses as it is
        data["problems"] = [p.to_dict() for p in exc.problems[:50]]
    if isinstance(exc, SkipRecord):
        data["record_id"] = exc.record_id
        data["reason"] = exc.reason
    if isinstance(exc, TransientError):
        data["retry_after"] = exc.retry_after
    permission = getattr(exc, "permission", None)
    if isinstance(permission, str):
        data["permission"] = permission
    return data
