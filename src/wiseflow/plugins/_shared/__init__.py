"""Helpers the bundled analyzers share, so no plugin imports another plugin's internals.

- :mod:`.extract`: rule-based entity extraction (``KINDS``, ``extract``).
- :mod:`.ranking`: a stable ranking of counts and the human labels of entity kinds.
- :mod:`.charts`: small SVG charts (bar and line) drawn with matplotlib.

Not a plugin (no ``plugin.toml``); like the plugins, it uses only the public ``wiseflow`` API.
"""
