"""Read ``git log`` in a machine-readable format (field and record separators)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import msgspec

from wiseflow import Checkpoint, ConnectorPlugin, PluginContext, PluginError, Record

__all__ = ["GitConnector"]

_RS, _FS = "\x1e", "\x1f"
# hash, parents, author name, author email, author date (strict ISO), committer, subject, body
_FORMAT = f"{_RS}%H{_FS}%P{_FS}%an{_FS}%ae{_FS}%aI{_FS}%cn{_FS}%s{_FS}%b{_FS}"


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Configuration of ``git``.

    Attributes:
        repo: path of a local repository (default ``"."``).
        branch: revision to follow (default ``"HEAD"``).
        checkpoint_every: commits between checkpoints (default 200).
        max_commits: stop after this many commits per run; 0 = no limit (default 0).
    """

    repo: Annotated[
        str, msgspec.Meta(description="path of a local repository; relative to the pipeline file")
    ] = "."
    branch: Annotated[str, msgspec.Meta(description="revision to follow")] = "HEAD"
    checkpoint_every: Annotated[
        int, msgspec.Meta(ge=1, description="commits between checkpoints")
    ] = 200
    max_commits: Annotated[
        int, msgspec.Meta(ge=0, description="stop after this many commits per run; 0 = no limit")
    ] = 0


class GitConnector(ConnectorPlugin):
    """One ``commit`` record per commit, oldest first; resumes after the last one seen.

    Commits are listed parents-before-children (``--topo-order --reverse``), so every
    checkpoint's commit has all its ancestors delivered; ``<last>..<branch>`` then holds
    exactly what is left (sibling-branch commits may come again; the store keeps one).
    """

    Config = Config

    def initialize(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config: Config = ctx.config
        self.repo = str(ctx.check_path(self.config.repo))

    def _env(self) -> dict[str, str]:
        # No user or system git config: output format and paths must not depend on them.
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.ctx.data_dir),
            "LC_ALL": "C",
        }

    def _base(self) -> list[str]:
        # In a sandbox the worker's uid differs from the repository owner; git would refuse
        # it as "dubious ownership". The operator granted exactly this repository.
        return ["-C", self.repo, "-c", f"safe.directory={self.repo}"]

    def _git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *self._base(), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
            env=self._env(),
        )

    def check(self) -> None:
        done = self._git("rev-parse", "--verify", f"{self.config.branch}^{{commit}}")
        if done.returncode != 0:
            raise PluginError(
                f"{self.repo}: {self.config.branch!r} is not a commit: {done.stderr.strip()}",
                plugin="git",
                hint="set `repo` to a git repository and `branch` to an existing branch",
            )

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        self.check()
        last = (state or {}).get("last")
        if last and self._git("cat-file", "-e", f"{last}^{{commit}}").returncode != 0:
            self.ctx.log.warning(
                "last seen commit %s is gone (history rewritten); refetching", last
            )
            last = None
        rev = f"{last}..{self.config.branch}" if last else self.config.branch
        args = ["-c", "core.quotepath=off", "log", "--topo-order", "--reverse", "--no-color"]
        cmd = ["git", *self._base(), *args, f"--format={_FORMAT}", "--name-only", rev, "--"]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=self._env(),
        )
        assert proc.stdout is not None
        count = 0
        last_id = ""
        try:
            for chunk in _records(proc.stdout):
                record = self._record(chunk)
                if record is None:
                    continue
                yield record
                last_id = record.id
                count += 1
                if count % self.config.checkpoint_every == 0:
                    yield Checkpoint(state={"last": record.id})
                if self.config.max_commits and count >= self.config.max_commits:
                    yield Checkpoint(state={"last": record.id})
                    return
            if count:
                yield Checkpoint(state={"last": last_id})
        finally:
            proc.stdout.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stderr is not None:
                err = proc.stderr.read()
                proc.stderr.close()
                if proc.returncode not in (0, -9) and err:
                    self.ctx.log.warning("git log: %s", err.strip())

    def _record(self, chunk: str) -> Record | None:
        parts = chunk.split(_FS)
        if len(parts) < 9:
            return None
        sha, parents, name, email, date, committer, subject, body, rest = parts[:9]
        files = [f for f in rest.split("\n") if f.strip()]
        try:
            when = datetime.fromisoformat(date)
        except ValueError:
            return None
        message = subject if not body.strip() else f"{subject}\n\n{body.strip()}"
        return Record(
            id=sha,
            source=self.ctx.name,
            kind="commit",
            time=when,
            title=subject,
            text=message,
            author=name,
            data={
                "hash": sha,
                "parents": parents.split(),
                "author": name,
                "email": email,
                "committer": committer,
                "date": when.isoformat(),
                "files": files,
                "files_changed": len(files),
                "merge": len(parents.split()) > 1,
            },
        )


def _records(stream: Any) -> Iterator[str]:
    """Split ``git log`` output on the record separator without reading it all."""
    buf = ""
    while True:
        block = stream.read(65536)
        if not block:
            break
        buf += block
        *done, buf = buf.split(_RS)
        for chunk in done:
            if chunk.strip():
                yield chunk
    if buf.strip():
        yield buf
