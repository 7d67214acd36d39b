"""The checks of the conformance suite, each on one loaded plugin (see ``_conformance``).

Each returns whether the plugin passed and a message saying why, in words a plugin author
can act on: the config schema's descriptions, the kind's contract on the plugin's own
output (a connector's checkpoints, a processor's ids, an analyzer's result), and a
second ``shutdown()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from .._contract._errors import WiseflowError
from .._contract._record import Checkpoint, Record

if TYPE_CHECKING:
    from ._handle import PluginHandle

__all__ = ["KIND_CHECKS", "SAMPLE_RECORDS", "kind_check_name", "schema_check", "shutdown_check"]

#: What processors and analyzers are given: varied kinds, empty fields, markup, Unicode.
SAMPLE_RECORDS: tuple[Record, ...] = (
    Record(
        id="s1", source="sample", kind="article", time=datetime(2024, 1, 2, tzinfo=UTC),
        title="Hello world", text="<p>Hello <b>world</b>, from Berlin.</p>",
        url="https://example.org/1", author="ada", tags=("news",), data={"n": 1},
    ),
    Record(
        id="s2", source="sample", kind="issue", time=datetime(2024, 2, 3, tzinfo=UTC),
        title="Crash on start", text="Segfault when starting with an empty config.",
        tags=("bug", "urgent"), data={"number": 2},
    ),
    Record(id="s3", source="sample"),
    Record(
        id="s4", source="other", kind="commit", title="Fix typo",
        text="Ünïcödé text — naïve café, 東京", author="bob",
    ),
    Record(
        id="s5", source="sample", kind="changelog-entry", time=datetime(2024, 3, 4, tzinfo=UTC),
        title="1.2.0", text="Security fix for CVE-2024-0001 in the parser.",
        data={"version": "1.2.0"},
    ),
)  # fmt: skip


def kind_check_name(kind: str) -> str:
    """The name under which the suite reports the contract of ``kind``."""
    return {
        "connector": "connector checkpoint",
        "processor": "processor keeps ids",
        "analyzer": "analyzer result",
    }.get(kind, "kind contract")


def schema_check(schema: dict[str, Any] | None) -> tuple[bool, str]:
    """Every field of the plugin's config (its JSON Schema) has a description."""
    if schema is None:
        return True, "takes no config"
    missing: list[str] = []
    fields = 0
    for definition in schema.get("$defs", {}).values():
        for field, prop in definition.get("properties", {}).items():
            fields += 1
            if not (isinstance(prop, dict) and prop.get("description")):
                missing.append(field)
    if missing:
        return False, (
            f"field(s) without a description: {', '.join(missing)} "
            '(use Annotated[T, msgspec.Meta(description="...")])'
        )
    return True, f"{fields} field(s), each with a description"


def _connector(handle: PluginHandle) -> tuple[bool, str]:
    """Records carry its name as source; fetching again from the last checkpoint, as
    stored, repeats nothing delivered before it."""
    from ._kit import drive

    records: list[Record] = []
    checkpoints: list[Checkpoint] = []
    delivered: set[str] = set()  # what came before a checkpoint counts as delivered
    pending: list[str] = []
    for item in handle.fetch(None):
        if isinstance(item, Checkpoint):
            checkpoints.append(item)
            delivered.update(pending)
            pending = []
        elif isinstance(item, Record):  # a refused item (SkipRecord) is a dead letter
            records.append(item)
            pending.append(item.id)
    wrong = sorted({r.source for r in records} - {handle.name})
    if wrong:
        return False, (
            f"records carry source {wrong[0]!r}; a connector sets source=ctx.name ({handle.name!r})"
        )
    if not checkpoints:
        return True, f"{len(records)} record(s), no Checkpoint: every run fetches from the start"
    try:  # as the store keeps it: JSON (a datetime comes back as a string, a tuple a list)
        stored = msgspec.json.decode(msgspec.json.encode(checkpoints[-1].state))
    except (TypeError, msgspec.EncodeError) as exc:
        return False, f"the last checkpoint's state cannot be stored as JSON: {exc}"
    again = drive(handle, state=stored)
    repeated = sorted(delivered & {r.id for r in again.records})
    if repeated:
        return False, (
            f"fetching again from the last checkpoint delivered {len(repeated)} record(s) "
            f"already delivered before it (ids {', '.join(repeated[:5])}); resume after "
            "them, or yield no Checkpoint if the source cannot resume"
        )
    return True, (
        f"{len(records)} record(s), {len(checkpoints)} checkpoint(s); a second fetch from "
        f"the last one, as stored, repeated none ({len(again.records)} record(s))"
    )


def _processor(handle: PluginHandle) -> tuple[bool, str]:
    """Records out keep the ids and sources of the sample records in."""
    from ._kit import drive

    out = drive(handle, records=SAMPLE_RECORDS)
    # each record out comes from one record in: its source, and its id or a split's prefix
    bad = [
        r
        for r in out.records
        if not any(
            r.source == i.source and (r.id == i.id or r.id.startswith(i.id)) for i in SAMPLE_RECORDS
        )
    ]
    if bad:
        r = bad[0]
        return False, (
            f"returned a record with id {r.id!r} and source {r.source!r}, which no input "
            "had together; keep the id and source of the record you change (a split record's id "
            "starts with the original's)"
        )
    return True, (
        f"{len(SAMPLE_RECORDS)} sample record(s) in, {len(out.records)} out, ids and sources kept"
    )


def _analyzer(handle: PluginHandle) -> tuple[bool, str]:
    """``result()`` is a JSON-serialisable dict."""
    from ._kit import drive

    out = drive(handle, records=SAMPLE_RECORDS)
    if not isinstance(out.result, dict):
        return False, f"result() returned {type(out.result).__name__}, not a dict"
    try:
        json.dumps(out.result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return False, f"result() is not JSON-serialisable: {exc}"
    return True, f"result() is a JSON-serialisable dict with {len(out.result)} key(s)"


#: The contract of each kind, checked on the plugin's own output.
KIND_CHECKS: dict[str, Callable[[PluginHandle], tuple[bool, str]]] = {
    "connector": _connector,
    "processor": _processor,
    "analyzer": _analyzer,
}


def shutdown_check(handle: PluginHandle) -> tuple[str, bool, str]:
    """``shutdown()`` twice in a row does not fail."""
    try:
        for _ in range(2):
            handle.runner.call("shutdown", [], handle.timeout_s)
    except Exception as exc:  # in-process, the plugin's own exception comes as it is
        message = exc.message if isinstance(exc, WiseflowError) else f"{type(exc).__name__}: {exc}"
        return "shutdown idempotent", False, f"a second shutdown() failed: {message}"
    return "shutdown idempotent", True, "shutdown() twice in a row did not fail"
