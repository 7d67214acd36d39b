"""How a plugin's code is run: the seam behind every :class:`PluginHandle`.

A runner owns one plugin instance's code, wherever it lives: in the host process
(:class:`~wiseflow._host._inprocess.InProcessRunner`, level ``trusted``) or in a confined worker
process (``wiseflow._sandbox``, levels ``sandboxed`` and ``strict``). The handle drives the
lifecycle and policy (state checks, metering, retries, breakers); the runner only runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from .._contract._ceilings import Limits, effective_limits
from .._contract._manifest import Manifest

__all__ = ["Runner", "RunnerSpec"]


class RunnerSpec:
    """Everything a runner needs to start one plugin instance.

    Attributes:
        instance: the instance name (pipeline ``name``; the plugin name by default).
        manifest: the plugin's validated manifest.
        code_root: folder to import the plugin from (folder plugins), or None when the
            entry's module is importable as installed.
        data_dir: the instance's private writable directory (created by the host).
        level: ``trusted``, ``sandboxed`` or ``strict``.
        root: the plugin's folder (holding ``plugin.toml``): its modules load from source
            only, never from bytecode.
        files: the approved ``{relative path: sha256}`` of ``root`` for a locked plugin;
            the code is checked against it as it loads (WF303).
        check: loaded only to be checked: interface problems come back in the runner's
            ``load_problems`` so that the config can still be validated.
        limits: the limits that apply (tightest of manifest, operator and ceilings); None
            means the manifest's resources and the default ceilings.
        python_path: the ``site-packages`` of the plugin's own environment (an installed
            plugin, see ``wiseflow._envs``): first on a worker's path, read-only for it.
        protected: the host's folders no file grant reaches (the data dir): carved out of
            a granted folder that holds them (``_sandbox/_carve``).
    """

    __slots__ = (
        "check", "code_root", "data_dir", "files", "instance", "level", "limits", "manifest",
        "plugin_class", "protected", "python_path", "root",
    )  # fmt: skip

    def __init__(
        self,
        *,
        instance: str,
        manifest: Manifest,
        code_root: str | None,
        data_dir: str,
        level: str,
        plugin_class: type[Any] | None = None,
        root: str | None = None,
        files: dict[str, str] | None = None,
        check: bool = False,
        limits: Limits | None = None,
        python_path: tuple[str, ...] = (),
        protected: tuple[str, ...] = (),
    ) -> None:
        self.instance = instance
        self.manifest = manifest
        self.code_root = code_root
        self.data_dir = data_dir
        self.level = level
        self.plugin_class = plugin_class  # plugins handed in directly (trusted only)
        self.root = root
        self.files = files
        self.check = check  # `plugins check`: interface problems reported, not raised
        self.limits = limits or effective_limits(manifest.resources, {}, None)
        self.python_path = python_path
        self.protected = protected


class Runner(Protocol):
    """Runs one plugin instance. Every method may raise a ``WiseflowError``.

    The sequence is ``load`` → ``initialize`` → any number of ``call``/``stream``/``chunks``
    → ``close``. ``close`` must be safe to call at any point and more than once.
    """

    def load(self) -> None:
        """Import the entry and validate the interface (WF102, WF103)."""

    def config_schema(self) -> dict[str, Any] | None:
        """JSON Schema of the plugin's ``Config`` (after ``load``), or None without one."""

    def check_config(self, config: dict[str, Any]) -> None:
        """Validate ``config`` against ``Config`` without initializing (WF105 on failure)."""

    def initialize(self, config: dict[str, Any]) -> None:
        """Validate ``config`` against ``Config`` (WF105), build the context, initialize."""

    def call(self, method: str, args: list[Any], timeout: float | None) -> Any:
        """Call ``method`` with ``args``; awaits coroutines. Timeout → WF401."""

    def stream(self, method: str, args: list[Any], timeout: float | None) -> Iterator[Any]:
        """Iterate what ``method`` yields (sync or async iterator); ``timeout`` per item."""

    def chunks(
        self, method: str, args: list[Any], timeout: float | None, size: int | None = None
    ) -> Iterator[list[Any]]:
        """What ``method`` yields, as non-empty lists of items in order (a worker's batches).

        ``timeout`` per chunk. Items before a failure come as a last chunk before it raises.
        ``size``: the most items per chunk where the runner cuts them itself (in-process,
        so that a source runs no further ahead of its consumer); None for the runner's
        own; a worker's chunks come as it sends them. Hot paths use this (metering and
        counting per chunk); ``stream`` is item by item.
        """

    def close(self) -> None:
        """Shut the plugin down (if initialized) and release everything it holds."""

    def pid(self) -> int | None:
        """The worker's process id, or None in-process."""
