"""``wiseflow plugins new``: an installable plugin project that passes its own checks.

``DIR/NAME/`` gets a ``pyproject.toml`` (setuptools, the ``wiseflow.plugins`` entry point,
``plugin.toml`` as package data), ``src/wiseflow_<name>/`` (the class and its manifest),
``tests/test_wiseflow_<name>.py`` (unique per plugin, so two generated projects in one
folder collect side by side) and a README. As generated it passes ``wiseflow plugins
check``, ``wiseflow plugins test`` and its own tests, and ``pip install -e`` works.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .._contract._errors import DuplicatePlugin, ManifestError, WiseflowError
from .._contract._manifest import NAME_RE
from .._contract._version import __version__

if TYPE_CHECKING:
    from .._host._manager import PluginManager

__all__ = ["class_name", "scaffold", "taken_names"]

KINDS = ("connector", "processor", "analyzer")

_CONNECTOR = '''class {cls}(ConnectorPlugin):
    """TODO: what this connector fetches, and from where."""

    class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
        count: Annotated[
            int, msgspec.Meta(ge=0, description="How many items to fetch per run.")
        ] = 3

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        """Yield records; yield a Checkpoint when everything before it is delivered."""
        config: {cls}.Config = self.ctx.config
        done = int((state or {{}}).get("done", 0))
        for i in range(done, done + config.count):
            yield Record(id=str(i), source=self.ctx.name, title=f"item {{i}}")
        yield Checkpoint(state={{"done": done + config.count}})
'''

_PROCESSOR = '''class {cls}(ProcessorPlugin):
    """TODO: what this processor changes in each record."""

    class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
        min_length: Annotated[
            int, msgspec.Meta(ge=0, description="Shorter texts are marked short.")
        ] = 10

    def process(self, batch: list[Record]) -> list[Record]:
        """Return the batch annotated; keep each record's id and source."""
        config: {cls}.Config = self.ctx.config
        return [
            r.annotate(self.ctx.name, {{"short": len(r.text) < config.min_length}})
            for r in batch
        ]
'''

_ANALYZER = '''class {cls}(AnalyzerPlugin):
    """TODO: what this analyzer finds in the records it is given."""

    class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
        top: Annotated[
            int, msgspec.Meta(ge=1, description="How many record kinds to rank.")
        ] = 10

    def initialize(self, ctx: PluginContext) -> None:
        super().initialize(ctx)
        self.kinds: Counter[str] = Counter()

    def analyze(self, batch: list[Record]) -> None:
        """Take in one batch (called once per batch, streaming)."""
        self.kinds.update(r.kind for r in batch)

    def result(self) -> dict[str, Any]:
        """A JSON-compatible summary, after the last batch."""
        config: {cls}.Config = self.ctx.config
        return {{
            "records": sum(self.kinds.values()),
            "kinds": dict(self.kinds.most_common(config.top)),
        }}
'''

_IMPORTS = {
    "connector": "from collections.abc import Iterator\nfrom typing import Annotated, Any\n\n"
    "import msgspec\nfrom wiseflow import Checkpoint, ConnectorPlugin, Record",
    "processor": "from typing import Annotated\n\n"
    "import msgspec\nfrom wiseflow import ProcessorPlugin, Record",
    "analyzer": "from collections import Counter\nfrom typing import Annotated, Any\n\n"
    "import msgspec\nfrom wiseflow import AnalyzerPlugin, PluginContext, Record",
}

_BODIES = {"connector": _CONNECTOR, "processor": _PROCESSOR, "analyzer": _ANALYZER}

_TESTS = {
    "connector": '''@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_fetches_items_and_resumes_after_its_checkpoint(level: str) -> None:
    """It yields `count` items, and a second run resumes after them."""
    first = run_plugin(PLUGIN, {{"count": 2}}, level=level)
    assert [r.id for r in first.records] == ["0", "1"]
    assert all(r.source == NAME for r in first.records)
    state = first.checkpoints[-1].state
    again = run_plugin(PLUGIN, {{"count": 2}}, level=level, state=state)
    assert [r.id for r in again.records] == ["2", "3"]
''',
    "processor": '''@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_marks_short_texts(level: str) -> None:
    """Short texts are annotated as short; ids and sources stay as they were."""
    records = [
        Record(id="1", source="t", text="hi"),
        Record(id="2", source="t", text="a longer text than ten characters"),
    ]
    out = run_plugin(PLUGIN, {{"min_length": 10}}, records=records, level=level)
    assert [(r.id, r.source) for r in out.records] == [("1", "t"), ("2", "t")]
    marks = [r.annotations[NAME]["short"] for r in out.records]
    assert marks == [True, False]
''',
    "analyzer": '''@pytest.mark.parametrize("level", ["trusted", "sandboxed"])
def test_counts_records_by_kind(level: str) -> None:
    """The result counts every record it was given, by kind."""
    records = [
        Record(id="1", source="t", kind="issue"),
        Record(id="2", source="t", kind="issue"),
        Record(id="3", source="t", kind="commit"),
    ]
    out = run_plugin(PLUGIN, {{"top": 5}}, records=records, level=level)
    assert out.result == {{"records": 3, "kinds": {{"issue": 2, "commit": 1}}}}
