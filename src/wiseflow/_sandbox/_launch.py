"""What a worker is started with: its confinement policy, its environment, its layers.

The runner computes the limits (the manifest's resources under the operator's and the
host's ceilings, tighter still for level ``strict``); this module turns them into the
:class:`~wiseflow._sandbox._confine.Policy` the worker applies to itself before any plugin
code runs, and judges the confinement the worker reports back.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from typing import Any, final

from .._contract._errors import SandboxUnavailable, WiseflowWarning
from .._host._runner import RunnerSpec
from .._policy._datadir import add_scratch, drop_scratch
from ._carve import carve
from ._confine import LAYERS, Confinement, Policy, plugin_uid
from ._orphans import forget, record
from ._output import OutputPump
from ._peek import MAX_VALUES
from ._pipes import PipeChannel, host_pipes
from ._probe import disabled_layers
from ._process import WorkerProcess
from ._protocol import Channel, Load
from ._worker import CHUNK_ITEMS  # the most items an honest worker puts in one Chunk

__all__ = [
    "STRICT_CAPS",
    "WorkerLimits",
    "check_layers",
    "load_message",
    "make_scratch",
    "start_process",
    "stop_process",
    "worker_env",
]


def load_message(spec: RunnerSpec) -> Load:
    """What the worker is asked to import, and how (once it is confined)."""
    m = spec.manifest
    return Load(
        name=m.name,
        instance=spec.instance,
        kind=m.kind,
        entry=m.entry,
        code_root=spec.code_root,
        data_dir=spec.data_dir,
        root=spec.root,
        files=spec.files,
        check=spec.check,
        python_path=list(spec.python_path),  # an installed plugin's own environment
    )


def make_scratch(spec: RunnerSpec) -> str:
    """The worker's data dir (made if missing) and a fresh scratch dir (returned), counted
    with the data dir against ``max_data_mb`` and ``max_data_files`` until it is removed."""
    os.makedirs(spec.data_dir, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f"wiseflow-{spec.instance}-")
    add_scratch(spec.data_dir, scratch)
    return scratch


def start_process(
    spec: RunnerSpec,
    scratch: str,
    logger: logging.Logger,
    limiter: Any,
    max_frame: int,
    *,
    use_zygote: bool,
) -> tuple[WorkerProcess, PipeChannel, OutputPump]:
    """Start a worker process (not confined yet) with its channel and output pump."""
    (host_r, host_w, keep), child = host_pipes()
    chan = PipeChannel(host_r, host_w, keep=keep, max_frame=max_frame)
    try:
        proc = WorkerProcess.start(
            child, cwd=spec.data_dir, env=worker_env(spec, scratch), use_zygote=use_zygote
        )
    except BaseException:
        chan.close()
        raise
    finally:
        for fd in child:
            os.close(fd)
    # what the plugin forks dies with its group even if this host is killed (``_orphans``)
    record(spec.data_dir, proc.pid, plugin_uid(spec.instance))
    chan.max_chunk_items = CHUNK_ITEMS
    chan.max_values = MAX_VALUES
    os.set_blocking(proc.out_fd, False)
    return proc, chan, OutputPump(proc.out_fd, logger, limiter=limiter)


def stop_process(
    proc: WorkerProcess | None,
    pump: OutputPump | None,
    chan: Channel | None,
    scratch: str | None,
) -> tuple[int | None, float, list[str] | None]:
    """Kill the process group, reap the worker, release everything it held.

    Returns (exit status, CPU seconds, the output's last lines when there was a pump).
    """
    status, cpu = proc.stop() if proc is not None else (None, 0.0)
    if proc is not None:
        forget(proc.pid)
    tail = None
    if pump is not None:
        pump.drain_now()  # bounded: a writer that escaped the group cannot hold us
        tail = list(pump.tail)
        os.close(pump.fd)
    if chan is not None:
        chan.close()
    if scratch is not None:
        drop_scratch(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
    return status, cpu, tail


#: Ceilings for level ``strict`` (on top of the manifest's and operator's resources).
STRICT_CAPS = {"memory_mb": 256, "max_open_files": 64, "max_procs": 16}


@final
class WorkerLimits:
    """The limits and grants one worker runs under.

    The manifest's resources under the host's ceilings (``spec.limits``), overridden by
    the arguments given; for level ``strict`` capped by :data:`STRICT_CAPS` and never
    allowed to start programs.
    """

    __slots__ = (
        "allow_exec", "cpu_seconds", "fs_read", "fs_write", "max_file_mb", "max_open_files",
        "max_procs", "memory_mb",
    )  # fmt: skip

    def __init__(
        self,
        spec: RunnerSpec,
        perms: Any,
        *,
        memory_mb: int | None,
        cpu_seconds: float | None,
        max_open_files: int | None,
        max_procs: int,
        max_file_mb: int,
    ) -> None:
        res = spec.limits
        self.memory_mb = memory_mb or res.memory_mb
        self.cpu_seconds = cpu_seconds or res.cpu_seconds
        self.max_open_files = max_open_files or res.max_open_files
        self.max_procs = max_procs
        self.max_file_mb = max_file_mb
        self.allow_exec = bool(getattr(perms, "subprocess", False))
        if spec.level == "strict":
            self.memory_mb = min(self.memory_mb, STRICT_CAPS["memory_mb"])
            self.max_open_files = min(self.max_open_files, STRICT_CAPS["max_open_files"])
            self.max_procs = min(self.max_procs, STRICT_CAPS["max_procs"])
            self.allow_exec = False
        self.fs_read = [str(p) for p in getattr(perms, "fs_read", ())]
        self.fs_write = [str(p) for p in getattr(perms, "fs_write", ())]

    def policy(self, spec: RunnerSpec, scratch: str) -> Policy:
        """The confinement of one worker: read-only code, its data dir and scratch, limits.

        Granted folders that hold one of the host's own (the data dir) are carved: what they
        hold but that folder (``_carve``).
        """
        fs_read, read_listing = carve(self.fs_read, spec.protected)
        fs_write, write_listing = carve(self.fs_write, spec.protected)
        return Policy(
            host_pid=os.getpid(),
            # its code, its own environment (installed plugins: read-only), granted reads
            read_only=[p for p in (spec.code_root,) if p] + list(spec.python_path) + fs_read,
            read_write=[spec.data_dir, scratch, *fs_write],
            list_only=[*read_listing, *write_listing],
            memory_mb=self.memory_mb,
            cpu_seconds=self.cpu_seconds,
            max_open_files=self.max_open_files,
            max_file_mb=self.max_file_mb,
            max_procs=self.max_procs,
            allow_exec=self.allow_exec,
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
