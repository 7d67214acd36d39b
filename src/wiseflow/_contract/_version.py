"""Versions of the host and of the plugin API it offers."""

from __future__ import annotations

__version__ = "0.1.0"

#: The plugin API version this host implements; manifests state the range they support.
PLUGIN_API_VERSION = "1.0"
