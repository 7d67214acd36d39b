"""What a plugin may use: :class:`PluginContext`, its capabilities.

A context is built by the host. Every capability goes through a :class:`CapabilityBackend`:
in the host process for trusted plugins, over the IPC channel for sandboxed ones, where the
host checks the request against the operator's grant and performs it itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Literal, Protocol, final, overload

#: Characters of one log message kept when the host logs it (``_ratelimit.MAX_LINE``).
_MAX_LINE = 2000

__all__ = [
    "CapabilityBackend",
    "HttpClient",
    "HttpResponse",
    "PluginContext",
    "PluginLogger",
    "PluginProxy",
]


@final
class HttpResponse:
    """A finished HTTP response as the host received it (body already capped in size)."""

    __slots__ = ("content", "headers", "status", "url")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes, url: str) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.content = content
        self.url = url

    @property
    def text(self) -> str:
        """The body decoded with the charset of ``content-type`` (UTF-8 by default)."""
        return self.content.decode(_charset(self.headers.get("content-type", "")), "replace")

    def json(self) -> Any:
        import json  # on first use: a sandbox worker that never parses JSON skips it

        return json.loads(self.content)

    @property
    def ok(self) -> bool:
        """True for 2xx and 3xx statuses."""
        return 200 <= self.status < 400

    def __repr__(self) -> str:
        return f"<HttpResponse {self.status} {self.url}>"


def _charset(content_type: str) -> str:
    for part in content_type.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


class CapabilityBackend(Protocol):
    """Performs checked capability requests for one plugin (host broker or IPC client)."""

    def http_request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float | None,
    ) -> HttpResponse: ...

    def secret(self, name: str) -> str | None: ...

    def check_read(self, path: str) -> str: ...

    def call_plugin(self, name: str, method: str, args: list[Any]) -> Any: ...


@final
class HttpClient:
    """``ctx.http``: requests only to granted hosts, performed and checked by the host."""

    __slots__ = ("_backend",)

    def __init__(self, backend: CapabilityBackend) -> None:
        self._backend = backend

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        content: bytes | str | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> HttpResponse:
        """Send a request; raises ``PermissionDenied`` (WF301) for an ungranted host."""
        hdrs = {str(k): str(v) for k, v in (headers or {}).items()}
        body: bytes | None
        if json is not None:
            import json as _json

            body = _json.dumps(json).encode()
            hdrs.setdefault("content-type", "application/json")
        elif isinstance(content, str):
            body = content.encode()
        else:
            body = content
        if params:
            from urllib.parse import urlencode

            url = f"{url}{'&' if '?' in url else '?'}{urlencode(dict(params))}"
        return self._backend.http_request(method.upper(), url, hdrs, body, timeout)

    def get(self, url: str, **kw: Any) -> HttpResponse:
        """``request("GET", url, ...)``."""
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> HttpResponse:
        """``request("POST", url, ...)``."""
        return self.request("POST", url, **kw)


@final
class PluginProxy:
    """``ctx.plugin(name)``: a declared dependency whose methods run through the host."""

    __slots__ = ("_backend", "_name")

    def __init__(self, backend: CapabilityBackend, name: str) -> None:
        self._backend = backend
        self._name = name

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args: Any) -> Any:
            return self._backend.call_plugin(self._name, method, list(args))

        return call

    def __repr__(self) -> str:
        return f"<plugin {self._name!r} via host>"


@final
class PluginLogger:
    """``ctx.log``: a logger bound to the plugin that takes structured fields.

    Example:
        ``ctx.log.info("fetched page", page=3, items=50)`` logs
        ``fetched page page=3 items=50`` with the fields kept on the record (``fields``).
    """

    __slots__ = ("_limiter", "_logger", "plugin")

    def __init__(self, logger: logging.Logger, plugin: str, limiter: Any = None) -> None:
        self._logger = logger
        self.plugin = plugin
        self._limiter = limiter  # the host's LogLimiter for this plugin, in the host process

    def log(self, level: int, msg: object, *args: object, **fields: Any) -> None:
        if not self._logger.isEnabledFor(level):
            return
        if self._limiter is not None:
            if not self._limiter.allow():
                return
            self._limiter.report(self._logger)
        exc_info = fields.pop("exc_info", None)
        text = str(msg) % args if args else str(msg)
        if self._limiter is not None:  # in the host: secrets masked, then the line bounded
            redactor = self._limiter.redactor
            text = redactor.text(text) if redactor else text
            if len(text) > _MAX_LINE:
                text = f"{text[:_MAX_LINE]}… [{len(text) - _MAX_LINE} more characters]"
        if fields:
            text += " " + " ".join(f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}"
                                   for k, v in fields.items())  # fmt: skip
        self._logger.log(
            level, text, exc_info=exc_info, extra={"fields": {"plugin": self.plugin, **fields}}
        )

    def debug(self, msg: object, *args: object, **fields: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **fields)

    def info(self, msg: object, *args: object, **fields: Any) -> None:
        self.log(logging.INFO, msg, *args, **fields)

    def warning(self, msg: object, *args: object, **fields: Any) -> None:
        self.log(logging.WARNING, msg, *args, **fields)

    def error(self, msg: object, *args: object, **fields: Any) -> None:
        self.log(logging.ERROR, msg, *args, **fields)

    def exception(self, msg: object, *args: object, **fields: Any) -> None:
        fields.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **fields)

    def critical(self, msg: object, *args: object, **fields: Any) -> None:
        self.log(logging.CRITICAL, msg, *args, **fields)


@final
class PluginContext:
    """The capabilities a plugin was granted; nothing ambient beyond them.

    Attributes:
        name: the plugin's name.
        config: the validated config object (an instance of the plugin's ``Config``).
        log: a logger bound to the plugin.
        data_dir: the plugin's private, writable directory.
        http: HTTP client limited to granted hosts (permission ``network``).
    """

    __slots__ = ("_backend", "config", "data_dir", "http", "log", "name")

    def __init__(
        self,
        *,
        name: str,
        config: Any,
        data_dir: Path,
        backend: CapabilityBackend,
        log: logging.Logger | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.data_dir = data_dir
        self.log = PluginLogger(
            log or logging.getLogger(f"wiseflow.plugin.{name}"),
            name,
            getattr(backend, "limiter", None),
        )
        self.http = HttpClient(backend)
        self._backend = backend

    def secret(self, name: str, default: str | None = None) -> str | None:
        """A granted secret (permission ``env``); ``default`` when granted but unset."""
        value = self._backend.secret(name)
        return default if value is None else value

    def check_path(self, path: str | Path) -> Path:
        """``path`` resolved (symlinks followed) if it lies under a granted root, else WF301."""
        return Path(self._backend.check_read(str(path)))

    def read_path(self, path: str | Path) -> bytes:
        """The bytes of a file under a granted ``fs_read`` root (or the data dir)."""
        return self.check_path(path).read_bytes()

    @overload
    def open(self, path: str | Path, mode: Literal["r"], encoding: str = ...) -> IO[str]: ...
    @overload
    def open(self, path: str | Path, mode: Literal["rb"] = ...) -> IO[bytes]: ...
    def open(self, path: str | Path, mode: str = "rb", encoding: str = "utf-8") -> IO[Any]:
        """Open a file under a granted root for reading (``"rb"`` or ``"r"``)."""
        if mode not in ("r", "rb"):
            from ._errors import PermissionDenied

            raise PermissionDenied(
                f"ctx.open only reads (mode {mode!r}); write under ctx.data_dir",
                plugin=self.name,
                permission="fs_write",
            )
        resolved = self.check_path(path)
        if mode == "rb":
            return resolved.open("rb")
        return resolved.open("r", encoding=encoding)

    def plugin(self, name: str) -> PluginProxy:
        """A declared dependency, called through the host (permission: ``requires``)."""
        return PluginProxy(self._backend, name)
