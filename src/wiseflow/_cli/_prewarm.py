"""``wiseflow run``: start the sandbox's zygote before the CLI's own modules load.

The zygote (a clean interpreter that forks the workers, ``_sandbox._zygote``) takes ~90 ms
to boot. Started once the pipeline is checked, the first worker waited for most of it;
started here, while the host still imports the manager and checks the pipeline (~80 ms),
it boots on the other core meanwhile. This runs only in the ``wiseflow`` program itself
(the console script or ``python -m wiseflow``), never in a process that imports the CLI,
and only for a ``run`` that can have a sandboxed stage by the operator's config: ``[policy]
level`` or some ``[plugins.NAME] level`` is not ``trusted``, and the pipeline file does not
say ``executor = "ray"`` (its workers start on the cluster). A guess that turns out wrong
costs nothing more: a zygote not needed is stopped at exit as always, and a run that needs
one after all starts it as before (``_run.warm_sandbox``). Anything unexpected here (a
config that does not load, a pipeline that does not parse) skips the warm-up: the run
itself reports it.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

from ._globals import split_global

__all__ = ["prewarm_for_program", "should_prewarm"]


def _is_the_program() -> bool:
    """Whether this process is the ``wiseflow`` command (not one importing the CLI)."""
    if Path(sys.argv[0]).name == "wiseflow":
        return True
    orig = getattr(sys, "orig_argv", [])
    return any(a == "-m" and b == "wiseflow" for a, b in pairwise(orig))


def should_prewarm(args: Sequence[str]) -> bool:
    """Whether ``wiseflow ARGS`` is a ``run`` that may start a sandboxed worker."""
    opts, rest = split_global(args)
    config = opts.config
    if rest[:1] != ["run"] or "--help" in rest:
        return False
    try:
        from .._policy._operator import load_operator_config

        cfg = load_operator_config(config)
    except Exception:
        return False  # the run reports it
    levels = {cfg.policy.level} | {p.level for p in cfg.plugins.values() if p.level}
    if levels == {"trusted"}:
        return False
    for arg in rest[1:]:
        if arg.endswith(".toml") and not arg.startswith("-"):
            try:
                with open(arg, "rb") as f:
                    table = tomllib.load(f).get("pipeline", {})
            except (OSError, ValueError):
                return False
            return not (isinstance(table, dict) and table.get("executor") == "ray")
    return False


def prewarm_for_program() -> None:
    """In the ``wiseflow`` program, for a ``run`` that may need it: start the zygote in
    the background now (see the module's docstring)."""
    try:
        if not _is_the_program() or not should_prewarm(sys.argv[1:]):
            return
        # imported here, in this thread: a module imported by two threads at once can
        # deadlock on its import lock
        from .._sandbox._process import spawn
        from .._sandbox._zygote import warm_shared_zygote
    except Exception:
        return
    warm_shared_zygote(spawn)
