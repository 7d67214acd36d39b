"""Hosting plugins: the manager and the call path into a plugin.

Catalog and registry, assembly, the handle, lifecycle, the runner seam and the
in-process runner, resilience, metering, ``plugins check`` and the test kit.
"""
