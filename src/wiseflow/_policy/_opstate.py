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

from .._contract._errors import ConfigError
from ._grants import Grant
from ._operator import OperatorConfig, PluginPolicy

__all__ = ["OperatorState", "apply_state", "load_state", "save_state"]

FILE = "operator.json"


class OperatorState(msgspec.Struct, kw_only=True):
    grants: dict[str, Grant] = msgspec.field(default_factory=dict)  # read, never applied
    disabled: list[str] = msgspec.field(default_factory=list)


def load_state(data_dir: Path) -> OperatorState:
    """What ``plugins enable|disable`` saved in ``data_dir``.

    Raises:
        ConfigError: WF105 when the data dir lies below a file or the state file is damaged.
    """
    path = data_dir / FILE
    try:
        return msgspec.json.decode(path.read_bytes(), type=OperatorState)
    except FileNotFoundError:
        return OperatorState()
    except NotADirectoryError:
        raise ConfigError(
            f"the data dir {data_dir} is not a directory (a part of its path is a file)",
            plugin=str(data_dir),
            hint="point --data-dir (or data_dir in wiseflow.toml) at a directory",
        ) from None
    except (OSError, msgspec.DecodeError) as exc:
        raise ConfigError(
            f"cannot read {path}: {exc}",
            plugin=str(path),
            hint="it holds what `wiseflow plugins enable|disable` decided: fix it or move it "
            "away (the plugins it disabled are then enabled again)",
        ) from None


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
