"""Interface validation (WF103): is a class a well-formed plugin of its declared kind?

Checked before a plugin is initialized, and inside the sandbox worker for untrusted code.
Every violation is listed, not just the first.
"""

from __future__ import annotations

import inspect
from typing import Any

import msgspec

from ._errors import Problem
from ._plugin import AnalyzerPlugin, BasePlugin, ConnectorPlugin, ProcessorPlugin

__all__ = ["KIND_BASES", "REQUIRED", "validate_interface"]

KIND_BASES: dict[str, type[BasePlugin]] = {
    "connector": ConnectorPlugin,
    "processor": ProcessorPlugin,
    "analyzer": AnalyzerPlugin,
}
#: Methods a kind must implement itself (an inherited abstract method does not count).
REQUIRED: dict[str, tuple[str, ...]] = {
    "connector": ("fetch",),
    "processor": ("process",),
    "analyzer": ("analyze", "result"),
}
#: Every method of the contract whose signature an override must stay compatible with.
CONTRACT_METHODS = (
    "initialize", "shutdown", "health", "check", "fetch", "process", "analyze", "result", "render",
)  # fmt: skip


def validate_interface(cls: Any, kind: str, *, plugin: str | None = None) -> list[Problem]:
    """Every way ``cls`` fails the contract of ``kind``; empty when it is a valid plugin."""
    problems: list[Problem] = []

    def bad(message: str, hint: str | None = None) -> None:
        problems.append(Problem(code="WF103", message=message, hint=hint, plugin=plugin))

    if not isinstance(cls, type):
        bad(f"entry is {type(cls).__name__}, not a class", "point `entry` at the plugin class")
        return problems
    name = cls.__name__
    kinds = [k for k, base in KIND_BASES.items() if issubclass(cls, base)]
    if not kinds:
        bad(
            f"{name} does not subclass ConnectorPlugin, ProcessorPlugin or AnalyzerPlugin",
            "subclass exactly one plugin kind from wiseflow",
        )
        return problems
    if len(kinds) > 1:
        bad(f"{name} subclasses several kinds ({', '.join(kinds)}); choose exactly one")
    if kind not in KIND_BASES:
        bad(f"unknown kind {kind!r}")
        return problems
    if kind not in kinds:
        bad(
            f"manifest says kind = {kind!r} but {name} is a {kinds[0]}",
            f"subclass {KIND_BASES[kind].__name__} or change `kind` in plugin.toml",
        )
    base = KIND_BASES[kind]
    for method in REQUIRED[kind]:
        impl = inspect.getattr_static(cls, method, None)
        if impl is None or getattr(impl, "__isabstractmethod__", False):
            bad(
                f"{name}.{method}() is not implemented (only the abstract base method exists)",
                f"define {method}() in {name}",
            )
        elif not callable(impl) and not isinstance(impl, staticmethod | classmethod):
            bad(f"{name}.{method} is {type(impl).__name__}, not a method")
    for method in CONTRACT_METHODS:
        base_impl = getattr(base, method, None)
        if base_impl is None:
            continue
        impl = inspect.getattr_static(cls, method, None)
        owner = _owner(cls, method)
        if impl is None or owner in (BasePlugin, ConnectorPlugin, ProcessorPlugin, AnalyzerPlugin):
            continue
        if isinstance(impl, staticmethod | classmethod):
            bad(f"{name}.{method} must be an instance method, not a {type(impl).__name__}")
            continue
        if not callable(impl):
            bad(f"{name}.{method} is {type(impl).__name__}, not a method")
            continue
        problem = _signature_problem(base_impl, impl)
        if problem:
            bad(f"{name}.{method}{problem}", f"match the base signature of {method}()")
    problems.extend(_config_problems(cls, plugin))
    return problems


def _owner(cls: type, attr: str) -> type | None:
    for klass in cls.__mro__:
        if attr in vars(klass):
            return klass
    return None


def _signature_problem(base: Any, impl: Any) -> str | None:
    """Why ``impl`` cannot be called the way the host calls ``base``; None when it can."""
    try:
        base_sig = inspect.signature(base)
        sig = inspect.signature(impl)
    except (TypeError, ValueError):
        return None  # builtins without signatures: nothing to compare
    n_needed = sum(
        1
        for p in base_sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )  # includes self
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    has_varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
    if len(positional) < n_needed and not has_varargs:
        return f"{sig} takes {len(positional) - 1} argument(s) but the host passes {n_needed - 1}"
    for p in positional[n_needed:]:
        if p.default is p.empty:
            return f"{sig}: extra parameter {p.name!r} needs a default value"
    for p in params:
        if p.kind is p.KEYWORD_ONLY and p.default is p.empty:
            return f"{sig}: keyword-only parameter {p.name!r} needs a default value"
    return None


def _config_problems(cls: type, plugin: str | None) -> list[Problem]:
    config = getattr(cls, "Config", None)
    if config is None or config is dict:  # dict: the table as it is (see build_config)
        return []
    import dataclasses  # only plugins with a Config get here

    where = f"{cls.__name__}.Config"
    if not isinstance(config, type):
        return [Problem(code="WF103", message=f"{where} must be a class", plugin=plugin)]
    if not (issubclass(config, msgspec.Struct) or dataclasses.is_dataclass(config)):
        return [
            Problem(
                code="WF103",
                message=f"{where} must be a msgspec.Struct or a dataclass",
                hint="declare `class Config(msgspec.Struct): ...`",
                plugin=plugin,
            )
        ]
    try:
        msgspec.json.schema(config)
    except (TypeError, ValueError) as exc:
        return [
            Problem(
                code="WF103",
                message=f"{where} has a field type that cannot be validated: {exc}",
                plugin=plugin,
            )
        ]
    return []
