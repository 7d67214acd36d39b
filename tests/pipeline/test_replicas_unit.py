"""Replicas (SPEC §15) without workers: the pipeline file's fields, the ordering of
batches handed on, and calls really overlapping across replicas (trusted, in-process)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from wiseflow import PipelineError, ProcessorPlugin, Record
from wiseflow._pipeline import parse_pipeline
from wiseflow._pipeline._replicas import Gate, Parallel, Replicas, parallel_stages

HEAD = '[pipeline]\nname = "p"\n{extra}\n[[sources]]\nplugin = "s"\n[[processors]]\nplugin = "t"\n'


def _problems(text: str) -> list[tuple[str, int | None]]:
    with pytest.raises(PipelineError) as info:
        parse_pipeline(text)
    assert info.value.code == "WF501"
    return [(p.message, p.line) for p in info.value.problems]


def test_replicas_parse_and_default_to_one() -> None:
    """`replicas = N` on a processor is kept; a stage without it has one instance."""
    p = parse_pipeline(HEAD.format(extra="") + "replicas = 4\n[[analyzers]]\nplugin = 'a'\n")
    assert p.processors[0].replicas == 4
    assert p.sources[0].replicas == 1
    assert (p.executor, p.ray_address) == ("local", None)


@pytest.mark.parametrize("value", ["0", "65", "-1", '"2"', "true", "1.5"])
def test_bad_replicas_are_wf501_naming_the_line(value: str) -> None:
    """Out of 1..64, or not an integer: WF501 naming the field and its line."""
    (message, line), *_ = _problems(HEAD.format(extra="") + f"replicas = {value}\n")
    assert message.startswith("processors[0].replicas: must be an integer from 1 to 64")
    assert line == 8


@pytest.mark.parametrize("section", ["sources", "analyzers"])
def test_replicas_only_on_processors(section: str) -> None:
    """A connector or analyzer with `replicas` is refused (WF501), not silently run once."""
    text = f'[pipeline]\nname = "p"\n[[{section}]]\nplugin = "x"\nreplicas = 2\n'
    if section != "sources":
        text += '[[sources]]\nplugin = "s"\n'
    messages = [m for m, _ in _problems(text)]
    assert any(f"{section}[0].replicas: only [[processors]] take replicas" in m for m in messages)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('executor = "cluster"', "pipeline.executor: 'cluster' is not valid"),
        ('executor = "ray"\nray_address = "no spaces allowed"', "is not a Ray address"),
        ('executor = "ray"\nray_address = "h:70000"', "port 70000 is out of range"),
        ('ray_address = "auto"', 'applies only with executor = "ray"'),
        ("executor = 3", "pipeline.executor: '3' is not valid"),
    ],
)
def test_bad_executor_fields_are_wf501(extra: str, expected: str) -> None:
    messages = [m for m, _ in _problems(HEAD.format(extra=extra))]
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    "address", ["auto", "10.0.0.5:6379", "ray://head.local:10001", "[::1]:6379"]
)
def test_ray_fields_parse(address: str) -> None:
    """`executor = "ray"` and a Ray address parse (the run refuses the executor, see
    tests/pipeline/test_replicas.py); the address is kept as written."""
    p = parse_pipeline(HEAD.format(extra=f'executor = "ray"\nray_address = "{address}"'))
    assert (p.executor, p.ray_address) == ("ray", address)


def test_parallel_hands_results_on_in_put_order() -> None:
    """A later batch that finishes first waits: results go on in the order batches came."""
    gate = Gate()
    first_may_end = threading.Event()
    finished: list[int] = []
    delivered: list[int] = []

    def work(n: int) -> int:
        with gate.opened():  # as a stage does around its plugin call
            if n == 0:
                assert first_may_end.wait(60)
            else:
                first_may_end.set()
        finished.append(n)
        return n

    par: Parallel[int, int] = Parallel(work, delivered.append, gate=gate, workers=2, window=4)
    par.put(0)
    par.put(1)
    par.close()
    assert finished == [1, 0]  # the second really ended first
    assert delivered == [0, 1]


def test_parallel_raises_a_failed_batch_in_the_callers_thread() -> None:
    """A batch whose work raised stops the run with that error, not silently."""

    def work(n: int) -> int:
        if n == 1:
            raise OSError("disk full")
        return n

    delivered: list[int] = []
    par: Parallel[int, int] = Parallel(work, delivered.append, gate=Gate(), workers=1, window=1)
    par.put(0)
    with pytest.raises(OSError, match="disk full"):
        par.put(1)
        par.drain()
    par.abort()
    assert delivered == [0]


class Meet(ProcessorPlugin):
    """Each call waits until two calls are inside process() at once (or 60 s pass)."""

    barrier = threading.Barrier(2)

    def process(self, batch: list[Record]) -> list[Record]:
        self.barrier.wait(60)
        return [r.replace(annotations={"by": self.ctx.name}) for r in batch]


def test_two_trusted_replicas_take_calls_at_the_same_time(tmp_path: Path, stage: Any) -> None:
    """Two replicas serve two batches at once: each call meets the other inside the plugin
    (were calls one at a time, the barrier would break and the calls fail)."""
    Meet.barrier = threading.Barrier(2)
    replicas = Replicas("meet", [stage(Meet(), tmp_path, f"meet#{i}") for i in (1, 2)])
    scaled = parallel_stages([replicas])
    assert scaled is not None
    assert scaled.busy == 2
    out: list[list[Record]] = []
    par = scaled.start(lambda b: scaled.stages[0].process(b), out.append)
    for i in range(4):
        par.put([Record(id=f"r{i}", source="s")])
    par.close()
    assert [b[0].id for b in out] == ["r0", "r1", "r2", "r3"]
    assert {b[0].annotations["by"] for b in out} == {"meet#1", "meet#2"}
    assert not Meet.barrier.broken


def test_one_instance_per_stage_runs_one_batch_at_a_time(tmp_path: Path, stage: Any) -> None:
    """Without replicas the engine keeps its one-batch-at-a-time path."""
    assert parallel_stages([stage(Meet(), tmp_path, "meet")]) is None
    assert parallel_stages([Replicas("one", [stage(Meet(), tmp_path, "one")])]) is None


class Tag(ProcessorPlugin):
    """Marks each record with the instance that processed it."""

    def process(self, batch: list[Record]) -> list[Record]:
        return [r.replace(annotations={"by": self.ctx.name}) for r in batch]


def test_a_replica_that_is_out_gets_no_batch_while_another_is_not(
    tmp_path: Path, stage: Any
) -> None:
    """A replica refusing calls (DISABLED) is passed over; when every replica is out, the
    call is refused as for one instance (WF405), and the stage reports the worst state."""
    from wiseflow import InvalidTransition
    from wiseflow._host._lifecycle import PluginState

    one, two = (stage(Tag(), tmp_path, f"tag#{i}") for i in (1, 2))
    replicas = Replicas("tag", [one, two])
    one.lifecycle.transition(PluginState.DISABLED, "test")
    for i in range(3):
        out = replicas.process([Record(id=f"r{i}", source="s")])
        assert out[0].annotations["by"] == "tag#2"
    # the control: the same instance does refuse calls when asked directly
    with pytest.raises(InvalidTransition):
        one.process([Record(id="x", source="s")])
    two.lifecycle.transition(PluginState.DISABLED, "test")
    with pytest.raises(InvalidTransition):
        replicas.process([Record(id="r9", source="s")])
    assert replicas.state == "DISABLED"
    figures = replicas.describe()
    assert figures["replicas"] == 2
    assert figures["breaker"] == {"state": "closed", "opens": 0}
