"""Signed plugin repositories (SPEC §14): publishing, and installing from them.

Modules, one job each:

- ``_index``: the index target (manifest summaries, yanks, the blocklist) and the kill switch.
- ``_wheel``: plugin wheels read and unpacked safely.
- ``_publish``: the publisher's side (``wiseflow repo init|add|publish|yank|block``).
- ``_client``: python-tuf's updater over one repository URL; its failures as WF304/WF6xx.
- ``_plan``: what an install, update or remove changes (the resolver of local plugins).
- ``_apply``: staging and the atomic commit (folders, ``installed.json``, ``wiseflow.lock``).
- ``_envseam``: the seam to per-plugin Python environments.

The python-tuf and cryptography imports happen on first use only (the ``repo`` extra).
"""

from __future__ import annotations
