"""Make plugin-supplied SVG safe to inline in a report.

Figures come from plugins, and sandboxed plugins are untrusted: an SVG may carry
``<script>``, event handlers, ``javascript:`` links or ``<foreignObject>`` HTML. Only a
whitelist of drawing elements and attributes survives; anything unparsable is replaced
by a note. The DOCTYPE is removed before parsing, so no entity can be declared.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import escape

__all__ = ["sanitize_svg"]

_NS = "{http://www.w3.org/2000/svg}"
_XLINK = "{http://www.w3.org/1999/xlink}href"
_ELEMENTS = {
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
    "tspan", "defs", "clipPath", "use", "title", "desc", "linearGradient", "radialGradient",
    "stop", "pattern", "mask", "marker", "symbol", "style", "metadata",
}  # fmt: skip
_BAD_CSS = re.compile(r"url\s*\(|@import|expression\s*\(|javascript:", re.IGNORECASE)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _clean(el: ET.Element) -> None:
    for child in list(el):
        name = _local(str(child.tag))
        if name not in _ELEMENTS or (name == "style" and _BAD_CSS.search(child.text or "")):
            el.remove(child)
            continue
        if name == "metadata":  # RDF noise, never drawn
            el.remove(child)
            continue
        _clean(child)
    for attr in list(el.attrib):
        local = _local(attr).lower()
        value = el.attrib[attr]
        handler = local.startswith("on")
        outside_link = local == "href" and not value.startswith("#")
        bad_style = local == "style" and _BAD_CSS.search(value) is not None
        if handler or outside_link or bad_style:
            del el.attrib[attr]


def sanitize_svg(body: str) -> str:
    """``body`` reduced to safe SVG markup, or an escaped note when it is not SVG."""
    text = re.sub(r"<\?xml[^>]*\?>", "", body)
    text = re.sub(r"<!DOCTYPE(?:[^>\[]|\[.*?\])*>", "", text, flags=re.IGNORECASE | re.DOTALL)
    try:
        root = ET.fromstring(text.strip())  # noqa: S314 - no DOCTYPE left, see above
    except ET.ParseError:
        return f"<p class='empty'>figure could not be shown: not SVG ({escape(body[:60])}…)</p>"
    if _local(str(root.tag)) != "svg":
        return "<p class='empty'>figure could not be shown: not an SVG document</p>"
    _clean(root)
    ET.register_namespace("", _NS[1:-1])
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ET.tostring(root, encoding="unicode")
