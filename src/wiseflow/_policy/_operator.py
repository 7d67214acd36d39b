"""Operator configuration: ``wiseflow.toml`` (SPEC §4)."""

# No `from __future__ import annotations` here: public Structs are re-homed to `wiseflow`,
# and msgspec resolves string annotations through the class's module.

from pathlib import Path
from typing import Annotated, Any, Literal, final

import msgspec

from .._contract._ceilings import BOUNDS, range_problem
from .._contract._errors import ConfigError, Problem
from .._contract._suggest import explain_validation
from .._contract._toml import TomlProblem, loads, read_limited
from ._grants import Grant

__all__ = [
    "Breaker",
    "OperatorConfig",
    "PluginPolicy",
    "Policy",
    "Repository",
    "Retry",
    "load_operator_config",
]

Level = Literal["trusted", "sandboxed", "strict"]
Severity = Literal["critical", "high", "medium", "low", "none"]


def _within(key: str) -> msgspec.Meta:
    """The absolute bounds of ``key`` (``wiseflow._contract._ceilings.BOUNDS``) as a constraint."""
    low, high = BOUNDS[key]
    return msgspec.Meta(gt=0, le=int(high)) if low == 0 else msgspec.Meta(ge=int(low), le=int(high))


#: Bounds of retry and breaker settings: zero tries, negative waits or a breaker that never
#: closes are mistakes (WF105), as is a wait past a day between two tries.
_MAX_ATTEMPTS = 1000
_MAX_WAIT_S = 86_400


@final
class Retry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    attempts: Annotated[int, msgspec.Meta(ge=1, le=_MAX_ATTEMPTS)] = 3  # total tries
    backoff_s: Annotated[float, msgspec.Meta(ge=0, le=_MAX_WAIT_S)] = 0.5
    max_backoff_s: Annotated[float, msgspec.Meta(ge=0, le=_MAX_WAIT_S)] = 30.0


