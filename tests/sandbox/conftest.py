from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_kit import RunnerFactory, require_layers, sandbox_fixture

require_layers  # re-exported for tests  # noqa: B018


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunnerFactory]:
    """A factory that writes a plugin folder and returns it loaded in a sandboxed worker."""
    yield from sandbox_fixture(tmp_path)
