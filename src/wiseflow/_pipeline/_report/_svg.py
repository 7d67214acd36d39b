"""Plugin SVG for a report: checked, reduced, and packed as a ``data:`` URI for an ``<img>``.

Figures come from plugins, and sandboxed plugins are untrusted. The report never inlines
their SVG: it shows it as ``<img src="data:image/svg+xml;base64,...">``. A browser renders
an SVG image as an isolated document that runs no script, loads nothing external and
cannot style the page around it; that is the mechanism. Reducing the SVG to a whitelist of
drawing elements and attributes (no ``<script>``, ``<foreignObject>``, event handlers,
links out, or CSS that can fetch: ``url()`` other than ``url(#id)``, ``image-set``,
``@import``, ``@font-face``, escapes) is a second layer, so the data URI holds only a
drawing even for a viewer that shows SVG some other way. The DOCTYPE is removed before
parsing (an SVG that still has one after that is refused), so no entity can be
declared.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

__all__ = ["clean_svg", "svg_data_uri"]

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_ELEMENTS = {
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
    "tspan", "defs", "clipPath", "use", "title", "desc", "linearGradient", "radialGradient",
    "stop", "pattern", "mask", "marker", "symbol", "style",
}  # fmt: skip
# CSS that can fetch or hide a fetch: url(), image-set(), @import, @font-face, and any
# backslash, since CSS escapes (`\75 rl(`) spell the other words past a plain search.
_BAD_CSS = re.compile(
    r"\\|url\s*\(|image-set|@import|@font-face|@namespace|expression\s*\(|javascript:|"
    r"-moz-binding|behavior\s*:",
    re.IGNORECASE,
)
_LOCAL_URL = re.compile(r"\s*url\(\s*#[A-Za-z0-9_.:-]+\s*\)\s*")  # fill="url(#grad)"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _safe_attr(local: str, value: str) -> bool:
    if local.startswith("on"):
        return False  # event handlers
    if local == "href":
        return value.startswith("#") and _BAD_CSS.search(value) is None
    if local == "style":
        return _BAD_CSS.search(value) is None
    if re.search(r"url\s*\(", value, re.IGNORECASE) or "\\" in value:
        return _LOCAL_URL.fullmatch(value) is not None
    return True


def _clean(el: ET.Element) -> None:
    tag = str(el.tag)
    if not tag.startswith("{"):
        el.tag = f"{{{_SVG_NS}}}{tag}"  # an SVG without xmlns renders nowhere as an image
    for child in list(el):
        name = _local(str(child.tag))
        foreign = str(child.tag).startswith("{") and not str(child.tag).startswith(f"{{{_SVG_NS}}}")
        bad_style = name == "style" and (len(child) > 0 or _BAD_CSS.search(child.text or ""))
        if name not in _ELEMENTS or foreign or bad_style:
            el.remove(child)
            continue
        _clean(child)
    for attr in list(el.attrib):
        if not _safe_attr(_local(attr).lower(), el.attrib[attr]):
            del el.attrib[attr]


def clean_svg(body: str) -> str | None:
    """``body`` reduced to whitelisted SVG drawing markup, or None when it is not SVG."""
    text = re.sub(r"<\?xml[^>]*\?>", "", body)
    text = re.sub(r"<!DOCTYPE(?:[^>\[]|\[.*?\])*>", "", text, flags=re.IGNORECASE | re.DOTALL)
    if re.search(r"<!\s*(?:DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return None  # one rebuilt from the pieces around a removed one: refuse, do not parse
    try:
        root = ET.fromstring(text.strip())  # noqa: S314 - no DOCTYPE left, see above
    except ET.ParseError:
        return None
    if str(root.tag) not in ("svg", f"{{{_SVG_NS}}}svg"):
        return None
    _clean(root)
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    return ET.tostring(root, encoding="unicode")


def svg_data_uri(body: str) -> str | None:
    """``body`` cleaned and packed as ``data:image/svg+xml;base64,...``; None if not SVG.

    Example:
        ``<img src="{svg_data_uri(fig.body)}">``: the only way a report shows plugin SVG.
    """
    clean = clean_svg(body)
    if clean is None:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(clean.encode("utf-8")).decode("ascii")
