"""Row 1 of bench/core.py: the same records, generator to SQLite, each side a process.

Every contender is a fresh process (or a pipeline of two) timed from spawn to exit, and
every figure is checked: a run that did not store all the records raises :class:`BenchError`.

- wiseflow: the real CLI, ``wiseflow run pipeline.toml --json``, with a generator connector
  written here into a plugin folder (``--plugin-dir``), the level granted through
  ``--config wiseflow.toml``, and a fresh ``--data-dir`` per run.
- Singer SDK: a tap (one Stream yielding the same items) piped into a target built on the
  SDK's SQL classes writing SQLite, both run by singer-sdk installed into a throwaway venv
  under ~/.cache/wiseflow-bench/ (created once, reused; never a project dependency).
- raw sqlite3: a python process generating the same rows and executemany'ing them, one
  transaction per 500 rows, WAL, synchronous=NORMAL (as the store), with or without the
  store's indexes.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

SINGER_VERSION = "0.54.9"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wiseflow-bench"
N_RECORDS = 100_000
BATCH = 500

# The items every side produces: one source text, pasted into the wiseflow plugin, the Singer
# tap and the raw SQLite child, so that all of them generate exactly the same data.
GEN = '''
from datetime import datetime, timedelta, timezone

_T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
_TEXT = "lorem ipsum dolor sit amet " * 6


def items(n):
    """(id, title, text, url, author, tags, time) of n ~300-byte items."""
    for i in range(n):
        yield (f"rec-{i:08d}", f"Title number {i} of the benchmark", _TEXT,
               f"https://example.org/items/{i}", "someone", ["a", "b"],
               _T0 + timedelta(seconds=i))
'''
_ns: dict[str, Any] = {}
exec(GEN, _ns)  # the bench process uses the very same generator (row 2, record size)
items: Callable[[int], Iterator[tuple[Any, ...]]] = _ns["items"]

GEN_PLUGIN = (
    GEN
    + """
import msgspec
from wiseflow import Checkpoint, ConnectorPlugin, Record


class Gen(ConnectorPlugin):
    class Config(msgspec.Struct, frozen=True):
        count: int = 100000

    def fetch(self, state):
        src, n = self.ctx.name, self.ctx.config.count
        for id_, title, text, url, author, tags, t in items(n):
            yield Record(id=id_, source=src, kind="article", title=title, text=text, url=url,
                         author=author, tags=tuple(tags), time=t)
        yield Checkpoint(state={"done": n})
"""
)
PING_PLUGIN = """
from wiseflow import ProcessorPlugin


class Ping(ProcessorPlugin):
    def process(self, batch):
        return batch

    def ping(self, x):
        return x
"""
MANIFEST = """[plugin]
name = "{name}"
version = "1.0.0"
kind = "{kind}"
entry = "{name}:{cls}"
api = ">=1,<2"
description = "issue-11 benchmark plugin"

[plugin.resources]
timeout_s = 600
"""
PIPELINE = f"""[pipeline]
name = "bench-core"
batch_size = {BATCH}

[[sources]]
plugin = "benchgen"
name = "gen"
config = {{ count = {{n}} }}
"""
RAW_CHILD = (
    GEN
    + """
