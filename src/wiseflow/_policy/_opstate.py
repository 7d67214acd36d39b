"""Operator decisions made from the CLI that are not approvals, kept in the data dir.

``wiseflow.toml`` stays the operator's hand-written file; ``<data_dir>/operator.json`` holds
what ``wiseflow plugins enable|disable`` changed, and is merged on top of it. Grants made
with ``wiseflow plugins grant`` are approvals of one identity and live in ``wiseflow.lock``
(:mod:`wiseflow._policy._lock`); grants an older version kept here by name are no longer applied.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from ._grants import Grant
from ._operator import OperatorConfig, PluginPolicy

__all__ = ["OperatorState", "apply_state", "load_state", "save_state"]

FILE = "operator.json"


class OperatorState(msgspec.Struct, kw_only=True):
    grants: dict[str, Grant] = msgspec.field(default_factory=dict)  # read, never applied
    disabled: list[str] = msgspec.field(default_factory=list)


def load_state(data_dir: Path) -> OperatorState:
    try:
        return msgspec.json.decode((data_dir / FILE).read_bytes(), type=OperatorState)
    except FileNotFoundError:
        return OperatorState()


def save_state(data_dir: Path, state: OperatorState) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{FILE}.tmp"
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(state)))
    os.replace(tmp, data_dir / FILE)


def apply_state(config: OperatorConfig, state: OperatorState) -> OperatorConfig:
    """``config`` with the plugins disabled from the CLI marked."""
    plugins = dict(config.plugins)
    for name in state.disabled:
        policy = plugins.get(name) or PluginPolicy()
        plugins[name] = msgspec.structs.replace(policy, enabled=False)
    return msgspec.structs.replace(config, plugins=plugins)
