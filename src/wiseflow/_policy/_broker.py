"""The host side of every capability: each request is checked against the grant, then done.

One :class:`Broker` per plugin instance. It serves trusted plugins directly and sandboxed
ones through the worker's IPC channel, so the same checks hold at every level. Every
decision is logged on ``wiseflow.grants`` (denials through the plugin's
:class:`~wiseflow._policy._ratelimit.LogLimiter`: a flood of denied requests is counted, not
written out); every denial raises :class:`~wiseflow.PermissionDenied` (WF301) and is counted.

The broker also tells the host what it handed out: granted secret values and the
``Authorization`` headers of brokered requests go to the manager's
:class:`~wiseflow._policy._redact.Redactor`, and the errors it raised are remembered
(:meth:`Broker.issued`) so that the host can tell its own verdict, passed on by the plugin,
from one the plugin made up.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, final
from urllib.parse import urljoin, urlsplit

from .._contract._context import HttpResponse
from .._contract._errors import PermissionDenied, TransientError, WiseflowError
from ._decoding import BoundedDecoder, DecodingFailed, Oversize
from ._grants import Effective
from ._ratelimit import LogLimiter
from ._redact import Redactor

__all__ = ["Broker", "HttpLimits"]

log = logging.getLogger("wiseflow.grants")

DependencyCall = Callable[[str, str, list[Any]], Any]
CALLABLE_ON_DEPENDENCY = frozenset({"process", "analyze", "result", "health", "check", "render"})


@final
class HttpLimits:
    """Caps on brokered HTTP: response bytes, seconds per request, redirects."""

    __slots__ = ("max_bytes", "max_redirects", "timeout_s")

    def __init__(
        self, *, max_bytes: int = 20 * 2**20, timeout_s: float = 30.0, max_redirects: int = 5
    ) -> None:
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.max_redirects = max_redirects


@final
class Broker:
    """Checks and performs capability requests for one plugin instance.

    Args:
        plugin: instance name, for messages and logs.
        permissions: the effective permissions (declared AND granted).
        data_dir: the instance's own directory (always readable), if it has one.
        requires: names of the plugin's declared dependencies.
        call_dependency: performs ``(name, method, args)`` on a dependency's handle.
        read_roots: further readable roots (e.g. the plugin's own code folder).
        http_transport: an ``httpx`` transport to send through instead of the network
            (``wiseflow.testing``'s fake HTTP). Every check still runs except the DNS
            lookup and its private-address rule: nothing is resolved or connected to.
        grant_name: the plugin's name in ``wiseflow plugins grant`` hints (default ``plugin``).
        level: its security level; at ``strict`` a hint names the level, since no grant
            gives a strict plugin network, secrets or subprocess.
    """

    def __init__(
        self,
        plugin: str,
        permissions: Effective,
        *,
        data_dir: str | None,
        requires: frozenset[str] = frozenset(),
        call_dependency: DependencyCall | None = None,
        read_roots: tuple[str, ...] = (),
        http_limits: HttpLimits | None = None,
        environ: dict[str, str] | None = None,
        redactor: Redactor | None = None,
        limiter: LogLimiter | None = None,
        http_transport: Any = None,
        grant_name: str | None = None,
        level: str = "sandboxed",
        protected: tuple[str, ...] = (),
    ) -> None:
        self.plugin = plugin
        #: the name the operator grants to (the manifest's; ``plugin`` may be an instance's)
        self.grant_name = grant_name or plugin
        self.level = level
        self.permissions = permissions
        own = tuple(os.path.realpath(r) for r in ((data_dir,) if data_dir else ()) + read_roots)
        self._roots = tuple(os.path.realpath(r) for r in permissions.fs_read) + own
        # the host's own folders (the data dir): no grant reaches them, only the plugin's own
        self._protected = tuple(os.path.realpath(p) for p in protected)
        self._own = own
        self._requires = requires
        self._call_dependency = call_dependency
        self._limits = http_limits or HttpLimits()
        self._environ = os.environ if environ is None else environ
        self.denials = 0
        self.grants = 0
        self._client: Any = None
        self.redactor = redactor if redactor is not None else Redactor()
        #: Everything the host logs on this plugin's behalf goes through this limiter.
        self.limiter = limiter if limiter is not None else LogLimiter(redactor=self.redactor)
        self._transport = http_transport
        self._issued: OrderedDict[tuple[str, str], WiseflowError] = OrderedDict()

    # -- what the host issued --------------------------------------------------------------

    def _issue(self, err: WiseflowError) -> WiseflowError:
        """Remember ``err`` as the host's own (the last 64 kept), and return it."""
        self._issued[(err.code, err.message)] = err
        self._issued.move_to_end((err.code, err.message))
        while len(self._issued) > 64:
            self._issued.popitem(last=False)
        return err

    def issued(self, err: WiseflowError) -> WiseflowError | None:
        """The error this broker raised that ``err`` is (or is a copy of), if any."""
        mine = self._issued.get((err.code, err.message))
        if mine is None or (err is not mine and type(err) is not type(mine)):
            return None
        return mine

    # -- decisions -------------------------------------------------------------------------

    def _deny(self, permission: str, what: str, hint: str) -> PermissionDenied:
        self.denials += 1
        self.limiter.emit(
            log, logging.WARNING, f"deny {self.plugin} {permission}: {_bounded(what)}"
        )
        who = f"plugin '{self.grant_name}'"
        if self.grant_name != self.plugin:  # the pipeline's name for it, or `dep@dependent`
            who += f" (instance '{self.plugin}')"
        err = PermissionDenied(
            f"{who} asked for {_bounded(what)}, which is not granted",
            plugin=self.plugin,
            permission=permission,
            hint=_bounded(hint, 600),
        )
        self._issue(err)
        return err

    def _grant_hint(self, permission: str, flags: str, *, declared: bool = True) -> str:
        """What gives the plugin ``permission``: a grant (``flags``), or leaving strict."""
        name = self.grant_name
        grant = f"`wiseflow plugins grant {name} {flags}`"
        if self.level == "strict" and permission in ("network", "env", "subprocess"):
            return (
                f"{name} runs at level strict, which never grants {permission}: set "
                f'level = "sandboxed" under [plugins.{name}] in wiseflow.toml, then run {grant}'
            )
        if not declared:
            return f"declare it in [plugin.permissions] {permission} of plugin.toml, then {grant}"
        return f"run {grant}"

    def _allow(self, permission: str, what: str) -> None:
        self.grants += 1
        if log.isEnabledFor(logging.DEBUG):
            line = f"allow {self.plugin} {permission}: {_bounded(what)}"
            self.limiter.emit(log, logging.DEBUG, line)

    # -- files -----------------------------------------------------------------------------

    def check_read(self, path: str) -> str:
        real = os.path.realpath(path)
        if any(_beneath(real, p) for p in self._protected) and not any(
            _beneath(real, o) for o in self._own
        ):
            raise self._deny(
                "fs_read",
                f"read access to {path!r} (resolves to {real!r}) in the host's data dir",
                "no grant reaches the host's data dir (the store, the logs, other plugins' "
                "data); a plugin keeps its own files in ctx.data_dir",
            )
        for granted in self._roots:
            if _beneath(real, granted):
                self._allow("fs_read", real)
                return real
        declared = [
            os.path.realpath(d.removeprefix("fs_read:"))
            for d in self.permissions.denied
            if d.startswith("fs_read:") and not d.endswith("(strict)")
        ]
        root = next((d for d in declared if real == d or real.startswith(d + "/")), None)
        hint = self._grant_hint("fs_read", f"--fs-read {root or 'DIR'}", declared=root is not None)
        if root is None:
            hint += (
                "; or, where fs_read names a config field ({root}), give the directory in "
                "the stage's config"
            )
        raise self._deny("fs_read", f"read access to {path!r} (resolves to {real!r})", hint)

    # -- secrets ---------------------------------------------------------------------------

    def secret(self, name: str) -> str | None:
        if name not in self.permissions.env:
            raise self._deny(
                "env",
                f"the secret {name!r}",
                self._grant_hint(
                    "env", f"--env {name}", declared=f"env:{name}" in self.permissions.denied
                ),
            )
        self._allow("env", name)
        value = self._environ.get(name)
        self.redactor.add(value)
        return value

    # -- dependencies ----------------------------------------------------------------------

    def call_plugin(self, name: str, method: str, args: list[Any]) -> Any:
        if name not in self._requires:
            raise self._deny(
                "requires",
                f"a call into plugin {name!r}, which it does not declare in [plugin.requires]",
                f"add {name} to [plugin.requires] of '{self.plugin}'",
            )
        if method not in CALLABLE_ON_DEPENDENCY:
            raise self._deny(
                "requires",
                f"method {method!r} of plugin {name!r}",
                f"callable methods: {', '.join(sorted(CALLABLE_ON_DEPENDENCY))}",
            )
        if self._call_dependency is None:
            raise self._deny("requires", f"plugin {name!r} (not loaded)", "load it first")
        self._allow("requires", f"{name}.{method}")
        try:
            return self._call_dependency(name, method, args)
        except WiseflowError as exc:  # the dependency's failure, as the host judged it
            self._issue(exc)
            raise

    # -- network ---------------------------------------------------------------------------

    def _check_url(self, url: str) -> tuple[str, int, str]:
        """(host, port, address to connect to) for a granted URL; WF301 otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self._deny("network", f"the URL {url!r}", "only http(s) URLs are supported")
        host = parts.hostname.lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        allowed = self.permissions.network
        if f"{host}:{port}" not in allowed and f"{host}:*" not in allowed:
            raise self._deny(
                "network",
                f"network access to {host}:{port}",
                self._grant_hint("network", f"--network {host}:{port}"),
            )
        if self._transport is not None:  # faked: nothing is resolved or connected to
            self._allow("network", f"{host}:{port}")
            return host, port, host
        explicit_ip = _is_ip(host) or host == "localhost"
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise TransientError(f"cannot resolve {host}: {exc}", plugin=self.plugin) from None
        if not infos:
            raise TransientError(f"cannot resolve {host}", plugin=self.plugin)
        for info in infos:
            addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not explicit_ip and (
                addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved
            ):
                raise self._deny(
                    "network",
                    f"{host}, which resolves to the private address {addr}",
                    "grant the address itself (e.g. 127.0.0.1:PORT) to allow a private host",
                )
        self._allow("network", f"{host}:{port}")
        return host, port, str(infos[0][4][0])

    def http_request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float | None,
    ) -> HttpResponse:
        self.redactor.add_authorization(headers)
        try:
            return self._http(method, url, headers, body, timeout)
        except WiseflowError as exc:
            self._issue(exc)
            raise

    def _http(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float | None,
    ) -> HttpResponse:
        import httpx

        if self._client is None:
            self._client = httpx.Client(
                follow_redirects=False, trust_env=False, transport=self._transport
            )
        limit = min(timeout or self._limits.timeout_s, self._limits.timeout_s)
        # One deadline for the whole exchange (redirects and a slow-drip body included):
        # httpx's timeouts are per read, so a server sending a byte a second never trips them.
        deadline = time.monotonic() + limit
        for _ in range(self._limits.max_redirects + 1):
            host, port, address = self._check_url(url)
            # Connect to the address that was checked, not to a second lookup of the name
            # (DNS rebinding); Host header and TLS server name stay the requested host.
            parts = urlsplit(url)
            shown = f"[{address}]" if ":" in address else address
            pinned = parts._replace(netloc=f"{shown}:{port}").geturl()
            sent = {**headers, "host": host if parts.port is None else f"{host}:{port}"}
            try:
                with self._client.stream(
                    method,
                    pinned,
                    headers=sent,
                    content=body,
                    timeout=max(0.01, deadline - time.monotonic()),
                    extensions={"sni_hostname": host},
                ) as resp:
                    # raw bytes, decoded here with a cap on every layer (_decoding): httpx's
                    # own decoding has none, and a gzip-in-gzip body is a bomb for the host
                    # (a response built in memory, as the testing kit's fakes are, holds its
                    # content already decoded, as httpx gives it)
                    loaded = resp.is_stream_consumed
                    encoding = "" if loaded else resp.headers.get("content-encoding", "")
                    decoder = BoundedDecoder(encoding, self._limits.max_bytes)
                    chunks: list[bytes] = []
                    try:
                        for raw in (resp.content,) if loaded else resp.iter_raw():
                            if time.monotonic() > deadline:
                                raise TransientError(
                                    f"HTTP exchange with {url} took longer than {limit:g}s in "
                                    "total",
                                    plugin=self.plugin,
                                    hint="the host bounds each brokered request by the plugin's "
                                    "timeout_s; the server is too slow",
                                )
                            chunks.append(decoder.decode(raw))
                        chunks.append(decoder.finish())
                    except Oversize:
                        raise self._deny(
                            "network",
                            f"a response over {self._limits.max_bytes} bytes from {url}",
                            "the host caps brokered responses (decoded); fetch less per request",
                        ) from None
                    except DecodingFailed as exc:
                        raise TransientError(
                            f"HTTP error for {url}: the body does not decode as its "
                            f"Content-Encoding says ({exc})",
                            plugin=self.plugin,
                        ) from None
                    status = resp.status_code
                    rheaders = {
                        k: v
                        for k, v in resp.headers.items()
                        if k.lower() not in ("content-encoding", "content-length")
                    }
            except httpx.TimeoutException as exc:
                raise TransientError(f"HTTP timeout for {url}: {exc}", plugin=self.plugin) from None
            except httpx.HTTPError as exc:
                raise TransientError(f"HTTP error for {url}: {exc}", plugin=self.plugin) from None
            location = rheaders.get("location")
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                if status == 303 or (status in (301, 302) and method == "POST"):
                    method, body = "GET", None
                continue
            return HttpResponse(status, rheaders, b"".join(chunks), url)
        raise self._deny("network", f"more than {self._limits.max_redirects} redirects", "")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _bounded(what: str, limit: int = 300) -> str:
    """A plugin-chosen part of a message, cut (a 64 KiB path must not make a 64 KiB error)."""
    return what if len(what) <= limit else f"{what[:limit]}… [{len(what) - limit} more]"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _beneath(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
