"""State shared by the commands of one CLI invocation: options, output, the manager."""

from __future__ import annotations

from pathlib import Path

import click

from .._host._manager import PluginManager
from .._policy._operator import OperatorConfig, load_operator_config
from .._policy._opstate import apply_state, load_state
from .._run._run import open_manager, resolve_data_dir
from ._globals import GlobalOptions
from ._output import Output

__all__ = ["GlobalOptions", "Session", "session_of"]


class Session:
    """Builds the operator config and the plugin manager lazily, once per invocation."""

    def __init__(self, opts: GlobalOptions, out: Output) -> None:
        self.opts = opts
        self.out = out
        self._config: OperatorConfig | None = None
        self._pm: PluginManager | None = None

    @property
    def base_config(self) -> OperatorConfig:
        return load_operator_config(self.opts.config)

    @property
    def data_dir(self) -> Path:
        return resolve_data_dir(self.base_config, self.opts.data_dir)

    @property
    def config(self) -> OperatorConfig:
        if self._config is None:
            self._config = apply_state(self.base_config, load_state(self.data_dir))
        return self._config

    @property
    def pm(self) -> PluginManager:
        if self._pm is None:
            self._recover()
            # the manager `wiseflow.run_pipeline` builds, with the --plugin-dir folders
            self._pm = open_manager(
                self.base_config, self.opts.data_dir, plugin_dirs=self.opts.plugin_dirs
            )
            for folder in self._pm.plugin_dirs:
                if not folder.is_dir():
                    what = "is not a folder" if folder.exists() else "does not exist"
                    self.out.warn(f"plugin folder {folder} {what} (plugin_dirs/--plugin-dir)")
        return self._pm

    def _recover(self) -> None:
        """An install, update or remove cut short (SIGKILL) is undone or finished first."""
        if (self.data_dir / "repository" / "commit.json").is_file():
            from .._repo._apply import recover_interrupted

            said = recover_interrupted(self.data_dir)
            if said is not None:
                self.out.warn(said)

    def close(self) -> None:
        if self._pm is not None:
            self._pm.close()


def session_of(ctx: click.Context) -> Session:
    """The session the entry point put on the click context."""
    session = ctx.find_root().obj
    assert isinstance(session, Session)
    return session
