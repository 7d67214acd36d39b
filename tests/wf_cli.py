"""Running the real `wiseflow` CLI from tests: one subprocess, as a user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def wf(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    columns: int | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m wiseflow ARGS`` in ``cwd``; ``env`` adds to the test's environment."""
    full = {**os.environ, **(env or {})}
    if columns is not None:
        full["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "wiseflow", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full,
        check=False,
    )


@contextmanager
def sigint_default() -> Iterator[None]:
    """Processes started inside get SIGINT's default action whatever this one inherited.

    A shell that starts the suite in the background (`make test &`) ignores SIGINT for it,
    and an ignored signal stays ignored across fork and exec: a child would then never see
    the Ctrl-C a test sends. A handler (unlike SIG_IGN) is reset to the default by exec.
    """
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
