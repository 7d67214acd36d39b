"""The Linux constants confinement uses are defined once, in ``_sandbox/_sys.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import wiseflow._sandbox

SANDBOX = Path(wiseflow._sandbox.__file__).parent


def test_prctl_options_are_defined_only_in_sys() -> None:
    """No sandbox module keeps its own copy of a ``PR_*`` number (copies drift apart)."""
    for source in sorted(SANDBOX.glob("*.py")):
        if source.name == "_sys.py":
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                assert not [n for n in names if n.lstrip("_").startswith("PR_")], (
                    f"{source.name} defines {names}; import it from _sys"
                )


def test_sys_names_the_prctl_options_the_sandbox_uses() -> None:
    """The options keep their kernel numbers (linux/prctl.h)."""
    from wiseflow._sandbox import _sys

    assert (_sys.PR_SET_PDEATHSIG, _sys.PR_SET_KEEPCAPS, _sys.PR_SET_NAME) == (1, 8, 15)
    assert (_sys.PR_CAPBSET_DROP, _sys.PR_SET_NO_NEW_PRIVS, _sys.PR_CAP_AMBIENT) == (24, 38, 47)
    assert _sys.PR_CAP_AMBIENT_CLEAR_ALL == 4
