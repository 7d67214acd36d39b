"""The publisher's side: a TUF repository of plugin wheels, as static files (SPEC §14).

Layout of the served folder ``DIR``::

    DIR/metadata/1.root.json           the root the operators pin (and later roots)
    DIR/metadata/N.targets.json        targets: every wheel and the index, by hash
    DIR/metadata/N.snapshot.json
    DIR/metadata/timestamp.json
    DIR/targets/<sha256>.<name>        the target files (consistent snapshots)

Nothing else is served. What the next ``repo publish`` signs, the draft, lives beside
``DIR`` in ``DIR.draft.json``: unsigned and never read by clients, it would otherwise show
anyone who can fetch ``DIR`` the yanks and blocks (their reasons) before they are published.
A draft an earlier version left in ``DIR/draft.json`` is moved out when next read.
Keys (one Ed25519 key per role, PEM, mode 0600) live in ``KEYDIR`` (default ``DIR.keys``),
never inside ``DIR``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from .._contract._errors import ConfigError, RepositoryError, SignatureInvalid
from ._client import need_tuf
from ._index import INDEX_TARGET, REASON_MAX, Block, IndexDoc, VersionEntry, load_index
from ._wheel import read_wheel

if TYPE_CHECKING:
    from securesystemslib.signer import CryptoSigner

__all__ = ["add_wheels", "block", "draft_path", "init_repo", "keys_dir", "publish", "yank"]

ROLES = ("root", "targets", "snapshot", "timestamp")
#: Where earlier versions kept the draft: inside the served folder.
LEGACY_DRAFT = "draft.json"
ROOT_DAYS = 365


def keys_dir(repo: Path, keys: Path | None) -> Path:
    """``KEYDIR``, default ``DIR.keys`` beside ``DIR``; refused inside ``DIR``."""
    out = (keys or repo.with_name(repo.name + ".keys")).resolve()
    if out == repo.resolve() or repo.resolve() in out.parents:
        raise ConfigError(
            f"the keys folder {out} is inside the served folder {repo}",
            plugin=str(out),
            hint="keep private keys outside the folder you publish: use --keys elsewhere",
        )
    return out


def draft_path(repo: Path) -> Path:
    """``DIR.draft.json`` beside the served folder ``DIR`` (never inside it)."""
    repo = repo.resolve()
    return repo.with_name(repo.name + ".draft.json")


def _expiry(days: float) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _save_md(md: Any, path: Path) -> None:
    from tuf.api.serialization.json import JSONSerializer

    _write(path, md.to_bytes(JSONSerializer(compact=False)))


def _signer(keys: Path, role: str) -> CryptoSigner:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner

    path = keys / f"{role}.pem"
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigError(
            f"no {role} key at {path}",
            plugin=str(path),
            hint="pass the folder `wiseflow repo init` wrote the keys to with --keys",
        ) from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not a private key: {exc}", plugin=str(path)) from None
    return CryptoSigner(key)


def init_repo(repo: Path, keys: Path | None = None, expires_days: float = ROOT_DAYS) -> Path:
    """Create ``repo`` (metadata, targets, an empty signed index) and its keys.

    Returns the root metadata file operators pin (``repo/metadata/1.root.json``).
    """
    need_tuf()
    from securesystemslib.signer import CryptoSigner
    from tuf.api.metadata import Metadata, Root

    kdir = keys_dir(repo, keys)
    if (repo / "metadata").exists() or any((kdir / f"{r}.pem").exists() for r in ROLES):
        raise ConfigError(
            f"{repo} (or its keys in {kdir}) already holds a repository",
            plugin=str(repo),
            hint="choose a new folder; `wiseflow repo publish` updates an existing one",
        )
    (repo / "metadata").mkdir(parents=True)
    (repo / "targets").mkdir()
    kdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = Root(expires=_expiry(expires_days), consistent_snapshot=True)
    signers = {}
    for role in ROLES:
        signer = CryptoSigner.generate_ed25519()
        fd = os.open(kdir / f"{role}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(signer.private_bytes)
        root.add_key(signer.public_key, role)
        signers[role] = signer
    md = Metadata(root)
    md.sign(signers["root"])
    _save_md(md, repo / "metadata" / "1.root.json")
    _save_draft(repo, IndexDoc())
    publish(repo, kdir)
    return repo / "metadata" / "1.root.json"


def _draft(repo: Path) -> IndexDoc:
    path = draft_path(repo)
    legacy = repo / LEGACY_DRAFT
    if legacy.is_file() and (repo / "metadata").is_dir() and not path.exists():
        os.replace(legacy, path)  # out of the served tree (see the module)
    try:
        return load_index(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(
            f"{repo} is not a repository made by `wiseflow repo init`",
            plugin=str(repo),
            hint="run `wiseflow repo init DIR` first",
        ) from None
    except ValueError as exc:  # msgspec.DecodeError is a ValueError
        raise ConfigError(
            f"the draft {path} is not a valid index: {str(exc)[:300]}",
            plugin=str(path),
            hint="fix or remove the entry it names (the draft is JSON); then publish again",
        ) from None


def _save_draft(repo: Path, doc: IndexDoc) -> None:
    _write(draft_path(repo), msgspec.json.format(msgspec.json.encode(doc)))


def _target_path(repo: Path, name: str, data: bytes) -> Path:
    return repo / "targets" / f"{hashlib.sha256(data).hexdigest()}.{name}"


def add_wheels(repo: Path, wheels: list[Path]) -> list[tuple[str, str]]:
    """Add plugin wheels to the draft (copied into ``targets/``); (name, version) each."""
    doc = _draft(repo)
    added = []
    for wheel in wheels:
        try:
            info = read_wheel(wheel)
        except RepositoryError as exc:  # the publisher's own wheel: not "ask its publisher"
            exc.hint = (
                "build the wheel again (`python -m build --wheel` in the plugin's project) "
                "and add that one; the draft is unchanged"
            )
            raise
        m = info.manifest
        data = wheel.read_bytes()
        target = wheel.name
        shutil.copyfile(wheel, _target_path(repo, target, data))
        perms = m.permissions
        listed = [f"network:{v}" for v in perms.network] + [f"env:{v}" for v in perms.env]
        listed += [f"fs_read:{v}" for v in perms.fs_read]
        listed += [f"fs_write:{v}" for v in perms.fs_write]
        if perms.subprocess:
            listed.append("subprocess")
        doc.plugins.setdefault(m.name, {})[m.version] = VersionEntry(
            wheel=target,
            manifest=info.manifest_text,
            kind=m.kind,
            api=m.api,
            python=m.python or "",
            requires={r.name: r.version for r in m.requires if not r.optional},
            permissions=tuple(listed),
            description=m.description or "",
            python_requires=info.requires_dist,
        )
        added.append((m.name, m.version))
    _save_draft(repo, doc)
    return added


def yank(repo: Path, name: str, version: str, reason: str) -> None:
    """Mark a version yanked in the draft (never chosen by resolution)."""
    doc = _draft(repo)
    entry = doc.plugins.get(name, {}).get(version)
    if entry is None:
        raise RepositoryError(
            f"the repository has no {name} {version}",
            plugin=name,
            code="WF602",
            hint="see the versions with `wiseflow plugins search`",
        )
    doc.plugins[name][version] = msgspec.structs.replace(
        entry, yanked=True, reason=reason[:REASON_MAX]
    )
    _save_draft(repo, doc)


def block(repo: Path, name: str, spec: str, reason: str) -> None:
    """Add a blocklist rule to the draft: never installed, disabled where installed."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        raise ConfigError(
            f"{spec!r} is not a version range", plugin=name, hint='e.g. "<1.2" or "==1.0.3"'
        ) from None
    doc = _draft(repo)
    doc.blocked.append(Block(name=name, spec=spec, reason=reason[:REASON_MAX]))
    _save_draft(repo, doc)


