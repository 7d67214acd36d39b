"""The product checked from outside, against SPEC.md: the CLI in a subprocess, the public API.

Each test here was written from a mismatch found by using wiseflow as a user would (a
scratch folder, fresh plugins and files, every command with and without ``--json``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # wf_cli, as for tests/*.py
sys.path.insert(0, str(Path(__file__).resolve().parent))
