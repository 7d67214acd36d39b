"""Errors across a process boundary (rebuilt from their JSON shape) and exit codes."""

from __future__ import annotations

from typing import Any

import msgspec

from . import _tree
from ._base import TRACEBACK_CHARS, Problem, WiseflowError
from ._tree import PermissionDenied, PluginError, SkipRecord, TransientError

__all__ = ["error_from_dict", "exit_code_for"]

#: The class to rebuild for each code: the first class declaring it, in the tree's order.
_CLASSES: dict[str, type[WiseflowError]] = {WiseflowError.default_code: WiseflowError}
for _cls in vars(_tree).values():
    if isinstance(_cls, type) and issubclass(_cls, WiseflowError):
        _CLASSES.setdefault(_cls.default_code, _cls)
_CLASSES["WF400"] = PluginError


def error_from_dict(data: dict[str, Any]) -> WiseflowError:
    """Rebuild an error sent as ``{"code", "message", "plugin", "hint"}`` (never unpickled)."""
    code = str(data.get("code") or "WF400")
    cls = _CLASSES.get(code, WiseflowError)
    message = str(data.get("message") or "")
    plugin = data.get("plugin")
    plugin = plugin if plugin is None or isinstance(plugin, str) else str(plugin)
    hint = data.get("hint")
    hint = hint if hint is None or isinstance(hint, str) else str(hint)
    if cls is SkipRecord:
        return SkipRecord(
            str(data.get("record_id") or ""),
            str(data.get("reason") or message),
            plugin=plugin,
            hint=hint,
        )
    err = cls.__new__(cls)
    WiseflowError.__init__(err, message, plugin=plugin, hint=hint, code=code)
    tb = data.get("traceback")
    if isinstance(tb, str) and tb:
        err.traceback = tb[-TRACEBACK_CHARS:]
    rows = data.get("problems")
    if isinstance(rows, list):
        try:
            err.problems = tuple(msgspec.convert(r, type=Problem) for r in rows[:50])
        except msgspec.ValidationError:
            pass  # malformed findings are dropped; the message stands
    if cls is TransientError:
        err.retry_after = _float_or_none(data.get("retry_after"))  # type: ignore[attr-defined]
    if cls is PermissionDenied:
        permission = data.get("permission")
        err.permission = permission if isinstance(permission, str) else None  # type: ignore[attr-defined]
    return err


def _float_or_none(value: Any) -> float | None:
    """A number sent over the wire, or None when it is not one (never an exception)."""
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def exit_code_for(code: str) -> int:
    """The process exit code of SPEC §6 for an error code.

    2 bad input (WF1xx, WF2xx, WF501, WF601 unreachable repository, WF602), 3 refused for
    security (WF3xx, WF603), 1 a run completed with failures (WF4xx), 4 internal (WF502
    store, other).
    """
    if code == "WF502":
        return 4
    if code.startswith(("WF1", "WF2", "WF5")) or code in ("WF601", "WF602"):  # SPEC §14
        return 2
    if code.startswith("WF3") or code == "WF603":
        return 3
    if code.startswith("WF4"):
        return 1
    return 4
