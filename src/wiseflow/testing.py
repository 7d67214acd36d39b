"""A testing kit for plugin authors, also registered as a pytest plugin (``wiseflow``).

Run a plugin through the real host (lifecycle, config validation, grants, the broker,
and at level ``sandboxed`` a real confined worker) without scanning entry points::

    from wiseflow.testing import run_plugin

    def test_my_processor():
        out = run_plugin(MyProcessor, records=[Record(id="1", source="t", text="x")])
        assert out.records[0].annotations["mine"]

    def test_my_connector_in_its_sandbox():
        out = run_plugin(
            "src/my_connector",                       # the folder holding plugin.toml
            {"repo": "octo/demo"},
            level="sandboxed",
            http={"https://api.example.org/items": '[{"id": 1}]'},
        )
        assert [r.id for r in out.records] == ["1"]

Fixtures: ``wiseflow_manager`` — a factory ``(*plugin_classes, **options) -> PluginManager``
whose managers use a temporary data dir and are closed after the test;
``wiseflow_conformance`` — runs :func:`conformance` and fails the test on a failed check.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._contract._errors import SkipRecord
from ._contract._record import Checkpoint, Record
from ._host._conformance import CheckResult, ConformanceReport, conformance

if TYPE_CHECKING:  # the manager is imported on first use: this module loads in every pytest
    import httpx

    from ._host._assembly import PluginSpec
    from ._host._kit import HttpAnswer, PluginTarget
    from ._host._manager import PluginManager
    from ._policy._operator import OperatorConfig

__all__ = [
    "CheckResult",
    "ConformanceReport",
    "PluginRun",
    "conformance",
    "make_manager",
    "run_plugin",
    "wiseflow_conformance",
    "wiseflow_manager",
]


def make_manager(
    *plugins: PluginSpec,
    data_dir: str | Path | None = None,
    config: OperatorConfig | None = None,
    plugin_dirs: Sequence[str | Path] = (),
    level: str | None = None,
) -> PluginManager:
    """A manager over exactly ``plugins`` (and ``plugin_dirs``); no entry point scan.

    Classes handed in run trusted whatever ``level`` says (``level`` applies to plugin
    folders); :func:`run_plugin` runs a class in a worker when asked to.
    """
    from ._host._manager import PluginManager

    return PluginManager(
        config,
        plugins=plugins,
        plugin_dirs=plugin_dirs,
        entry_points=False,
        data_dir=data_dir or tempfile.mkdtemp(prefix="wiseflow-test-"),
        level=level,
        cache=False,
    )


class PluginRun:
    """What :func:`run_plugin` saw.

    Attributes:
        state: the lifecycle state after the run (``"ACTIVE"``).
        level: the level it ran at (``"trusted"``: this process; else a worker).
        records: records fetched (connector) or returned (processor).
        checkpoints: checkpoints a connector yielded, in order.
        skipped: items a connector refused (yielded ``SkipRecord``), in order.
        result: an analyzer's ``result()``.
        logs: the plugin's log lines, ``"LEVEL message"`` (``ctx.log`` and, in a worker,
            what it printed).
        denied: requests the broker refused (WF301), as logged on ``wiseflow.grants``.
        requests: ``(method, url)`` of every request served by the fake ``http``.
        health: the plugin's ``health()``.

    When the run fails, the exception carries the plugin's last log lines and denials as
    a note (pytest shows it under the traceback).
    """

    def __init__(self) -> None:
        self.state = ""
        self.level = ""
        self.records: list[Record] = []
        self.checkpoints: list[Checkpoint] = []
        self.skipped: list[SkipRecord] = []
        self.result: dict[str, Any] | None = None
        self.logs: list[str] = []
        self.denied: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.health: dict[str, Any] = {}

    def __repr__(self) -> str:
        return (
            f"PluginRun(level={self.level!r}, state={self.state!r}, "
            f"records={len(self.records)}, checkpoints={len(self.checkpoints)}, "
            f"result={self.result!r}, logs={len(self.logs)}, denied={self.denied!r})"
        )


def run_plugin(
    plugin: PluginTarget,
    config: dict[str, Any] | None = None,
    *,
    records: Sequence[Record] | None = None,
    state: dict[str, Any] | None = None,
    level: str = "trusted",
    grants: Mapping[str, Any] | None = None,
    http: Mapping[str, HttpAnswer] | Callable[[httpx.Request], HttpAnswer | None] | None = None,
    batch_size: int = 100,
) -> PluginRun:
    """Start ``plugin`` in a fresh manager and exercise its kind's methods once.

    Connectors are fetched to the end (from ``state``); processors process ``records`` in
    batches; analyzers analyze them and return ``result()``.

    Args:
        plugin: a plugin class, a ``(Manifest, class)`` pair, or a plugin folder path (the
            folder holding ``plugin.toml``, or a project folder with ``pyproject.toml``).
        config: the instance's config, validated against the plugin's ``Config`` (WF105).
        level: ``"trusted"`` (this process) or ``"sandboxed"``/``"strict"`` (a confined
            worker). A class must be defined at the top level of a module file for a
            worker to import it; otherwise this raises WF102.
        grants: what the operator grants, keyed like ``[plugins.NAME] grant``
            (``{"network": ["127.0.0.1:8080"], "env": ["TOKEN"]}``); None grants what the
            manifest declares. A bare class declares nothing: its ``grants`` are taken as
            declared too.
        http: fake responses served through the real broker: ``{url: body}`` where body is
            ``str``/``bytes`` (a dict or list is sent as JSON), ``(status, body)`` or
            ``(status, headers, body)``; or a function of the ``httpx.Request`` returning
            one of those (None: no answer). Ungranted URLs are still refused (WF301).

    Raises:
        WiseflowError: what the host raises for the plugin (config WF105, a plugin failure).
    """
    from ._host._kit import FakeHttp, LogTap, drive, kit_manager, plugin_spec

    spec = plugin_spec(plugin, level=level, grants=grants)
    name = spec.candidate.manifest.name
    fake = FakeHttp(http) if http is not None else None
    out = PluginRun()
    tap = LogTap(name)
    with (
        tempfile.TemporaryDirectory(prefix="wiseflow-test-") as tmp,
        tap.attached(),
        kit_manager(spec, level=level, grants=grants, data_dir=tmp, http=fake) as pm,
    ):
        try:
            handle = pm.start(name, config)
            out.level = handle.level
            out.health = handle.health()
            done = drive(
                handle,
                records=list(records or ()),
                state=state,
                batch_size=batch_size,
            )
            out.state = handle.state.value
        except Exception as exc:  # what the plugin logged and was refused helps the reader
            seen = [*tap.lines[-20:], *(f"denied: {d}" for d in tap.denied[-5:])]
            if seen:
                exc.add_note("plugin log:\n  " + "\n  ".join(seen))
            raise
        finally:
            out.logs, out.denied = tap.lines, tap.denied
            out.requests = fake.requests if fake is not None else []
    out.records, out.checkpoints, out.result = done.records, done.checkpoints, done.result
    out.skipped = done.skipped
    return out


@pytest.fixture
def wiseflow_manager(tmp_path: Path) -> Iterator[Any]:
    """Factory fixture: ``wiseflow_manager(*plugins, **options)`` → a closed-after manager."""
    made: list[PluginManager] = []

    def factory(*plugins: PluginSpec, **options: Any) -> PluginManager:
        options.setdefault("data_dir", tmp_path / f"wf{len(made)}")
        pm = make_manager(*plugins, **options)
        made.append(pm)
        return pm

    yield factory
    for pm in made:
        pm.close()


@pytest.fixture
def wiseflow_conformance() -> Callable[..., ConformanceReport]:
    """Fixture: ``wiseflow_conformance(path, **options)`` runs :func:`conformance` and fails
    the test, listing the failed checks, unless every check passed."""

    def check(target: str | Path, **options: Any) -> ConformanceReport:
        report = conformance(target, **options)
        if not report.ok:
            pytest.fail(report.describe(), pytrace=False)
        return report

    return check
