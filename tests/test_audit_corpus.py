"""The audit measured on labelled samples: recall on malicious statements, high rate on benign.

``tests/audit_corpus/malicious`` holds code written after public reports of malicious
packages (droppers, stealers, reverse shells, persistence, install hooks, steganography);
each malicious statement ends in ``# MAL``. ``tests/audit_corpus/benign`` holds look-alikes
of ordinary plugin code; each file's first line says what its manifest would declare
(``# declares: subprocess; env=A,B; network=host:443; fs_read={root}``).
"""

from __future__ import annotations

from pathlib import Path

from wiseflow._policy._audit import audit_source
from wiseflow._policy._audit._declared import Declared

CORPUS = Path(__file__).parent / "audit_corpus"
HIGH = ("high", "critical")


def declared(source: str) -> Declared:
    """The permissions a benign sample's header declares."""
    first = source.splitlines()[0]
    assert first.startswith("# declares:"), "a benign sample starts with # declares:"
    perms: dict[str, tuple[str, ...]] = {}
    subprocess = False
    for part in first.removeprefix("# declares:").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "subprocess":
            subprocess = True
        elif key:
            perms[key] = tuple(v.strip() for v in value.split(","))
    return Declared(
        network=perms.get("network", ()),
        env=perms.get("env", ()),
        fs_read=perms.get("fs_read", ()),
        subprocess=subprocess,
    )


def malicious_recall(*, against: Declared | None) -> tuple[int, int, list[str]]:
    """(flagged, marked, misses) over every ``# MAL`` line of the malicious samples."""
    flagged = marked = 0
    misses = []
    for path in sorted((CORPUS / "malicious").rglob("*.py")):
        source = path.read_text()
        lines = {line for _, _, _, line in audit_source(source, str(path), against)}
        for number, text in enumerate(source.splitlines(), 1):
            if text.rstrip().endswith("# MAL"):
                marked += 1
                if number in lines:
                    flagged += 1
                else:
                    misses.append(f"{path.name}:{number}: {text.strip()}")
    return flagged, marked, misses


def benign_high(*, with_manifest: bool) -> tuple[int, int, list[str]]:
    """(files with a high finding, files, which) over the benign samples."""
    files = sorted((CORPUS / "benign").rglob("*.py"))
    high = []
    for path in files:
        source = path.read_text()
        perms = declared(source) if with_manifest else None
        worst = [f for f in audit_source(source, str(path), perms) if f[1] in HIGH]
        if worst:
            high.append(f"{path.name}:{worst[0][3]}: {worst[0][0]} {worst[0][2]}")
    return len(high), len(files), high


def test_corpus_is_big_enough() -> None:
    """At least 40 malicious and 40 benign samples, with 100+ marked statements."""
    assert len(list((CORPUS / "malicious").rglob("*.py"))) >= 40
    assert len(list((CORPUS / "benign").rglob("*.py"))) >= 40
    assert malicious_recall(against=None)[1] >= 100


def test_malicious_statements_are_flagged() -> None:
    """At least 90% of the marked malicious statements get a finding on their line."""
    flagged, marked, misses = malicious_recall(against=None)
    recall = flagged / marked
    print(f"\nrecall on malicious statements: {flagged}/{marked} = {recall:.1%}")
    print("\n".join(f"  missed {m}" for m in misses))
    assert recall >= 0.9, misses


def test_malicious_statements_in_a_plugin_declaring_nothing() -> None:
    """Judged against an empty manifest, recall does not drop (mismatch only raises)."""
    flagged, marked, _ = malicious_recall(against=Declared())
    assert flagged >= malicious_recall(against=None)[0]
    assert flagged / marked >= 0.9


def test_benign_look_alikes_are_rarely_high() -> None:
    """At most 5% of benign samples have a high finding, with or without their manifest."""
    for with_manifest in (True, False):
        high, files, which = benign_high(with_manifest=with_manifest)
        rate = high / files
        label = "with manifest" if with_manifest else "code alone"
        print(f"\nbenign rated high ({label}): {high}/{files} = {rate:.1%}")
        print("\n".join(f"  high {w}" for w in which))
        assert rate <= 0.05, which
