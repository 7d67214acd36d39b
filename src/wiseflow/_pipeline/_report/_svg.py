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

The host parses what a plugin sent, so every step costs at most the figure's length once:
the prolog is skipped by a forward scan (regular expressions with nested repeats took
exponential time on a crafted DOCTYPE), a figure over :data:`MAX_CHARS`, or nesting deeper
than :data:`MAX_DEPTH` or holding more than :data:`MAX_ELEMENTS` elements, is refused by a
streaming parse before any tree is built, and the walk that cleans the tree uses no
recursion (a figure nested 5,000 deep ended the whole report with a RecursionError).
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from xml.parsers import expat

__all__ = ["MAX_CHARS", "MAX_DEPTH", "MAX_ELEMENTS", "NOT_SHOWN", "clean_svg", "svg_data_uri"]

#: The largest figure body shown (characters); a chart of the bundled analyzers is ~50 KB.
MAX_CHARS = 8 * 1024 * 1024
#: The deepest element nesting shown (charts nest fewer than 10 levels).
MAX_DEPTH = 128
#: The most elements in one figure (a 10,000-point scatter plot holds ~10,000).
MAX_ELEMENTS = 200_000
#: Why a figure is not drawn (the reports show its text instead).
NOT_SHOWN = (
    f"not an SVG document, or over {MAX_CHARS // (1024 * 1024)} MiB, {MAX_DEPTH} levels "
    f"or {MAX_ELEMENTS:,} elements"
)

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
_DOCTYPE_STOP = re.compile(r"[>\[]")  # where a DOCTYPE ends or a subset starts
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


def _clean(root: ET.Element) -> None:
    # A walk with a stack of its own: the depth is bounded before this runs, but the walk
    # needs no recursion either way. Children are kept by rebuilding the list at once
    # (``remove`` one by one is quadratic in a wide element).
    todo = [root]
    while todo:
        el = todo.pop()
        tag = str(el.tag)
        if not tag.startswith("{"):
            el.tag = f"{{{_SVG_NS}}}{tag}"  # an SVG without xmlns renders nowhere as an image
        kept = []
        for child in el:
            name = _local(str(child.tag))
            foreign = str(child.tag).startswith("{") and not str(child.tag).startswith(
                f"{{{_SVG_NS}}}"
            )
            bad_style = name == "style" and (len(child) > 0 or _BAD_CSS.search(child.text or ""))
            if name not in _ELEMENTS or foreign or bad_style:
                continue
            kept.append(child)
        if len(kept) != len(el):
            el[:] = kept
        for attr in list(el.attrib):
            if not _safe_attr(_local(attr).lower(), el.attrib[attr]):
                del el.attrib[attr]
        todo.extend(kept)


def _skip_prolog(text: str) -> int:
    """Where the root element starts: after the XML declaration, processing instructions,
    comments and one DOCTYPE (internal subset included), or 0 when the prolog is broken.

    One pass, no regular expression: every step moves forward (a DOCTYPE's ``[...]`` parts
    end at their first ``]``), so a prolog of any shape costs its length once.
    """
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if text.startswith("<?", pos):
            end = text.find("?>", pos + 2)
            if end < 0:
                return 0
            pos = end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            if end < 0:
                return 0
            pos = end + 3
        elif text[pos : pos + 9].upper() == "<!DOCTYPE":
            pos += 9
            while (stop := _DOCTYPE_STOP.search(text, pos)) is not None and stop[0] == "[":
                close = text.find("]", stop.end())
                if close < 0:
                    return 0
                pos = close + 1
            if stop is None:
                return 0
            pos = stop.end()
        else:
            return pos


def _shape(text: str) -> bool:
    """True when ``text`` parses within :data:`MAX_ELEMENTS` and :data:`MAX_DEPTH` (expat
    streams it: no tree is built for a document that would be refused)."""
    depth = count = 0

    def start(_name: str, _attrs: object) -> None:
        nonlocal depth, count
        depth += 1
        count += 1
        if depth > MAX_DEPTH or count > MAX_ELEMENTS:
            raise _TooBig

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(text, True)
    except (_TooBig, expat.ExpatError):
        return False
    return True


class _TooBig(Exception):
    pass


def clean_svg(body: str) -> str | None:
    """``body`` reduced to whitelisted SVG drawing markup, or None when it is not SVG
    (or larger than :data:`MAX_CHARS`, :data:`MAX_ELEMENTS` or :data:`MAX_DEPTH`)."""
    if len(body) > MAX_CHARS:
        return None
    text = body[_skip_prolog(body) :]
    if re.search(r"<!\s*(?:DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return None  # a second DOCTYPE, or one rebuilt from pieces: refuse, do not parse
    if not _shape(text):
        return None
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DOCTYPE left, see above
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
