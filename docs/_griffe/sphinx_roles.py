"""Griffe extension for the docs build: render reST roles in docstrings as inline code.

The source's docstrings are Google style but use Sphinx roles for names
(:class:`~wiseflow.PermissionDenied`, :meth:`replace`) and ``Text::`` before literal
blocks. Markdown has neither, so this turns a role into ``PermissionDenied`` (code) and a
trailing ``::`` into ``:``, leaving the source untouched.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|data|attr|mod|exc|obj|const):`~?([^`]+)`")
_LITERAL = re.compile(r"(?<=\S)::$", re.MULTILINE)


def _fix(text: str) -> str:
    text = _ROLE.sub(lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`"
                     if "`~" in m.group(0) else f"`{m.group(1)}`", text)
    return _LITERAL.sub(":", text)


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring once, as griffe loads it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _fix(obj.docstring.value)
