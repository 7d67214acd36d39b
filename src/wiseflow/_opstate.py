"""Operator decisions made from the CLI (grants, disabled plugins), kept in the data dir.

``wiseflow.toml`` stays the operator's hand-written file; ``<data_dir>/operator.json`` holds
what ``wiseflow plugins grant|revoke|enable|disable`` changed, and is merged on top of it.
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
    grants: dict[str, Grant] = msgspec.field(default_factory=dict)
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


def _union(a: Grant, b: Grant) -> Grant:
    return Grant(
        network=tuple(dict.fromkeys((*a.network, *b.network))),
        env=tuple(dict.fromkeys((*a.env, *b.env))),
        fs_read=tuple(dict.fromkeys((*a.fs_read, *b.fs_read))),
        fs_write=tuple(dict.fromkeys((*a.fs_write, *b.fs_write))),
        subprocess=a.subprocess or b.subprocess,
        all=a.all or b.all,
    )


def apply_state(config: OperatorConfig, state: OperatorState) -> OperatorConfig:
    """``config`` with the CLI's grants added and its disabled plugins marked."""
    plugins = dict(config.plugins)
    for name in set(state.grants) | set(state.disabled):
        policy = plugins.get(name) or PluginPolicy()
        grant = _union(policy.grant, state.grants[name]) if name in state.grants else policy.grant
        plugins[name] = msgspec.structs.replace(
            policy, grant=grant, enabled=policy.enabled and name not in state.disabled
        )
    return msgspec.structs.replace(config, plugins=plugins)
