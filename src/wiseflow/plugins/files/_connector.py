"""Walk ``root`` for files matching glob patterns; HTML becomes text with selectolax."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec

from wiseflow import (
    Checkpoint,
    ConfigError,
    ConnectorPlugin,
    PermissionDenied,
    PluginContext,
    Record,
)

__all__ = ["FilesConnector"]

_MD_TITLE = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Configuration of ``files``.

    Attributes:
        root: directory to read.
        patterns: globs relative to ``root`` (default ``["**/*.md", "**/*.txt", "**/*.html"]``).
        max_bytes: larger files are skipped (default 5 MB).
        checkpoint_every: files between checkpoints (default 100).
    """

    root: Annotated[
        str, msgspec.Meta(description="directory to read; relative to the pipeline file")
    ]
    patterns: Annotated[
        list[str], msgspec.Meta(description="globs relative to `root` of the files to read")
    ] = msgspec.field(default_factory=lambda: ["**/*.md", "**/*.txt", "**/*.html"])
    max_bytes: Annotated[
        int, msgspec.Meta(ge=0, description="larger files are skipped (bytes)")
    ] = 5_000_000
    checkpoint_every: Annotated[
        int, msgspec.Meta(ge=1, description="files between checkpoints")
    ] = 100


def _html(raw: str) -> tuple[str, str]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(raw)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node is not None else ""
    for node in tree.css("script, style, noscript, template, nav, footer"):
        node.decompose()
    body = tree.body or tree.root
    text = body.text(separator="\n", strip=True) if body is not None else ""
    return title, text


class FilesConnector(ConnectorPlugin):
    """One ``document`` record per file; id = path relative to ``root``.

    The checkpoint maps each path to its mtime; unchanged files are not read again.
    """

    Config = Config

    def initialize(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config: Config = ctx.config

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        root = self.ctx.check_path(self.config.root)
        if not root.is_dir():
            raise ConfigError(
                f"config.root: {self.config.root} is not a directory",
                plugin=self.ctx.name,
                hint="set root to an existing directory in the pipeline file",
            )
        old: dict[str, int] = dict((state or {}).get("mtimes", {}))
        paths: set[Path] = set()
        for pattern in self.config.patterns:
            paths.update(p for p in root.glob(pattern) if p.is_file())
        current: dict[str, int] = {}
        for n, path in enumerate(sorted(paths), 1):
            rel = path.relative_to(root).as_posix()
            try:
                st = path.stat()
            except OSError:
                continue
            current[rel] = st.st_mtime_ns
            if old.get(rel) == st.st_mtime_ns or st.st_size > self.config.max_bytes:
                continue
            try:
                raw = self.ctx.read_path(path).decode("utf-8", "replace")
            except OSError as exc:
                self.ctx.log.warning("skipping %s: %s", rel, exc)
                continue
            except PermissionDenied:  # a file of the host's data dir: the host said so
                continue
            yield self._record(rel, path, raw, st.st_mtime)
            if n % self.config.checkpoint_every == 0:
                yield Checkpoint(state={"mtimes": {**old, **current}})
        yield Checkpoint(state={"mtimes": current})

    def _record(self, rel: str, path: Path, raw: str, mtime: float) -> Record:
        suffix = path.suffix.lower()
        if suffix in (".html", ".htm", ".xhtml"):
            title, text = _html(raw)
            fmt = "html"
        else:
            text = raw
            m = _MD_TITLE.search(raw) if suffix in (".md", ".markdown") else None
            title = m.group(1) if m else ""
            fmt = "markdown" if suffix in (".md", ".markdown") else "text"
        return Record(
            id=rel,
            source=self.ctx.name,
            kind="document",
            time=datetime.fromtimestamp(mtime, UTC),
            title=title or path.stem,
            text=text,
            url=path.as_uri(),
            data={"path": rel, "format": fmt, "bytes": len(raw.encode())},
        )
