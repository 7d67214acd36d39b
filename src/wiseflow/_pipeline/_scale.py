"""The pipeline file's scale-out fields (SPEC §15): ``executor``, ``ray_address`` and a
processor's ``replicas``, validated for :mod:`._model` (every problem a WF501)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._contract._errors import PipelineError
from .._contract._suggest import unknown_value

if TYPE_CHECKING:
    from ._model import Pipeline, StageSpec
    from ._protocol import StageHandle

__all__ = [
    "EXECUTORS",
    "MAX_REPLICAS",
    "check_executor",
    "check_replicas",
    "group_replicas",
    "instances_of",
    "refuse_executor",
    "replica_name",
]

#: Where plugin instances run: on this host, or (not in this version) on a Ray cluster.
EXECUTORS = ("local", "ray")
#: The most instances one processor stage may run.
MAX_REPLICAS = 64

# "auto", "local", HOST:PORT or ray://HOST:PORT (HOST a name, an IPv4 or a [IPv6] address)
_ADDRESS_RE = re.compile(
    r"^(auto|local|(ray://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?):(\d{1,5}))\Z"
)

Bad = Callable[..., None]


def replica_name(stage: str, i: int) -> str:
    """The instance name of replica ``i`` (1-based) of ``stage``: ``text#1``, ``text#2``...

    ``#`` cannot occur in a pipeline's instance names, so a replica never collides with
    another stage (nor with a dependency's private instance, ``dep@dependent``).
    """
    return f"{stage}#{i}"


def instances_of(spec: StageSpec) -> list[str]:
    """The instance names a stage runs: its name, or one per replica."""
    if spec.replicas <= 1:
        return [spec.name]
    return [replica_name(spec.name, i) for i in range(1, spec.replicas + 1)]


def group_replicas(specs: Sequence[StageSpec], handles: Sequence[StageHandle]) -> list[StageHandle]:
    """``handles`` (every instance, in pipeline order) as stages: the instances of a stage
    with ``replicas > 1`` become one :class:`Replicas`; the others stay as they are."""
    from ._replicas import Replicas  # the run's machinery: not loaded to read a file

    by_name = {h.name: h for h in handles}
    out: list[StageHandle] = []
    for spec in specs:
        names = instances_of(spec)
        if not all(n in by_name for n in names):
            continue  # not started (a run of some kinds only)
        if spec.replicas <= 1:
            out.append(by_name[spec.name])
        else:
            out.append(Replicas(spec.name, [by_name[n] for n in names]))
    return out


def refuse_executor(pipeline: Pipeline) -> None:
    """WF501 (exit 2) for an executor this version cannot run: ``ray``."""
    if pipeline.executor == "local":
        return
    raise PipelineError(
        f'executor = "{pipeline.executor}" is not available in this version of wiseflow',
        plugin=pipeline.path or "pipeline.toml",
        hint="the Ray executor (the extra `wiseflow[ray]`) is not part of this version; "
        'remove `executor` (or write executor = "local") to run on this host; '
        "`replicas` works with the local executor",
    )


def check_replicas(entry: dict[str, Any], kind: str, bad: Bad, field: str, nth: int) -> int:
    """A stage's ``replicas`` (1 when absent); ``bad(field, message, hint, nth)`` when wrong."""
    if "replicas" not in entry:
        return 1
    value = entry["replicas"]
    if kind != "processor":
        bad(
            field,
            f"only [[processors]] take replicas, not a {kind}",
            "remove `replicas` here; put it on a [[processors]] stage",
            nth,
        )
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REPLICAS:
        bad(
            field,
            f"must be an integer from 1 to {MAX_REPLICAS}, got {_shown(value)}",
            "replicas = N runs N instances of the processor side by side (SPEC §15)",
            nth,
        )
        return 1
    return value


def check_executor(head: dict[str, Any], bad: Bad) -> tuple[str, str | None]:
    """``[pipeline] executor`` and ``ray_address``; ``bad(field, message, hint)``."""
    executor = head.get("executor", "local")
    if executor not in EXECUTORS:
        bad(
            "pipeline.executor",
            unknown_value(_cut(executor), EXECUTORS),
            'executor = "local" runs every plugin instance on this host (the default)',
        )
        executor = "local"
    address = head.get("ray_address")
    if address is None:
        return executor, None
    hint = 'ray_address = "auto" or "HOST:PORT" (with executor = "ray")'
    if not isinstance(address, str) or not _ADDRESS_RE.match(address):
        bad("pipeline.ray_address", f"{_shown(address)} is not a Ray address", hint)
        return executor, None
    port = address.rsplit(":", 1)[-1]
    if port.isdigit() and not 1 <= int(port) <= 65535:
        bad("pipeline.ray_address", f"port {port} is out of range (1-65535)", hint)
        return executor, None
    if executor != "ray":
        bad("pipeline.ray_address", 'applies only with executor = "ray"', hint)
        return executor, None
    return executor, address


def _shown(value: Any) -> str:
    """``value`` for a message: its repr, cut short (the file is the operator's, but long)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _cut(value: Any) -> str:
    """A string value cut short (other values as their short repr)."""
    return value[:60] if isinstance(value, str) else _shown(value)
