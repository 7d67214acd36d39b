"""The ``text`` processor."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

import msgspec

from wiseflow import PluginContext, ProcessorPlugin, Record

from ._dedup import ExactIndex, NearIndex
from ._lang import detect_language

__all__ = ["TextProcessor"]

_LOOKS_HTML = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*\b[^>]*|/[a-zA-Z][a-zA-Z0-9]*\s*)>")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANKS = re.compile(r"\n\s*\n\s*\n+")


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Configuration of ``text``.

    Attributes:
        strip_html: turn HTML in ``text`` into plain text (default true; text without
            tags is left alone).
        normalize: Unicode NFKC and whitespace clean-up (default true).
        detect_language: annotate ``annotations["text"]["lang"]`` (default true).
        dedup: ``"off"``, ``"exact"`` (same normalised text) or ``"near"`` (SimHash over
            word 3-shingles, Hamming distance <= ``near_distance``); default ``"exact"``.
        dedup_action: ``"annotate"`` (mark ``duplicate_of``) or ``"drop"`` (default annotate).
        near_distance: bits of difference still counted as near-duplicate, 0-3 (default 3).
    """

    strip_html: Annotated[
        bool,
        msgspec.Meta(
            description="turn HTML in `text` into plain text (text without tags is left alone)"
        ),
    ] = True
    normalize: Annotated[bool, msgspec.Meta(description="Unicode NFKC and whitespace clean-up")] = (
        True
    )
    detect_language: Annotated[
        bool, msgspec.Meta(description='annotate `annotations["text"]["lang"]`')
    ] = True
    dedup: Annotated[
        Literal["off", "exact", "near"],
        msgspec.Meta(
            description="`off`, `exact` (same normalised text) or `near` (SimHash over word "
            "3-shingles, within `near_distance` bits)"
        ),
    ] = "exact"
    dedup_action: Annotated[
        Literal["annotate", "drop"],
        msgspec.Meta(description="`annotate` (mark `duplicate_of`) or `drop` duplicates"),
    ] = "annotate"
    near_distance: Annotated[
        int,
        msgspec.Meta(ge=0, le=3, description="bits of difference still counted as near-duplicate"),
    ] = 3


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment or page (scripts and styles removed)."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    root = tree.body or tree.root
    if root is None:
        return ""
    return str(root.text(separator=" ", strip=False))


def normalize(text: str) -> str:
    """NFKC, unified line ends, runs of spaces collapsed, at most one blank line."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANKS.sub("\n\n", text).strip()


class TextProcessor(ProcessorPlugin):
    """Cleans and annotates ``text`` (and ``title``); duplicate state spans the whole run."""

    Config = Config

    def initialize(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config: Config = ctx.config
        self.exact = ExactIndex()
        self.near = NearIndex(self.config.near_distance) if self.config.dedup == "near" else None

    def process(self, batch: list[Record]) -> list[Record]:
        cfg = self.config
        out: list[Record] = []
        for record in batch:
            text, title = record.text, record.title
            note: dict[str, Any] = dict(record.annotations.get("text", {}))
            if cfg.strip_html and _LOOKS_HTML.search(text):
                text = html_to_text(text)
                note["html"] = True
            if cfg.normalize:
                text = normalize(text)
                title = normalize(title)
            if cfg.detect_language:
                lang, confidence = detect_language(f"{title}\n{text}")
                note["lang"] = lang
                note["lang_confidence"] = confidence
            duplicate: str | None = None
            basis = f"{title}\n{text}"
            if cfg.dedup == "exact":
                duplicate = self.exact.check(record.id, basis)
            elif self.near is not None:
                found = self.near.check(record.id, basis)
                if found is not None:
                    duplicate = found[0]
                    note["distance"] = found[1]
            if duplicate is not None:
                if cfg.dedup_action == "drop":
                    continue
                note["duplicate_of"] = duplicate
            note["chars"] = len(text)
            out.append(
                record.replace(
                    text=text, title=title, annotations={**record.annotations, "text": note}
                )
            )
        return out
