"""Plugin configuration: validated against the plugin's ``Config`` before ``initialize``.

Every invalid field is reported at once with its path (WF105).
"""

from __future__ import annotations

import typing
from typing import Any

import msgspec

from ._errors import ConfigError, Problem
from ._suggest import did_you_mean, literal_values, unknown_value

__all__ = ["build_config", "config_schema"]


def config_schema(config_type: type[Any] | None) -> dict[str, Any] | None:
    """JSON Schema of ``config_type``, or None when the plugin takes no config."""
    if config_type is None:
        return None
    return msgspec.json.schema(config_type)


def _fields(config_type: type[Any]) -> dict[str, tuple[Any, bool]]:
    """Field name -> (type, required)."""
    hints = typing.get_type_hints(config_type)
    if issubclass(config_type, msgspec.Struct):
        return {
            f.encode_name: (hints.get(f.name, Any), f.required)
            for f in msgspec.structs.fields(config_type)
        }
    import dataclasses  # only a dataclass Config (whose plugin imported it already) needs it

    out: dict[str, tuple[Any, bool]] = {}
    for f in dataclasses.fields(config_type):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out[f.name] = (hints.get(f.name, Any), required)
    return out


def _enum_detail(detail: str, ftype: Any, value: Any, nested: bool) -> str:
    """msgspec's "Invalid enum value 'mnth'" with the valid values and the closest one."""
    if not detail.startswith("Invalid enum value"):
        return detail
    valid = literal_values(ftype)
    if valid is None and nested:  # list[Literal[...]]: the values of the items
        args = typing.get_args(ftype)
        valid = literal_values(args[0]) if args else None
    if valid is None:
        return detail
    bad = detail.removeprefix("Invalid enum value").strip()
    if not nested:
        bad = repr(value)
    return unknown_value(bad.strip("'\""), valid)


def build_config(config_type: type[Any] | None, raw: dict[str, Any] | None, plugin: str) -> Any:
    """Validate ``raw`` (TOML values) into an instance of ``config_type``.

    Without a ``Config`` the plugin gets an empty dict and any given key is an error; with
    ``Config = dict`` it gets the table as it is.

    Raises:
        ConfigError: WF105, with one problem per invalid, unknown or missing field.
    """
    raw = dict(raw or {})
    if config_type is dict:  # the plugin takes its table as it is (the legacy adapter's)
        return raw
    if config_type is None:
        if raw:
            keys = ", ".join(sorted(raw))
            raise ConfigError(
                f"plugin '{plugin}' takes no configuration, but got: {keys}",
                plugin=plugin,
                problems=[
                    Problem(code="WF105", message=f"config.{k}: unknown field", plugin=plugin)
                    for k in sorted(raw)
                ],
            )
        return {}
    fields = _fields(config_type)
    problems: list[Problem] = []
    for key in raw:
        if key not in fields:
            known = ", ".join(sorted(fields)) or "none"
            hint = did_you_mean(key, fields)
            problems.append(
                Problem(
                    code="WF105",
                    message=f"config.{key}: unknown field{hint} (known: {known})",
                    plugin=plugin,
                )
            )
    for key, (ftype, required) in fields.items():
        if key not in raw:
            if required:
                problems.append(
                    Problem(code="WF105", message=f"config.{key}: required", plugin=plugin)
                )
            continue
        try:
            msgspec.convert(raw[key], type=ftype, strict=False)
        except msgspec.ValidationError as exc:
            # "Expected `int`, got `str` - at `$[1].n`" -> "config.key[1].n: Expected ..."
            detail, _, where = str(exc).partition(" - at `")
            detail = _enum_detail(detail, ftype, raw[key], bool(where))
            path = (
                f"config.{key}" + where.rstrip("`").removeprefix("$") if where else f"config.{key}"
            )
            problems.append(Problem(code="WF105", message=f"{path}: {detail}", plugin=plugin))
    if not problems:
        try:
            return msgspec.convert(raw, type=config_type, strict=False)
        except msgspec.ValidationError as exc:  # e.g. a __post_init__ check
            problems.append(Problem(code="WF105", message=f"config: {exc}", plugin=plugin))
        except (TypeError, ValueError) as exc:
            problems.append(Problem(code="WF105", message=f"config: {exc}", plugin=plugin))
    summary = "; ".join(p.message for p in problems)
    raise ConfigError(
        f"invalid config for plugin '{plugin}': {summary}", plugin=plugin, problems=problems
    )
