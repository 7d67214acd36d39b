"""The options every command takes, anywhere on the line, taken out of the arguments.

Nothing here imports click or the host: ``_prewarm`` reads ``--config`` with it before
the CLI's modules load.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["GlobalOptions", "split_global"]


class GlobalOptions:
    def __init__(self) -> None:
        self.config: str | None = None
        self.plugin_dirs: list[str] = []
        self.data_dir: str | None = None
        self.json = False
        self.debug = False
        #: a global option given without its value (``--data-dir`` last, ``--config=``)
        self.missing_value: str | None = None


def split_global(args: Sequence[str]) -> tuple[GlobalOptions, list[str]]:
    """Take the global options out of ``args`` wherever they stand (until ``--``)."""
    opts = GlobalOptions()
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            rest.extend(args[i - 1 :])
            break
        key, eq, value = arg.partition("=")
        if key in ("--config", "--plugin-dir", "--data-dir"):
            if not eq:
                if i >= len(args):
                    opts.missing_value = key  # the CLI reports it as a usage error
                    continue
                value = args[i]
                i += 1
            if not value:
                opts.missing_value = key
                continue
            if key == "--config":
                opts.config = value
            elif key == "--data-dir":
                opts.data_dir = value
            else:
                opts.plugin_dirs.append(value)
        elif arg == "--json":
            opts.json = True
        elif arg == "--debug":
            opts.debug = True
        else:
            rest.append(arg)
    return opts, rest
