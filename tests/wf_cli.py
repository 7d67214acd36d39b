"""Running the real `wiseflow` CLI from tests: one subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
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