def _current(repo: Path) -> tuple[int, int, int]:
    """Versions of the published (targets, snapshot, timestamp); zeros when none."""
    from tuf.api.metadata import Metadata, Snapshot, Timestamp

    path = repo / "metadata" / "timestamp.json"
    if not path.exists():
        return 0, 0, 0
    ts = Metadata[Timestamp].from_file(str(path)).signed
    snap_v = ts.snapshot_meta.version
    snap = Metadata[Snapshot].from_file(str(repo / "metadata" / f"{snap_v}.snapshot.json"))
    return snap.signed.meta["targets.json"].version, snap_v, ts.version


def publish(repo: Path, keys: Path | None = None, expires_days: float = 7.0) -> int:
    """Sign the draft: new targets (wheels + index), snapshot and timestamp metadata.

    Returns the new targets version.
    """
    need_tuf()
    from tuf.api.metadata import Metadata, MetaFile, Snapshot, TargetFile, Targets, Timestamp

    kdir = keys_dir(repo, keys)
    doc = _draft(repo)
    index = msgspec.json.format(msgspec.json.encode(doc))
    targets: dict[str, TargetFile] = {}
    for versions in doc.plugins.values():
        for entry in versions.values():
            matches = sorted((repo / "targets").glob(f"*.{entry.wheel}"))
            found = [p for p in matches if p.name.split(".", 1)[1] == entry.wheel]
            if not found:
                raise RepositoryError(f"the wheel {entry.wheel} is missing from {repo}/targets")
            data = found[-1].read_bytes()
            if _target_path(repo, entry.wheel, data) != found[-1]:
                raise RepositoryError(f"{found[-1]} does not match its hash", code="WF603")
            targets[entry.wheel] = TargetFile.from_data(entry.wheel, data, ["sha256"])
    _write(_target_path(repo, INDEX_TARGET, index), index)
    targets[INDEX_TARGET] = TargetFile.from_data(INDEX_TARGET, index, ["sha256"])
    t_v, s_v, ts_v = _current(repo)
    expires = _expiry(expires_days)
    try:
        signers = {r: _signer(kdir, r) for r in ("targets", "snapshot", "timestamp")}
        tmd = Metadata(Targets(version=t_v + 1, expires=expires, targets=targets))
        tmd.sign(signers["targets"])
        _save_md(tmd, repo / "metadata" / f"{t_v + 1}.targets.json")
        smd = Metadata(
            Snapshot(version=s_v + 1, expires=expires, meta={"targets.json": MetaFile(t_v + 1)})
        )
        smd.sign(signers["snapshot"])
        _save_md(smd, repo / "metadata" / f"{s_v + 1}.snapshot.json")
        tsmd = Metadata(
            Timestamp(version=ts_v + 1, expires=expires, snapshot_meta=MetaFile(s_v + 1))
        )
        tsmd.sign(signers["timestamp"])
    except ConfigError:
        raise
    except Exception as exc:
        raise SignatureInvalid(f"signing {repo} failed: {exc}", plugin=str(repo)) from None
    _save_md(tsmd, repo / "metadata" / "timestamp.json")  # last: clients see all or nothing
    return t_v + 1
