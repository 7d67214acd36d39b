"""The client's side: a python-tuf ``Updater`` over one repository URL, and its errors.

TUF verifies every metadata file (signatures by the pinned root's keys, versions never
going back, expiry) and every target (length and SHA-256) before a byte of it is used.
Its failures become wiseflow errors (SPEC §14): a bad signature, an untrusted key, a
rollback or a freeze WF304; a hash or length mismatch WF603; an unreachable repository
WF601 naming the URL; a target the signed metadata does not list WF602.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from .._contract._errors import ConfigError, RepositoryError, SignatureInvalid, WiseflowError
from ._index import INDEX_TARGET, IndexDoc, load_index, state_dir

if TYPE_CHECKING:
    from tuf.ngclient import Updater

__all__ = ["Client", "Progress", "need_tuf", "normalise_url", "target_cap"]

#: (what, bytes so far, total or None): called as a download advances.
Progress = Callable[[str, int, int | None], None]
_TIMEOUT_S = 20.0
#: A download slower than this on average, once :data:`_GRACE_S` have passed, has stalled:
#: the per-read timeout alone lets a server trickle a byte every 19 s for ever. TUF bounds
#: the length, so with both a download's time is bounded too.
_MIN_RATE = 4096.0  # bytes per second
_GRACE_S = 30.0


def need_tuf() -> None:
    """A clear error where the ``repo`` extra (python-tuf, cryptography) is not installed."""
    try:
        import cryptography  # noqa: F401
        import tuf.ngclient  # noqa: F401
    except ImportError as exc:
        raise RepositoryError(
            f"plugin repositories need python-tuf and cryptography: {exc}",
            code="WF600",
            hint="install them with `pip install 'wiseflow[repo]'`",
        ) from None


def normalise_url(url: str, base: Path | None = None) -> str:
    """``http(s)://host[:port]/path/`` (scheme and host lower case, one trailing slash);
    a local folder or ``file://`` URL becomes ``file://<absolute folder>/``."""
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        netloc = parsed.netloc.lower()
        path = parsed.path.rstrip("/") + "/"
        return f"{parsed.scheme}://{netloc}{path}"
    if parsed.scheme == "file":
        folder = Path(unquote(parsed.path))
    elif parsed.scheme == "" or len(parsed.scheme) == 1:  # a path (or a Windows drive)
        folder = Path(url).expanduser()
        if not folder.is_absolute() and base is not None:
            folder = base / folder
    else:
        raise RepositoryError(
            f"repository URL {url!r} is neither http(s), file:// nor a folder",
            plugin=url,
            code="WF601",
            hint="set [repository] url in wiseflow.toml",
        )
    return f"file://{os.path.abspath(folder).rstrip('/')}/"


def _fetcher(progress: Progress | None) -> Any:
    import httpx
    from tuf.api.exceptions import DownloadError, DownloadHTTPError, SlowRetrievalError
    from tuf.ngclient import FetcherInterface

    class Fetcher(FetcherInterface):
        """HTTP(S) with a deadline on every read, and ``file://``; reports progress."""

        def __init__(self) -> None:
            self.client = httpx.Client(timeout=_TIMEOUT_S, follow_redirects=False)

        def _fetch(self, url: str) -> Iterator[bytes]:
            name = url.rsplit("/", 1)[-1]
            if url.startswith("file://"):
                try:
                    fh = open(unquote(urlparse(url).path), "rb")  # noqa: SIM115
                except FileNotFoundError:
                    raise DownloadHTTPError(f"{url} does not exist", 404) from None
                except OSError as exc:
                    raise DownloadError(f"cannot read {url}: {exc}") from None
                size = os.fstat(fh.fileno()).st_size
                return self._chunks(name, size, iter(lambda: fh.read(1 << 16), b""), fh.close)
            try:
                resp = self.client.send(self.client.build_request("GET", url), stream=True)
            except httpx.TimeoutException:
                raise SlowRetrievalError(f"{url}: no answer within {_TIMEOUT_S} s") from None
            except httpx.HTTPError as exc:
                raise DownloadError(f"{url}: {type(exc).__name__}: {exc}") from None
            if resp.status_code != 200:
                resp.close()
                raise DownloadHTTPError(f"{url}: HTTP {resp.status_code}", resp.status_code)
            length = resp.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            # chunks as they arrive (a fixed size would wait for 64 KiB: no rate check)
            return self._chunks(name, total, resp.iter_bytes(), resp.close, rated=True)

        def _chunks(
            self,
            name: str,
            total: int | None,
            it: Iterator[bytes],
            close: Callable[[], None],
            *,
            rated: bool = False,
        ) -> Iterator[bytes]:
            done = 0
            start = time.monotonic()
            try:
                for chunk in it:
                    done += len(chunk)
                    elapsed = time.monotonic() - start
                    if rated and elapsed > _GRACE_S and done < _MIN_RATE * elapsed:
                        raise SlowRetrievalError(
                            f"{name}: the download stalled ({done} bytes in {elapsed:.0f} s)"
                        )
                    if progress is not None:
                        progress(name, done, total)
                    yield chunk
            except httpx.TimeoutException:
                raise SlowRetrievalError(f"{name}: the download stalled") from None
            except httpx.HTTPError as exc:
                raise DownloadError(f"{name}: {exc}") from None
            finally:
                close()

    return Fetcher()


