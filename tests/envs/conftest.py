"""Fixtures for plugin environments: a folder of test-made wheels, uv's cache per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wheel_kit import demo_wheels  # noqa: E402

from wiseflow._envs import EnvSources  # noqa: E402


@pytest.fixture(autouse=True)
def _own_uv_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uv caches per test: a wheel a test rewrites is never served from an earlier test."""
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    """A folder of wheels (wfdemolib 1.0 and 2.0, wfhelper 0.5): the only package source."""
    return demo_wheels(tmp_path / "wheels")


@pytest.fixture
def sources(wheels: Path) -> EnvSources:
    """The wheel folder as the only source (no index: nothing leaves the machine)."""
    return EnvSources(find_links=(str(wheels),))
