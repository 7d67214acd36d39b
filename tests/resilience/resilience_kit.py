"""Helpers for tests/resilience and tests/metering: policies and real plugin folders."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

from wiseflow import Record
from wiseflow._policy._operator import Breaker, OperatorConfig, PluginPolicy, Retry

HEADER = "import os, sys, time\nfrom wiseflow import *\n"

#: Fast retries for tests: 4 attempts, waits of milliseconds.
FAST_RETRY = Retry(attempts=4, backoff_s=0.001, max_backoff_s=0.05)


def config(**plugins: PluginPolicy) -> OperatorConfig:
    """An operator config with ``[plugins.NAME]`` policies (names with - as _)."""
    return OperatorConfig(plugins={k.replace("_", "-"): v for k, v in plugins.items()})


def policy(
    *,
    attempts: int = 4,
    failures: int = 3,
    reset_s: float | None = None,
    resources: dict[str, float] | None = None,
    max_backoff_s: float = 0.05,
) -> PluginPolicy:
    """A plugin policy with fast retries and, if ``reset_s`` is given, a breaker."""
    return PluginPolicy(
        retry=Retry(attempts=attempts, backoff_s=0.001, max_backoff_s=max_backoff_s),
        breaker=Breaker(failures=failures, reset_s=reset_s) if reset_s is not None else None,
        resources=resources or {},
    )


def write_plugin(
    root: Path,
    name: str,
    code: str,
    *,
    kind: str = "processor",
    cls: str = "P",
    extra: str = "",
) -> Path:
    """A plugin folder ``root/name`` (``plugin.toml`` + ``plugin.py``); returns ``root``."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.toml").write_text(
        f'[plugin]\nname = "{name}"\nversion = "1.0.0"\nkind = "{kind}"\n'
        f'entry = "plugin_{name.replace("-", "_")}:{cls}"\n{textwrap.dedent(extra)}'
    )
    (folder / f"plugin_{name.replace('-', '_')}.py").write_text(HEADER + textwrap.dedent(code))
    return root


def recs(n: int, prefix: str = "r") -> list[Record]:
    return [Record(id=f"{prefix}{i}", source="t", title=f"t{i}") for i in range(n)]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def children_of(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def events_of(pm: Any, plugin: str) -> list[str]:
    """Subscribe to ``plugin``'s events; the returned list fills with their names."""
    seen: list[str] = []
    pm.events.subscribe(lambda e: seen.append(e.event), plugin=plugin)
    return seen
