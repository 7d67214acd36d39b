"""What to do about an invalid manifest field (SPEC §6: every problem says what to do)."""

from __future__ import annotations

__all__ = ["hint_for"]

#: By the first part of a field's path below ``plugin.``; the default names the layout.
_FIELD_HINTS = {
    "name": "a name is lower-case letters, digits and dashes, starting with a letter: "
    'name = "my-plugin"',
    "kind": 'kind = "connector", "processor" or "analyzer" (the class\'s base class)',
    "entry": 'entry = "module:Class" (a module of the plugin folder, or "package.module:Class")',
    "fallback": "fallback names another plugin: lower-case letters, digits and dashes",
    "adapter": 'adapter = "legacy" (written by `wiseflow plugins migrate`), or no adapter',
    "description": 'description = "one line saying what the plugin does"',
    "requires": 'requires: other = ">=1,<2" or other = { version = ">=1", optional = true }',
    "permissions": "permissions: network, env, fs_read, fs_write (lists of strings) and "
    "subprocess (true or false)",
}
_LAYOUT_HINT = (
    "plugin.toml holds one [plugin] table (name, version, kind, entry, ...) with "
    "[plugin.requires], [plugin.permissions] and [plugin.resources]; "
    "`wiseflow plugins new NAME --kind K` writes a valid one"
)


def hint_for(field: str) -> str:
    """The hint for a problem at ``field`` (``plugin.kind``, ``plugin.permissions.x``)."""
    parts = field.split(".")
    key = parts[1] if parts[0] == "plugin" and len(parts) > 1 else ""
    return _FIELD_HINTS.get(key, _LAYOUT_HINT)
