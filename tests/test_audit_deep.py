"""The static audit against source nested too deeply for Python's own parser."""

from __future__ import annotations

from wiseflow._policy._audit._source import scan


def test_source_too_deep_for_the_parser_is_refused_as_unparsable_not_a_crash() -> None:
    # ast.parse raises MemoryError (not SyntaxError) on this: it used to escape the audit
    source = "import os\nos.system('x')\nx = " + "-" * 200_000 + "1\n"
    findings = scan(source, "deep.py")
    assert findings[0].rule == "unparsable" and findings[0].severity == "high"
    assert "nested too deeply" in findings[0].message
    # still read line by line, as any source that does not parse
    assert any(f.rule == "subprocess" for f in findings[1:]), findings


def test_positive_control_the_same_source_shallow_is_audited_normally() -> None:
    findings = scan("import os\nos.system('x')\nx = " + "-" * 20 + "1\n", "shallow.py")
    assert all(f.rule != "unparsable" for f in findings)
    assert any(f.rule == "subprocess" for f in findings)
