"""Testing kit for plugin authors (a pytest plugin, registered as ``wiseflow``)."""

from __future__ import annotations
