"""Read ``<root>/*/changelog.Debian.gz`` files, incrementally by file modification time."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec

from wiseflow import Checkpoint, ConfigError, ConnectorPlugin, PluginContext, Record

from ._parse import Entry, parse_changelog

__all__ = ["DebianChangelogConnector"]


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Configuration of ``debian-changelog``.

    Attributes:
        root: directory holding ``*/changelog.Debian.gz`` (e.g. ``/usr/share/doc``).
        max_entries_per_file: newest entries kept per file; 0 keeps all (default 0).
    """

    root: Annotated[
        str,
        msgspec.Meta(
            description="directory holding `*/changelog.Debian.gz`; relative to the pipeline file"
        ),
    ] = "/usr/share/doc"
    max_entries_per_file: Annotated[
        int, msgspec.Meta(ge=0, description="newest entries kept per file; 0 keeps all")
    ] = 0


class DebianChangelogConnector(ConnectorPlugin):
    """One ``changelog-entry`` record per entry; id ``<package>/<version>``.

    The checkpoint remembers every file's mtime: a re-run reads only new or changed
    files, and a file whose entries were all delivered is never read again.
    """

    Config = Config

    def initialize(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config: Config = ctx.config
        self.skipped = 0

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        root = self.ctx.check_path(self.config.root)
        if not root.is_dir():
            raise ConfigError(
                f"config.root: {self.config.root} is not a directory",
                plugin=self.ctx.name,
                hint="set root to an existing directory in the pipeline file",
            )
        seen_mtimes: dict[str, int] = dict((state or {}).get("mtimes", {}))
        current: dict[str, int] = {}
        files = sorted(root.glob("*/changelog.Debian.gz"))
        yielded: set[str] = set()
        contents: set[bytes] = set()
        for path in files:
            rel = path.parent.name
            try:
                mtime = path.stat().st_mtime_ns
            except OSError:
                continue
            if seen_mtimes.get(rel) == mtime:
                current[rel] = mtime
                continue
            try:
                raw = self.ctx.read_path(path)
                digest = hashlib.blake2b(raw, digest_size=16).digest()
                if digest in contents:  # the same changelog shipped by several packages
                    current[rel] = mtime
                    continue
                contents.add(digest)
                text = gzip.decompress(raw).decode("utf-8", "replace")
            except (OSError, EOFError, zlib.error) as exc:
                self.ctx.log.warning("skipping unreadable %s: %s", path, exc)
                self.skipped += 1
                current[rel] = mtime
                continue
            count = 0
            for entry in parse_changelog(text, lambda p, v: f"{p}/{v}" in yielded):
                if isinstance(entry, str):
                    self.skipped += 1
                    continue
                rid = f"{entry.package}/{entry.version}"
                if rid in yielded:  # the same source changelog shipped by several packages
                    continue
                yielded.add(rid)
                yield self._record(entry, rid, rel)
                count += 1
                if self.config.max_entries_per_file and count >= self.config.max_entries_per_file:
                    break
            current[rel] = mtime
            # Everything of this file is yielded: files not yet visited keep their old mtime.
            yield Checkpoint(state={"mtimes": {**seen_mtimes, **current}})
        # Files that disappeared are forgotten.
        yield Checkpoint(state={"mtimes": current})

    def _record(self, e: Entry, rid: str, directory: str) -> Record:
        first = next((line for line in e.text.splitlines() if line.strip()), "")
        return Record(
            id=rid,
            source=self.ctx.name,
            kind="changelog-entry",
            time=e.date,
            title=f"{e.package} {e.version}: {first.lstrip('* ').strip()}"[:200],
            text=e.text,
            author=e.author,
            tags=(e.urgency, e.distribution),
            data={
                "package": e.package,
                "version": e.version,
                "distribution": e.distribution,
                "urgency": e.urgency,
                "author": e.author,
                "email": e.email,
                "date": e.date.isoformat(),
                "directory": directory,
            },
        )
