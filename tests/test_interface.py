"""Interface validation (WF103): every violation of the plugin contract is listed."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec

from wiseflow import AnalyzerPlugin, Checkpoint, ConnectorPlugin, ProcessorPlugin, Record
from wiseflow._contract._interface import validate_interface


def messages(cls: Any, kind: str) -> list[str]:
    problems = validate_interface(cls, kind, plugin="p")
    assert all(p.code == "WF103" and p.plugin == "p" for p in problems)
    return [p.message for p in problems]


class GoodConnector(ConnectorPlugin):
    class Config(msgspec.Struct):
        root: str = "/"

    def fetch(self, state: dict[str, Any] | None) -> Iterator[Record | Checkpoint]:
        yield Record(id="1", source="s")


class AsyncConnector(ConnectorPlugin):
    async def fetch(self, state: dict[str, Any] | None) -> AsyncIterator[Record | Checkpoint]:
        yield Record(id="1", source="s")


class ExtraOptional(ProcessorPlugin):
    def process(self, batch: list[Record], dry_run: bool = False, **kw: Any) -> list[Record]:
        return batch


def test_valid_plugins_pass() -> None:
    """Sync, async and extra-optional-parameter plugins are all valid."""
    assert messages(GoodConnector, "connector") == []
    assert messages(AsyncConnector, "connector") == []
    assert messages(ExtraOptional, "processor") == []


def test_inherited_abstract_method_does_not_count() -> None:
    """An analyzer that implements analyze but not result is refused, naming result()."""

    class Half(AnalyzerPlugin):
        def analyze(self, batch: list[Record]) -> None:
            pass

    assert messages(Half, "analyzer") == [
        "Half.result() is not implemented (only the abstract base method exists)"
    ]


def test_wrong_kind_and_several_kinds() -> None:
    """The manifest's kind must match the class; two kinds at once are refused."""

    class Both(ProcessorPlugin, AnalyzerPlugin):  # type: ignore[misc]
        def process(self, batch: list[Record]) -> list[Record]:
            return batch

        def analyze(self, batch: list[Record]) -> None:
            pass

        def result(self) -> dict[str, Any]:
            return {}

    found = messages(Both, "processor")
    assert any("several kinds" in m for m in found)
    assert any(
        "manifest says kind = 'connector'" in m for m in messages(ExtraOptional, "connector")
    )


def test_not_a_plugin_class() -> None:
    """A function or an unrelated class is refused."""
    assert "not a class" in messages(lambda: None, "processor")[0]

    class Plain:
        pass

    assert "does not subclass" in messages(Plain, "processor")[0]


def test_incompatible_signatures_are_all_listed() -> None:
    """Too few parameters, required extras and required keyword-only ones each count."""

    class Bad(ProcessorPlugin):
        def process(self) -> list[Record]:  # type: ignore[override]
            return []

        def initialize(self, ctx: Any, mode: str) -> None:  # type: ignore[override]
            pass

        def shutdown(self, *, force: bool) -> None:  # type: ignore[override]
            pass

    found = messages(Bad, "processor")
    assert len(found) == 3
    assert any("process" in m and "takes 0 argument(s) but the host passes 1" in m for m in found)
    assert any("initialize" in m and "'mode' needs a default" in m for m in found)
    assert any("shutdown" in m and "keyword-only parameter 'force'" in m for m in found)


def test_method_replaced_by_attribute_or_staticmethod() -> None:
    """A contract method must be an instance method."""

    class Weird(ProcessorPlugin):
        process = 5  # type: ignore[assignment]

        @staticmethod
        def health() -> dict[str, Any]:  # type: ignore[override]
            return {}

    found = messages(Weird, "processor")
    assert any("process is int" in m for m in found)
    assert any("health must be an instance method" in m for m in found)


def test_config_type_must_be_validatable() -> None:
    """Config must be a msgspec Struct or dataclass whose fields can be validated."""

    class NotStruct(ExtraOptional):
        class Config:
            x = 1

    @dataclasses.dataclass
    class DC:
        when: object = None

    class BadField(ExtraOptional):
        Config = DC

    assert "must be a msgspec.Struct or a dataclass" in messages(NotStruct, "processor")[0]
    assert "cannot be validated" in messages(BadField, "processor")[0]
