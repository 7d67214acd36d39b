"""Run a pipeline in a subprocess so a test can SIGKILL it mid-run, at a point it names.

Usage::

    python crash_driver.py ROOT DATA_DIR BATCH_SIZE [--commit-rows N] [--count N]
                           [--stop POINT:K]

Without ``--count`` the source is the changelogs under ROOT (``debian-changelog``) and a
slow processor; with it, ``count`` numbered records with a checkpoint after each, and a
processor that dead-letters every record whose number is a multiple of 7. Prints
``batch N`` after each stored batch (flushed), then ``done STORED DUPLICATES FETCHED``.

``--stop POINT:K`` prints ``stop POINT`` and blocks (for the test's SIGKILL) the K-th time
the store reaches POINT: ``batch`` (a batch was written into the open transaction, not yet
committed), ``checkpoint`` (a batch's records are written, its checkpoint not yet),
``commit`` (a commit is about to run), ``committed`` (a commit returned: the test may cut
the WAL inside it, as a kill while writing it would), ``finish`` (inside ``finish_run``,
the run's last writes not yet committed), ``checkpointed`` (the store's thread has copied
the log back into the database K times, and a batch was written into the open transaction
since). Commits happen only by size (``--commit-rows``) and at ``finish_run``: no timer,
so the K-th commit is the same in every run. The log is copied back only at a
``checkpointed`` stop (by the store's thread; never by the writer).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from wiseflow import Checkpoint, ConnectorPlugin, ProcessorPlugin, Record, SkipRecord
from wiseflow._pipeline import LocalBackend, LocalStage, local_stage, parse_pipeline, run_pipeline
from wiseflow._pipeline._summary import RunSummary
from wiseflow._store import Store
from wiseflow._store._group import Group
from wiseflow._store._wal import Checkpointer


class Slow(ProcessorPlugin):
    """Takes a little time per batch so the run lasts long enough to be killed."""

    def process(self, batch: list[Record]) -> list[Record]:
        time.sleep(0.01)
        return batch


class Numbers(ConnectorPlugin):
    """``count`` records ``r00000``, ``r00001``, ... with a checkpoint after each."""

    count = 0

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        for i in range(int((state or {}).get("next", 0)), self.count):
            yield Record(id=f"r{i:05d}", source="n", title=f"number {i}", data={"i": i})
            yield Checkpoint(state={"next": i + 1})


class Sevens(ProcessorPlugin):
    """Dead-letters every record whose number is a multiple of 7."""

    def process(self, batch: list[Record]) -> list[Record]:
        for r in batch:
            if r.data["i"] % 7 == 0:
                raise SkipRecord(r.id, "a multiple of 7")
        return batch


def _stop(point: str) -> None:
    print(f"stop {point}", flush=True)
    threading.Event().wait()  # until the test's SIGKILL


def _install(point: str, k: int) -> None:
    """Block the K-th time the store reaches ``point`` (see the module docstring)."""
    seen = 0
    finishing = False

    def hit(name: str) -> None:
        nonlocal seen
        if name == point:
            seen += 1
            if seen == k:
                _stop(point)

    def wrap(owner: type, name: str, before: Callable[[], None], after: Callable[[], None]) -> None:
        original = getattr(owner, name)

        def hooked(*args: Any, **kw: Any) -> Any:
            before()
            result = original(*args, **kw)
            after()
            return result

        setattr(owner, name, hooked)

    def on_finish() -> None:
        nonlocal finishing
        finishing = True

    def before_commit() -> None:
        if finishing:
            hit("finish")
        hit("commit")

    copied = threading.Event()
    checkpoint = Checkpointer._checkpoint

    def checkpointed(self: Checkpointer, conn: Any) -> int:
        pages = checkpoint(self, conn)
        if pages and point == "checkpointed":
            nonlocal seen
            seen += 1
            if seen == k:
                copied.set()  # the writer stops after its next batch
        return pages

    def after_batch() -> None:
        hit("batch")
        if copied.is_set():
            _stop(point)

    commit = Group._commit

    def commit_then_copy(self: Group) -> None:
        """Commit, then wait for the store's thread to copy that commit back: the K-th
        copy is then the same in every run."""
        wal, rows = getattr(self.on_commit, "__self__", None), self.pending
        runs = wal.runs if isinstance(wal, Checkpointer) else 0
        commit(self)
        if rows and isinstance(wal, Checkpointer):
            assert wal.wait(runs + 1, timeout=60), "the store's thread never checkpointed"

    if point == "checkpointed":
        setattr(Group, "_commit", commit_then_copy)  # noqa: B010
    nothing: Callable[[], None] = lambda: None  # noqa: E731
    wrap(Store, "_save_checkpoint", lambda: hit("checkpoint"), nothing)
    wrap(Group, "_commit", before_commit, lambda: hit("committed"))
    wrap(Store, "finish_run", on_finish, nothing)
    wrap(Store, "write_rows", nothing, after_batch)
    setattr(Checkpointer, "_checkpoint", checkpointed)  # noqa: B010


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("data", type=Path)
    ap.add_argument("batch", type=int)
    ap.add_argument("--commit-rows", type=int, default=1)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--stop", default="")
    args = ap.parse_args()
    root, data, batch = args.root, args.data, args.batch
    if args.stop:
        point, _, k = args.stop.partition(":")
        _install(point, int(k))
    text = (
        f'[pipeline]\nname = "crash"\nbatch_size = {batch}\nqueue_batches = 2\n'
        f'[[sources]]\nplugin = "debian-changelog"\nname = "cl"\nconfig = {{ root = "{root}" }}\n'
        '[[processors]]\nplugin = "text"\n[[processors]]\nplugin = "slow"\n'
    )
    pipeline = parse_pipeline(text)
    if args.count:
        Numbers.count = args.count
        source = _stage(Numbers(), "n", data)
        processors = [_stage(Sevens(), "sevens", data)]
    else:
        source = local_stage("debian-changelog", name="cl", config={"root": str(root)},
                             data_dir=data)  # fmt: skip
        processors = [local_stage("text", data_dir=data), _stage(Slow(), "slow", data)]
    # No timer commits: a kill point counted in commits is the same one in every run.
    background = args.stop.startswith("checkpointed")
    store = Store.open(
        data, commit_rows=args.commit_rows, commit_seconds=3600.0, background_checkpoints=background
    )
    store._conn.execute("PRAGMA wal_autocheckpoint = 0")  # the WAL keeps every commit
    n = 0

    def progress(summary: RunSummary) -> None:
        nonlocal n
        n += 1
        print(f"batch {n}", flush=True)

    s = run_pipeline(pipeline, store, [source], processors, [], progress=progress)
    store.close()
    print(f"done {s.stored} {s.duplicates} {s.fetched}", flush=True)


def _stage(obj: Any, name: str, data: Path) -> LocalStage:
    return LocalStage(obj, name=name, plugin=name, config={}, data_dir=data / name,
                      backend=LocalBackend(name))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
