"""The root of the error tree, one finding (:class:`Problem`), and plugin tracebacks."""

# No `from __future__ import annotations` here: public Structs are re-homed to `wiseflow`,
# and msgspec resolves string annotations through the class's module.

from typing import Any, ClassVar

import msgspec

__all__ = [
    "TRACEBACK_CHARS",
    "Problem",
    "WiseflowError",
    "WiseflowWarning",
    "plugin_traceback",
]


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=False):
    """One finding of a check: what is wrong, where, and what to do."""

    code: str
    message: str
    hint: str | None = None
    file: str | None = None
    line: int | None = None
    plugin: str | None = None
    rule: str | None = None
    severity: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of SPEC §6 (``rule``/``severity`` only when set)."""
        out: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.line,
        }
        if self.plugin is not None:
            out["plugin"] = self.plugin
        if self.rule is not None:
            out["rule"] = self.rule
            out["severity"] = self.severity
        return out


class WiseflowError(Exception):
    """Root of every wiseflow error.

    Args:
        message: what happened, for a person.
        plugin: the plugin (or file) concerned, if any.
        hint: what to do about it.
        code: overrides the class's default code.
        problems: several findings reported at once (e.g. every invalid manifest field).
    """

    default_code: ClassVar[str] = "WF000"
    default_hint: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        plugin: str | None = None,
        hint: str | None = None,
        code: str | None = None,
        problems: list[Problem] | tuple[Problem, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.plugin = plugin
        self.hint = hint if hint is not None else self.default_hint
        self.code = code or self.default_code
        self.problems: tuple[Problem, ...] = tuple(problems)
        #: The plugin's traceback (its own frames first), when the failure came from
        #: plugin code; see :func:`plugin_traceback`.
        self.traceback: str | None = None

    def __str__(self) -> str:
        where = f" ({self.plugin})" if self.plugin else ""
        return f"{self.code}: {self.message}{where}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.to_dict()))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of SPEC §6: ``{"code", "message", "plugin", "hint"}``."""
        return {
            "code": self.code,
            "message": self.message,
            "plugin": self.plugin,
            "hint": self.hint,
        }

    def as_problems(self) -> list[Problem]:
        """This error as a list of problems (its own findings, or itself)."""
        if self.problems:
            return list(self.problems)
        return [Problem(code=self.code, message=self.message, hint=self.hint, plugin=self.plugin)]


#: Longest traceback kept (characters): the last frames and the exception line matter most.
TRACEBACK_CHARS = 8000


def plugin_traceback(exc: BaseException) -> str | None:
    """``exc``'s traceback with the host's own frames left out, so the plugin's come first.

    Frames of wiseflow itself (the worker, the runner, the handle) say nothing about the
    plugin's bug; frames of bundled plugins (``wiseflow/plugins/``) are plugin frames. Leading
    standard-library frames (asyncio running an ``async`` method) go too; later ones stay.
    """
    import os
    import sysconfig
    import traceback

    if exc.__traceback__ is None:
        return None
    host = os.path.abspath(__file__)
    for _ in range(__name__.count(".")):  # up from this file to the ``wiseflow`` folder
        host = os.path.dirname(host)
    bundled = os.path.join(host, "plugins") + os.sep
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(host + os.sep) or f.filename.startswith(bundled)
    ]  # fmt: skip
    stdlib = sysconfig.get_paths()["stdlib"] + os.sep

    def runs_it(name: str) -> bool:  # asyncio (and the like) running the plugin's coroutine
        return name.startswith(stdlib) and "-packages" + os.sep not in name

    if not all(runs_it(f.filename) for f in frames):
        while runs_it(frames[0].filename):
            frames.pop(0)
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames[-20:])]
    lines += traceback.format_exception_only(type(exc), exc)
    text = "".join(lines)
    return text if len(text) <= TRACEBACK_CHARS else "…" + text[-TRACEBACK_CHARS:]


def _rebuild(cls: type[WiseflowError], data: dict[str, Any]) -> WiseflowError:
    err = cls.__new__(cls)
    WiseflowError.__init__(
        err, data["message"], plugin=data["plugin"], hint=data["hint"], code=data["code"]
    )
    return err


class WiseflowWarning(UserWarning):
    """Base class of wiseflow's warnings (weaker sandbox, soft quota crossed, ...)."""
