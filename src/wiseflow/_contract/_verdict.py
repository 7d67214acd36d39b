"""The host owns the verdict: what an exception out of plugin code means (SPEC §11).

An exception raised by plugin code is a plugin failure, attributed to the plugin the host
called, whatever code, plugin name or hint it carries. Two kinds keep the meaning the
contract gives them (SPEC §2): :class:`~wiseflow.TransientError` (retry, WF407) and
:class:`~wiseflow.SkipRecord` (dead letter, WF408). Any other code a plugin puts in its
exception (a WF3xx "refused for security", a WF1xx "bad input", another plugin's name, a
hint with a command to run) is kept only as the plugin's own text, labelled
``plugin says: ...``, under WF400; it never sets the exit code.

Errors the host made keep their meaning: a timeout, a crash, a quota, a protocol violation
(raised by the runner), and the broker's own ``PermissionDenied`` even when the plugin
passed it on, as recognised by :meth:`~wiseflow._policy._broker.Broker.issued`. Where plugin text
enters the host (a worker's ``Fail``/``Loaded`` frame, an exception out of in-process
plugin code), the error is marked with :func:`mark_plugin`; :func:`plugin_failure` is the
one mapping every call failure goes through (``PluginHandle``).
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from ._errors import (
    ConfigError,
    EntryNotFound,
    InterfaceError,
    PermissionDenied,
    PluginError,
    Problem,
    SkipRecord,
    TransientError,
    WiseflowError,
    plugin_traceback,
)

__all__ = [
    "exec_refused",
    "is_plugin_made",
    "issued_or_plugin",
    "mark_plugin",
    "plugin_failure",
    "plugin_says",
]

_E = TypeVar("_E", bound=WiseflowError)
_MARK = "_wiseflow_from_plugin"
#: Longest piece of plugin text kept in a message or hint the host shows.
_TEXT = 2000
#: Longest wait a plugin may ask for with TransientError.retry_after (the policy caps it too).
_MAX_RETRY_AFTER = 3600.0
#: What a plugin may say about itself while being loaded (its entry, its interface) or
#: initialized (its config is invalid), by method and code.
_OWN_KINDS: dict[tuple[str, str], type[WiseflowError]] = {
    ("load", "WF102"): EntryNotFound,
    ("load", "WF103"): InterfaceError,
    ("initialize", "WF105"): ConfigError,
}


def mark_plugin(err: _E) -> _E:
    """Mark ``err`` as made by plugin code (rebuilt from a worker, or raised in-process)."""
    setattr(err, _MARK, True)
    return err


def is_plugin_made(err: BaseException) -> bool:
    """Whether ``err`` was made by plugin code (see :func:`mark_plugin`)."""
    return bool(getattr(err, _MARK, False))


def _cut(text: object, limit: int = _TEXT) -> str:
    s = str(text)
    return s if len(s) <= limit else f"{s[:limit]}… [{len(s) - limit} more characters]"


def plugin_says(err: WiseflowError) -> str:
    """The plugin's error as its own labelled text: ``plugin says: [CODE] message ...``."""
    text = f"plugin says: [{_cut(err.code, 40)}] {_cut(err.message)}"
    if err.plugin:
        text += f" (naming plugin {_cut(err.plugin, 200)!r})"
    return text


def _plugin_hint(hint: str | None, default: str | None) -> str | None:
    if not hint or hint == default:
        return default
    own = f"the plugin's own hint, not checked by wiseflow: {_cut(hint)}"
    return f"{default}; {own}" if default else own


def _seconds(value: Any) -> float | None:
    """A plugin's ``retry_after`` as a sane number of seconds, or None."""
    try:
        after = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(after) else min(max(0.0, after), _MAX_RETRY_AFTER)