def translate(exc: Exception, url: str, what: str) -> WiseflowError:
    """The wiseflow error for a python-tuf failure while ``what`` (metadata, a target)."""
    from tuf.api import exceptions as tx

    text = str(exc)[:300] or type(exc).__name__
    if isinstance(exc, (tx.LengthOrHashMismatchError, tx.DownloadLengthMismatchError)):
        return RepositoryError(
            f"{what} from {url} does not match the signed metadata: {text}",
            plugin=url,
            code="WF603",
            hint="the file was altered on the server or on the way; nothing was installed. "
            "Tell the repository's publisher",
        )
    if isinstance(exc, tx.DownloadError):
        cause = exc.__cause__ or exc.__context__
        detail = f"{text} ({cause})" if cause else text
        return RepositoryError(
            f"repository {url} is unreachable: {detail[:400]}",
            plugin=url,
            code="WF601",
            hint="check [repository] url in wiseflow.toml and the network, then try again",
        )
    if isinstance(exc, tx.RepositoryError):
        kind = {
            tx.UnsignedMetadataError: "is not signed by the keys the pinned root trusts",
            tx.BadVersionNumberError: "is older than what this host saw before (a rollback)",
            tx.EqualVersionNumberError: "is older than what this host saw before (a rollback)",
            tx.ExpiredMetadataError: "has expired (a freeze attack, or an unmaintained repo)",
        }.get(type(exc), "failed verification")
        return SignatureInvalid(
            f"the metadata of repository {url} {kind}: {text}",
            plugin=url,
            code="WF304",
            hint="nothing was installed; check [repository] root is the root you meant to "
            "pin and tell the repository's publisher",
        )
    return RepositoryError(f"repository {url}: {type(exc).__name__}: {text}", plugin=url)


def target_cap(target: str) -> int:
    """The most bytes ``target`` may be: what the index or a plugin wheel may hold once
    read (a stored zip is its files plus headers). A larger target would be refused after
    the download, which TUF spools whole (a signed length of 50 GB filled the disk first)."""
    from ._index import MAX_INDEX_BYTES
    from ._wheel import MAX_FILES, MAX_TOTAL

    if target == INDEX_TARGET:
        return MAX_INDEX_BYTES
    return MAX_TOTAL + MAX_FILES * 1024  # headers: ~100 bytes and two names per member


class Client:
    """One repository as TUF sees it; client state in ``<data_dir>/repository/<key>/``.

    Args:
        url: the normalised repository URL.
        root: the pinned root metadata (used the first time; later TUF's own copy).
        data_dir: the data dir.
        progress: download progress callback.
    """

    def __init__(
        self, url: str, root: Path | None, data_dir: Path, progress: Progress | None = None
    ) -> None:
        self.url = url
        self.root = root
        self.state = state_dir(data_dir, url)
        self.progress = progress
        self._updater: Updater | None = None

    def _open(self) -> Updater:
        if self._updater is not None:
            return self._updater
        need_tuf()
        meta = self.state / "metadata"
        bootstrap = None
        if not (meta / "root.json").exists():
            if self.root is None:
                raise SignatureInvalid(
                    f"no trusted root is pinned for repository {self.url}",
                    plugin=self.url,
                    hint="set [repository] root in wiseflow.toml to the root metadata file "
                    "its publisher gave you (DIR/metadata/1.root.json)",
                )
            try:
                bootstrap = self.root.read_bytes()
            except OSError as exc:  # the operator's path is wrong: bad input, not a bad key
                raise ConfigError(
                    f"the pinned root {self.root} cannot be read: {exc.strerror or exc}",
                    plugin=str(self.root),
                    hint="check [repository] root in wiseflow.toml",
                ) from None
        meta.mkdir(parents=True, exist_ok=True)
        from tuf.ngclient import Updater

        try:
            self._updater = Updater(
                metadata_dir=str(meta),
                metadata_base_url=self.url + "metadata/",
                target_base_url=self.url + "targets/",
                fetcher=_fetcher(self.progress),
                bootstrap=bootstrap,
            )
        except Exception as exc:
            raise translate(exc, self.url, "the pinned root") from None
        return self._updater

    def index(self) -> IndexDoc:
        """Refresh the metadata (TUF) and return the verified index; keep a copy for the
        kill switch."""
        updater = self._open()
        try:
            updater.refresh()
        except Exception as exc:
            raise translate(exc, self.url, "metadata") from None
        tmp = self.state / f".{INDEX_TARGET}.{os.getpid()}.tmp"
        self.download(INDEX_TARGET, tmp)
        try:
            doc = load_index(tmp.read_bytes())
        except ValueError as exc:
            tmp.unlink(missing_ok=True)
            raise RepositoryError(
                f"the index of repository {self.url} is not valid: {str(exc)[:300]}",
                plugin=self.url,
                hint="tell the repository's publisher",
            ) from None
        os.replace(tmp, self.state / INDEX_TARGET)
        return doc

    def download(self, target: str, dest: Path) -> Path:
        """Download ``target`` to ``dest`` once TUF verified its length and hash."""
        updater = self._open()
        try:
            info = updater.get_targetinfo(target)
        except Exception as exc:
            raise translate(exc, self.url, f"target {target!r}") from None
        if info is None:
            raise RepositoryError(
                f"repository {self.url} does not list {target!r} in its signed metadata",
                plugin=self.url,
                code="WF602",
                hint="the index names a file the repository did not sign; tell its publisher",
            )
        cap = target_cap(target)
        if info.length > cap:
            raise RepositoryError(
                f"repository {self.url} signs {target[:200]!r} as {info.length} bytes, more "
                f"than any valid {'index' if target == INDEX_TARGET else 'plugin wheel'} "
                f"({cap} bytes); nothing was downloaded",
                plugin=self.url,
                code="WF603",
                hint="the repository is not usable as it is; tell its publisher",
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            got = updater.download_target(info, filepath=str(dest))
        except Exception as exc:
            raise translate(exc, self.url, f"target {target!r}") from None
        return Path(got)

    def forget(self) -> None:
        """Drop the client state (tests, a repository reset by its operator)."""
        shutil.rmtree(self.state, ignore_errors=True)