''',
}


def class_name(name: str, kind: str) -> str:
    """``my-connector`` → ``MyConnector``; ``github`` (connector) → ``GithubConnector``."""
    parts = [p for p in name.split("-") if p]
    if parts[-1] != kind:
        parts.append(kind)
    return "".join(p[:1].upper() + p[1:] for p in parts)


def taken_names(pm: PluginManager) -> dict[str, str]:
    """Plugin names already on offer (bundled, installed, plugin folders) → where from."""
    return {c.manifest.name: c.describe() for c in pm.discover().candidates}


def scaffold(name: str, kind: str, parent: Path, *, taken: Iterable[str] = ()) -> Path:
    """Create the project ``parent/name`` for a plugin ``name`` of ``kind``; its folder.

    Raises:
        ManifestError: WF101 for a name that is not a valid plugin name.
        DuplicatePlugin: WF104 when ``name`` is in ``taken`` (bundled or installed).
        WiseflowError: when ``parent/name`` already exists or cannot be written.
    """
    if not NAME_RE.match(name) or keyword.iskeyword(name.replace("-", "_")):
        raise ManifestError(
            f"{name!r} is not a valid plugin name",
            code="WF101",
            hint="use lower-case letters, digits and dashes, starting with a letter",
        )
    if kind not in KINDS:
        raise ManifestError(
            f"unknown kind {kind!r}", code="WF101", hint="use connector, processor or analyzer"
        )
    taken = dict.fromkeys(taken) if not isinstance(taken, dict) else taken
    if name in taken:
        owner = taken[name] if isinstance(taken, dict) and taken[name] else "another plugin"
        raise DuplicatePlugin(
            f"a plugin named '{name}' already exists: {owner}",
            plugin=name,
            hint="choose another name: a second plugin of the same name would be refused "
            "(WF104) wherever both are installed",
        )
    folder = parent / name
    if folder.exists():
        raise WiseflowError(
            f"{folder} already exists",
            code="WF101",
            plugin=name,
            hint="choose another name or --dir",
        )
    pkg = "wiseflow_" + name.replace("-", "_")
    cls = class_name(name, kind)
    entry = f"{pkg}.{kind}:{cls}"
    files = {
        "pyproject.toml": _pyproject(name, pkg, entry),
        "README.md": _readme(name, kind, pkg, cls),
        f"src/{pkg}/__init__.py": (
            f'"""{name}: a wiseflow {kind}."""\n\nfrom .{kind} import {cls}\n\n'
            f'__all__ = ["{cls}"]\n'
        ),
        f"src/{pkg}/{kind}.py": (
            f'"""{name}: a wiseflow {kind}."""\n\n{_IMPORTS[kind]}\n\n\n'
            + _BODIES[kind].format(cls=cls)
        ),
        f"src/{pkg}/plugin.toml": _manifest(name, kind, entry),
        f"tests/test_{pkg}.py": _tests(name, kind, pkg),
    }
    try:
        for rel, text in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:  # --dir is a file, read-only, ...: bad input, not a crash
        raise WiseflowError(
            f"cannot create {folder}: {exc.strerror or exc}",
            code="WF101",
            plugin=name,
            hint="give --dir a folder you can write to",
        ) from None
    return folder


def _pyproject(name: str, pkg: str, entry: str) -> str:
    api = ".".join(__version__.split(".")[:2])
    return f'''[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "wiseflow-{name}"
version = "0.1.0"
description = "TODO: one line saying what {name} does"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["wiseflow>={api}"]

[project.optional-dependencies]
test = ["pytest>=8"]

# how wiseflow finds the plugin once installed (name = plugin name, value = module:Class)
[project.entry-points."wiseflow.plugins"]
{name} = "{entry}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
{pkg} = ["plugin.toml"]

[tool.pytest.ini_options]
testpaths = ["tests"]
filterwarnings = ["error"]
'''


def _manifest(name: str, kind: str, entry: str) -> str:
    return f'''[plugin]
name = "{name}"
version = "0.1.0"
kind = "{kind}"
entry = "{entry}"
api = ">=1,<2"
description = "TODO: one line saying what {name} does"

# what the plugin asks for; the operator grants it (`wiseflow plugins grant {name}`)
[plugin.permissions]
network = []
env = []
fs_read = []
fs_write = []
subprocess = false

[plugin.resources]
memory_mb = 256
cpu_seconds = 60
timeout_s = 30
max_open_files = 64
'''


def _tests(name: str, kind: str, pkg: str) -> str:
    record = "from wiseflow import Record\n" if kind != "connector" else ""
    return f'''"""Tests for {name}, with wiseflow's testing kit."""

from pathlib import Path

import pytest
{record}from wiseflow.testing import conformance, run_plugin

PROJECT = Path(__file__).resolve().parents[1]
#: The folder holding plugin.toml: run as wiseflow runs it (installed or not).
PLUGIN = PROJECT / "src" / "{pkg}"
NAME = "{name}"


{_TESTS[kind].format()}

def test_passes_the_conformance_suite() -> None:
    """`wiseflow plugins test` passes: manifest, config, contract, permissions."""
    report = conformance(PLUGIN)
    assert report.ok, report.describe()
'''


def _readme(name: str, kind: str, pkg: str, cls: str) -> str:
    return f"""# {name}

A [wiseflow](https://pypi.org/project/wiseflow/) {kind} plugin (`{cls}` in
`src/{pkg}/{kind}.py`, manifest in `src/{pkg}/plugin.toml`).

## Develop

```console
$ pip install -e '.[test]'          # installs the `wiseflow.plugins` entry point
$ wiseflow plugins check .          # manifest, interface, audit, config
$ wiseflow plugins test .           # the conformance suite, in a sandboxed worker
$ python -m pytest                  # tests/test_{pkg}.py, trusted and sandboxed
$ wiseflow plugins list             # {name} is listed, origin entry-point
```

Declare what the plugin needs under `[plugin.permissions]` in `plugin.toml` (hosts as
`host:port`, secrets by name); the operator grants it with `wiseflow plugins grant {name}`.
Test HTTP without a network with `run_plugin(..., http={{URL: BODY}})`.
"""
