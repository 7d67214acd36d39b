"""The plugin contract: what plugins and sandbox workers import.

Records, the plugin base classes, the context, errors, manifests, config, the
connector toolkit, the resource bounds, and the loading and hosting of plugin code.
Nothing here imports anything of wiseflow outside ``_contract``.
"""
