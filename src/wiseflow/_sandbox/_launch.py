"""What a worker is started with: its confinement policy, its environment, its layers.

The runner computes the limits (the manifest's resources under the operator's and the
host's ceilings, tighter still for level ``strict``); this module turns them into the
:class:`~wiseflow._sandbox._confine.Policy` the worker applies to itself before any plugin
code runs, and judges the confinement the worker reports back.
"""

from __future__ import annotations

import logging
import os
import warnings

from .._errors import SandboxUnavailable, WiseflowWarning
from .._runner import RunnerSpec
from ._confine import LAYERS, Confinement, Policy, plugin_uid
from ._probe import disabled_layers

__all__ = ["check_layers", "worker_env", "worker_policy"]


def worker_policy(
    spec: RunnerSpec,
    scratch: str,
    *,
    fs_read: list[str],
    fs_write: list[str],
    memory_mb: int,
    cpu_seconds: float,
    max_open_files: int,
    max_file_mb: int,
    max_procs: int,
    allow_exec: bool,
) -> Policy:
    """The confinement of one worker: read-only code, its data dir and scratch, limits."""
    return Policy(
        host_pid=os.getpid(),
        read_only=[p for p in (spec.code_root,) if p] + fs_read,
        read_write=[spec.data_dir, scratch, *fs_write],
        memory_mb=memory_mb,
        cpu_seconds=cpu_seconds,
        max_open_files=max_open_files,
        max_file_mb=max_file_mb,
        max_procs=max_procs,
        allow_exec=allow_exec,
        uid=plugin_uid(spec.instance) if os.geteuid() == 0 else None,
        disable=sorted(disabled_layers()),
    )


def worker_env(spec: RunnerSpec, scratch: str) -> dict[str, str]:
    """The whole environment of a worker (nothing of the host's is passed on)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": spec.data_dir,
        "TMPDIR": scratch,
    }


def check_layers(
    conf: Confinement, instance: str, logger: logging.Logger, *, allow_weaker: bool
) -> SandboxUnavailable | None:
    """The error for confinement layers the worker could not apply (None: all applied, or
    ``allow_weaker``, which warns about each one missing instead)."""
    missing = {k: v for k, v in conf.missing.items() if k in LAYERS}
    for name, why in conf.missing.items():
        if name not in LAYERS:
            logger.info("confinement layer %s not applied: %s", name, why)
    if not missing:
        return None
    if not allow_weaker:
        listed = ", ".join(f"{k} ({v})" for k, v in missing.items())
        return SandboxUnavailable(
            f"plugin '{instance}' needs confinement layer(s) this machine lacks: {listed}",
            plugin=instance,
            hint="run `wiseflow doctor`; set allow_weaker_sandbox = true under [policy] "
            "to run it with weaker confinement, or run it as trusted if you vouch for it",
        )
    for name, why in missing.items():
        warnings.warn(
            WiseflowWarning(
                f"plugin '{instance}' runs without the {name} confinement layer "
                f"({why}) because allow_weaker_sandbox = true"
            ),
            stacklevel=5,
        )
    return None