@final
class Breaker(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    failures: Annotated[int, msgspec.Meta(ge=1, le=_MAX_ATTEMPTS)] = 5
    reset_s: Annotated[float, msgspec.Meta(ge=0, le=_MAX_WAIT_S)] = 60.0


@final
class Policy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    level: Level = "sandboxed"
    audit_block: Severity = "high"
    require_signature: bool = False
    allow_weaker_sandbox: bool = False
    # Ceilings (SPEC §11): the tighter of manifest, [plugins.NAME] resources and these applies.
    max_memory_mb: Annotated[int, _within("memory_mb")] = 512
    max_cpu_seconds: Annotated[float, _within("cpu_seconds")] = 3600.0
    max_timeout_s: Annotated[float, _within("timeout_s")] = 600.0
    max_open_files: Annotated[int, _within("max_open_files")] = 1024
    max_data_mb: Annotated[int, _within("max_data_mb")] = 1024
    max_data_files: Annotated[int, _within("max_data_files")] = 10_000
    max_output_ratio: Annotated[int, _within("max_output_ratio")] = 100
    max_records_per_run: Annotated[int, _within("max_records_per_run")] | None = None


@final
class PluginPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[plugins.NAME]``: what the operator decided for one plugin."""

    level: Level | None = None
    grant: Grant = Grant()
    resources: dict[str, float] = msgspec.field(default_factory=dict)
    retry: Retry | None = None
    breaker: Breaker | None = None
    enabled: bool = True
    origin: str | None = None  # pick one origin when two offer the same version
    config: dict[str, Any] = msgspec.field(default_factory=dict)


@final
class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    plugin_dirs: tuple[str, ...] = ()
    data_dir: str = ".wiseflow"
    index: str | None = None


@final
class Repository(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[repository]`` (SPEC §14): where ``plugins install`` finds plugins, and the root of
    trust pinned for it. ``[wiseflow] index`` is the old spelling of ``url``."""

    url: str | None = None  # an http(s) URL, a file:// URL or a local folder
    root: str | None = None  # the trusted root metadata (TUF root.json) the operator pinned
    find_links: tuple[str, ...] = ()  # extra sources for plugins' Python requirements
    index_url: str | None = None


@final
class OperatorConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole of ``wiseflow.toml``; every section optional."""

    wiseflow: Settings = Settings()
    policy: Policy = Policy()
    plugins: dict[str, PluginPolicy] = msgspec.field(default_factory=dict)
    repository: Repository = Repository()
    path: str | None = None  # the file it was read from; relative paths resolve against it

    def plugin(self, name: str) -> PluginPolicy:
        return self.plugins.get(name) or PluginPolicy()

    def level_for(self, name: str) -> str:
        return self.plugin(name).level or self.policy.level

    @property
    def base_dir(self) -> Path:
        return Path(self.path).parent if self.path else Path.cwd()

    @property
    def repository_url(self) -> str | None:
        """``[repository] url``, else the old ``[wiseflow] index``."""
        return self.repository.url or self.wiseflow.index

    def resolve_path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p


#: What ``[plugins.NAME] resources`` may name: the limits of SPEC §11, the soft limits
#: (``soft_*``, warnings before the hard limit) and ``ray_num_cpus`` (executor = "ray").
#: Anything else is a typo that would leave a limit unset: WF105.
RESOURCE_KEYS = frozenset(
    {*BOUNDS, "soft_memory_mb", "soft_cpu_seconds", "soft_open_files", "ray_num_cpus"}
)


def _name_the_plugin(message: str, data: Any) -> str:
    """msgspec says ``plugins[...]`` for a table of ``[plugins]``: name the one at fault."""
    tables = data.get("plugins") if isinstance(data, dict) else None
    if "plugins[...]" not in message or not isinstance(tables, dict):
        return message
    for name, table in tables.items():
        try:
            msgspec.convert(table, type=PluginPolicy)
        except msgspec.ValidationError:
            return message.replace("plugins[...]", f"plugins.{name}", 1)
    return message


def load_operator_config(path: str | Path | None) -> OperatorConfig:
    """Read ``path`` (or ``./wiseflow.toml`` when None and present; defaults otherwise).

    Raises:
        ConfigError: WF105 naming the file, the field and the problem.
    """
    if path is None:
        default = Path("wiseflow.toml")
        if not default.is_file():
            return OperatorConfig()
        path = default
    p = Path(path)
    where = str(p)
    try:
        data = loads(read_limited(p).decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"config file {where} does not exist", plugin=where, hint="check --config"
        ) from None
    except TomlProblem as exc:
        raise ConfigError(
            f"{where}: {exc.message}",
            plugin=where,
            hint="fix the syntax of wiseflow.toml at the line named",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read {where}: {exc}",
            plugin=where,
            hint="check --config (a wiseflow.toml file)",
        ) from None
    try:
        cfg = msgspec.convert(data, type=OperatorConfig)
    except msgspec.ValidationError as exc:
        msg = _name_the_plugin(explain_validation(str(exc), OperatorConfig, hidden=("path",)), data)
        raise ConfigError(
            f"{where}: {msg}",
            plugin=where,
            hint="sections of wiseflow.toml: [wiseflow], [policy], [plugins.NAME], [repository]",
            problems=[Problem(code="WF105", message=msg, file=where)],
        ) from None
    known = ", ".join(sorted(RESOURCE_KEYS))
    problems = [
        Problem(code="WF105", message=f"plugins.{name}.resources.{key}: {why}", file=where)
        for name, pp in cfg.plugins.items()
        for key, value in pp.resources.items()
        if (why := f"unknown resource (known: {known})" if key not in RESOURCE_KEYS
            else range_problem(key, value, whole=False)) is not None
    ]  # fmt: skip
    if problems:
        raise ConfigError(
            f"{where}: " + "; ".join(p.message for p in problems),
            plugin=where,
            hint="resources are positive finite numbers within the bounds of the security docs",
            problems=problems,
        )
    return msgspec.structs.replace(cfg, path=str(p.resolve()))
