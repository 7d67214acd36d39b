"""Plugins bundled with wiseflow, registered through the ``wiseflow.plugins`` entry points."""