def plugin_failure(exc: BaseException, plugin: str, method: str) -> WiseflowError:
    """What the host makes of ``exc``, raised by a call of ``method`` on ``plugin``.

    Host-made errors are returned as they are (attributed to ``plugin`` when they name
    none); everything plugin code raised becomes a failure of ``plugin``: WF407 and WF408
    keep their meaning, anything else is WF400 with the plugin's text labelled.
    """
    if isinstance(exc, WiseflowError) and not is_plugin_made(exc):
        if exc.plugin is None:
            exc.plugin = plugin
        return exc
    out: WiseflowError
    if isinstance(exc, SkipRecord):
        out = SkipRecord(_cut(exc.record_id, 500), _cut(exc.reason), plugin=plugin)
    elif isinstance(exc, TransientError):
        after = _seconds(exc.retry_after)
        out = TransientError(
            _cut(exc.message) if exc.plugin in (None, plugin) else plugin_says(exc),
            retry_after=after,
            plugin=plugin,
        )
        out.hint = _plugin_hint(exc.hint, TransientError.default_hint)
    elif isinstance(exc, WiseflowError):
        kind = _OWN_KINDS.get((method, exc.code))
        if kind is not None:
            out = kind(_cut(exc.message), plugin=plugin)
            out.hint = _plugin_hint(exc.hint, kind.default_hint)
            # its findings (each config field, each missing method) stay, as findings of
            # that same kind about this plugin: nothing else can ride along
            out.problems = tuple(
                Problem(code=kind.default_code, message=_cut(p.message, 500), plugin=plugin)
                for p in exc.problems[:50]
            )
        elif type(exc) is PluginError and exc.code == "WF400" and exc.plugin in (None, plugin):
            out = PluginError(_cut(exc.message), plugin=plugin)  # its own plain failure
            out.hint = _plugin_hint(exc.hint, PluginError.default_hint)
        else:
            out = PluginError(f"{method}() failed; {plugin_says(exc)}", plugin=plugin)
            out.hint = _plugin_hint(exc.hint, PluginError.default_hint)
    else:
        out = PluginError(
            f"{method}() raised {type(exc).__name__}: {_cut(exc)}",
            plugin=plugin,
            hint=PluginError.default_hint,
        )
    traceback = getattr(exc, "traceback", None)
    if not isinstance(traceback, str) and not isinstance(exc, SkipRecord):
        traceback = plugin_traceback(exc)  # raised in this process (a trusted plugin)
    out.traceback = traceback if isinstance(traceback, str) else None
    out.__cause__ = exc
    return out


#: Frames of a failed program start in a Python traceback (subprocess, os.exec*/spawn*).
_EXEC_FRAMES = ("_execute_child", "os.exec", "posix_spawn", "os.spawn", "_fork_exec")


def exec_refused(
    err: WiseflowError, instance: str, *, plugin: str, declared: bool, level: str
) -> PermissionDenied | None:
    """WF301 for a worker's ``PermissionError: [Errno 1]`` from starting a program.

    Only for a worker that may not start programs (seccomp answers EPERM to ``execve``):
    the plugin either declared ``subprocess`` and was not granted it, or never declared it.
    The host knows which, so its message names the permission and what the operator (or
    the author) can do. ``plugin`` names the plugin (what is granted), ``instance`` the
    pipeline's instance of it (whose failure this is). The worker's traceback, when there
    is one, must show a program being started; any other EPERM stays the plugin's failure.
    """
    # The worker is the plugin's process, so it could forge this report; all it gains is
    # a message whose host-known half (declared, not granted) is true either way.
    if not err.message.startswith("PermissionError: [Errno 1]"):
        return None
    traceback = err.traceback or ""
    if traceback and not any(frame in traceback for frame in _EXEC_FRAMES):
        return None
    if not declared:
        out = PermissionDenied(
            f"plugin '{plugin}' tried to run a program, which its manifest does not declare",
            permission="subprocess",
            plugin=instance,
            hint="only a plugin that declares `subprocess = true` under [plugin.permissions] "
            "may be granted it; ask its author",
        )
    elif level == "strict":
        out = PermissionDenied(
            f"plugin '{plugin}' tried to run a program: the subprocess permission it declares "
            "is never given at level strict",
            permission="subprocess",
            plugin=instance,
            hint=f'run it at level sandboxed (`level = "sandboxed"` under [plugins.{plugin}]) '
            f"and grant it: `wiseflow plugins grant {plugin} --subprocess`",
        )
    else:
        out = PermissionDenied(
            f"plugin '{plugin}' tried to run a program, and the subprocess permission it "
            "declares is not granted",
            permission="subprocess",
            plugin=instance,
            hint=f"grant it with `wiseflow plugins grant {plugin} --subprocess` (or "
            f"`grant.subprocess = true` under [plugins.{plugin}] in wiseflow.toml)",
        )
    out.traceback = err.traceback
    return out


def issued_or_plugin(err: WiseflowError, issued: Any) -> WiseflowError:
    """``err`` as the host's own error when ``issued(err)`` knows it, else marked plugin-made.

    ``issued`` is the broker's :meth:`~wiseflow._policy._broker.Broker.issued` (or None).
    """
    mine = issued(err) if issued is not None else None
    if mine is not None:
        return mine  # type: ignore[no-any-return]
    return mark_plugin(err)