import json, sqlite3, sys
path, n, ddl = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
conn = sqlite3.connect(path, isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = NORMAL")
for statement in ddl:
    conn.execute(statement)
sql = ("INSERT INTO records (source, id, kind, time, title, text, url, author, tags, data,"
       " annotations, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
dumps, rows = json.JSONEncoder(separators=(",", ":")).encode, []
for id_, title, text, url, author, tags, t in items(n):
    rows.append(("gen", id_, "article", t.isoformat(), title, text, url, author, dumps(tags),
                 "{}", "{}", 1))
    if len(rows) == 500:
        conn.execute("BEGIN"); conn.executemany(sql, rows); conn.execute("COMMIT"); rows = []
if rows:
    conn.execute("BEGIN"); conn.executemany(sql, rows); conn.execute("COMMIT")
conn.close()
"""
)
TAP = """
import sys
from singer_sdk import Stream, Tap
from singer_sdk import typing as th


class Items(Stream):
    name = "records"
    primary_keys = ("id",)
    schema = th.PropertiesList(
        th.Property("id", th.StringType, required=True),
        th.Property("title", th.StringType),
        th.Property("text", th.StringType),
        th.Property("url", th.StringType),
        th.Property("author", th.StringType),
        th.Property("tags", th.ArrayType(th.StringType)),
        th.Property("time", th.DateTimeType),
    ).to_dict()
    keys = ("id", "title", "text", "url", "author", "tags", "time")

    def get_records(self, context):
        for item in items(self.config["count"]):
            yield dict(zip(self.keys, item))


class BenchTap(Tap):
    name = "tap-bench"
    config_jsonschema = th.PropertiesList(
        th.Property("count", th.IntegerType, required=True)).to_dict()

    def discover_streams(self):
        return [Items(self)]


if __name__ == "__main__":
    BenchTap.cli()
"""
# The SDK ships no SQLite target: this is its documented sample, plus tags encoded as JSON
# text (its generic insert binds every column as a string, as wiseflow's store does too).
TARGET = """
import json
from singer_sdk import SQLConnector, SQLSink, SQLTarget
from singer_sdk import typing as th


class SQLiteConnector(SQLConnector):
    allow_temp_tables = False
    allow_column_alter = False
    allow_merge_upsert = True
    allow_overwrite = True

    def get_sqlalchemy_url(self, config):
        return f"sqlite:///{config['path']}"


class SQLiteSink(SQLSink):
    connector_class = SQLiteConnector

    def preprocess_record(self, record, context):
        record["tags"] = json.dumps(record.get("tags"))
        return record


class BenchTarget(SQLTarget):
    name = "target-bench-sqlite"
    default_sink_class = SQLiteSink
    max_parallelism = 1
    config_jsonschema = th.PropertiesList(
        th.Property("path", th.StringType, required=True)).to_dict()


if __name__ == "__main__":
    BenchTarget.cli()
"""


def record_bytes() -> tuple[float, float]:
    """Mean size of an item: its field values as stored, and as a JSON object (Singer)."""
    keys = ("id", "title", "text", "url", "author", "tags", "time")
    values = objects = 0
    for it in items(1000):
        values += sum(len(v if isinstance(v, str) else json.dumps(v, default=str)) for v in it)
        objects += len(json.dumps(dict(zip(keys, it, strict=True)), default=str))
    return values / 1000, objects / 1000


class BenchError(Exception):
    """A measurement could not be taken (reported, exit 1): never turned into a number."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def write_plugins(root: Path) -> Path:
    plugins = root / "plugins"
    for name, kind, cls, code in (
        ("benchgen", "connector", "Gen", GEN_PLUGIN),
        ("benchping", "processor", "Ping", PING_PLUGIN),
    ):
        (plugins / name).mkdir(parents=True, exist_ok=True)
        (plugins / name / "plugin.toml").write_text(MANIFEST.format(name=name, kind=kind, cls=cls))
        (plugins / name / f"{name}.py").write_text(code)
    return plugins


def count_rows(db: Path, table: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def timed(argv: list[str], **kw: Any) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.perf_counter()
    done = subprocess.run(argv, check=False, text=True, **kw)
    return time.perf_counter() - t, done


# -- row 1: whole processes ----------------------------------------------------------------


def wiseflow_argv() -> list[str]:
    script = Path(sys.executable).parent / "wiseflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "wiseflow"]


def run_wiseflow(root: Path, level: str, n: int, src: Path | None = None) -> float:
    """Records/s of `wiseflow run pipeline.toml --json`, fresh data dir, at ``level``
    (``n == 0``: the seconds of the whole process instead). ``src``: run the wiseflow whose
    package is in that folder (``PYTHONPATH``; a baseline measured side by side)."""
    (root / f"{level}.toml").write_text(f'[policy]\nlevel = "{level}"\n')
    name = f"pipeline-{n}.toml"
    (root / name).write_text(PIPELINE.replace("{n}", str(n)))
    data = root / f"data-{level}"
    shutil.rmtree(data, ignore_errors=True)
    argv = [*wiseflow_argv(), "run", name, "--json", "--config", f"{level}.toml"]
    argv += ["--plugin-dir", "plugins", "--data-dir", str(data)]
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    seconds, done = timed(argv, cwd=root, capture_output=True, env=env)
    try:
        stored = json.loads(done.stdout)["records"]["stored"]
    except (ValueError, KeyError, TypeError):
        stored = None
    if done.returncode != 0 or stored != n or count_rows(data / "wiseflow.db", "records") != n:
        raise BenchError(
            f"wiseflow run ({level}) stored {stored} of {n} records, exit {done.returncode}:\n"
            f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    shutil.rmtree(data, ignore_errors=True)
    return n / seconds if n else seconds


def run_python(root: Path) -> float:
    """Seconds of `python -c "import sqlite3"`: an interpreter's start and exit."""
    seconds, done = timed([sys.executable, "-c", "import sqlite3"], cwd=root)
    if done.returncode != 0:
        raise BenchError("python -c 'import sqlite3' failed")
    return seconds


def singer_python() -> Path:
    """The Python of a throwaway venv holding singer-sdk, created once and then reused."""
    venv = CACHE / f"singer-{SINGER_VERSION}"
    python = venv / "bin" / "python"
    if python.exists():
        return python
    log(f"installing singer-sdk=={SINGER_VERSION} into {venv} (once) ...")
    partial = venv.with_name(venv.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(partial)], check=True)
    pip = [str(partial / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    got = subprocess.run([*pip, f"singer-sdk=={SINGER_VERSION}"], capture_output=True, text=True)
    if got.returncode != 0:
        raise BenchError(f"pip install singer-sdk failed: {got.stderr[-1000:]}")
    partial.rename(venv)  # complete or absent: a broken install is never reused
    return python


def run_singer(root: Path, python: Path, n: int) -> float:
    """Records/s of `tap --config | target --config` (two processes), spawn to both exits."""
    (root / "tap.py").write_text(GEN + TAP)
    (root / "target.py").write_text(TARGET)
    db = root / "singer.db"
    db.unlink(missing_ok=True)
    (root / "tap.json").write_text(json.dumps({"count": n}))
    (root / "target.json").write_text(json.dumps({"path": str(db)}))
    with open(root / "singer.log", "w") as logs:
        t = time.perf_counter()
        tap = subprocess.Popen(
            [python, "tap.py", "--config", "tap.json"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=logs,
        )
        target = subprocess.Popen(
            [python, "target.py", "--config", "target.json"],
            cwd=root,
            stdin=tap.stdout,
            stdout=subprocess.DEVNULL,
            stderr=logs,
        )
        assert tap.stdout is not None
        tap.stdout.close()  # the target alone holds the read end: the tap sees its exit
        codes = (tap.wait(), target.wait())
        seconds = time.perf_counter() - t
    got = count_rows(db, "records") if db.exists() else 0
    if codes != (0, 0) or got != n:
        tail = (root / "singer.log").read_text()[-2000:]
        raise BenchError(f"Singer tap|target exited {codes}, {got} of {n} rows:\n{tail}")
    return n / seconds


def run_raw(root: Path, ddl: list[str], n: int) -> float:
    """Rows/s of a python process generating the rows and executemany'ing them."""
    db = root / "raw.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    argv = [sys.executable, "-c", RAW_CHILD, str(db), str(n), json.dumps(ddl)]
    seconds, done = timed(argv, cwd=root, capture_output=True)
    if done.returncode != 0 or count_rows(db, "records") != n:
        raise BenchError(f"raw sqlite3 child failed: {done.stderr[-2000:]}")
    return n / seconds


#: Row 1's contenders that a baseline (``--baseline SRC``) runs too, and the empty runs.
LEVELS = ("sandboxed", "trusted")
BASELINE = " (baseline)"
EMPTY = "wiseflow run, {level}, 0 records"
PYTHON = "python -c 'import sqlite3'"


def measure_processes(
    root: Path,
    ddl: tuple[str, list[str]],
    rounds: int,
    singer: bool,
    baseline: Path | None = None,
) -> dict[str, Any]:
    """Interleaved rounds of every contender; ``ddl``: the store's records table, indexes.
    Each wiseflow contender also runs an empty source (startup and exit, in seconds), and
    with ``baseline``, the wiseflow in that source folder runs all of them too."""
    table, indexes = ddl
    contenders: dict[str, Callable[[], float]] = {}
    for src, suffix in ((None, ""), *(((baseline, BASELINE),) if baseline else ())):
        for level in LEVELS:
            contenders[f"wiseflow run, {level}{suffix}"] = partial(
                run_wiseflow, root, level, N_RECORDS, src
            )
            contenders[EMPTY.format(level=level) + suffix] = partial(
                run_wiseflow, root, level, 0, src
            )
    contenders |= {
        PYTHON: partial(run_python, root),
        "raw sqlite3 executemany": lambda: run_raw(root, [table], N_RECORDS),
        "raw sqlite3 + the store's indexes": lambda: run_raw(root, [table, *indexes], N_RECORDS),
    }
    errors = []
    if singer:
        try:
            python = singer_python()
            contenders["Singer SDK tap | SQL target"] = lambda: run_singer(root, python, N_RECORDS)
        except (BenchError, OSError, subprocess.CalledProcessError) as exc:
            errors.append(f"Singer SDK: {exc}")
    else:
        errors.append("Singer SDK: skipped (--skip-singer)")
    samples: dict[str, list[float]] = {k: [] for k in contenders}
    for r in range(rounds):
        for label, fn in contenders.items():
            samples[label].append(fn())
            unit = "s" if "0 records" in label or label == PYTHON else "rec/s"
            log(f"  round {r + 1}/{rounds}: {label}: {samples[label][-1]:,.3g} {unit}")
    return {"samples": samples, "errors": errors}
