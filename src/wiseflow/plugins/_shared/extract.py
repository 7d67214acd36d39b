"""Rule-based entity extraction from a record (used by the ``entities`` and ``trends`` analyzers).

Kinds: ``cve`` (CVE-2024-1234), ``package`` (``data.package`` and "pkg (1.2-3)"
mentions), ``version``, ``person`` (the record's author), ``email_domain``, ``domain``
(of URLs), ``issue`` (``Closes: #N`` → ``debian#N``, ``LP: #N`` → ``lp#N``, ``GH-N``/``#N``
→ ``#N``, or ``debian#N`` in a Debian changelog entry).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from wiseflow import Record

__all__ = ["KINDS", "extract"]

KINDS = ("cve", "package", "version", "person", "email_domain", "domain", "issue")

_CVE = re.compile(r"\bCVE-(\d{4})-(\d{4,7})\b", re.IGNORECASE)
# "pkg (1.2-3)": find the cheap " (digit" anchor first, then the name just before it.
_VERSION_PAREN = re.compile(r" \((\d[\w.+~:\-]*)\)")
_NAME_BEFORE = re.compile(r"(?:^|[^a-z0-9+.\-])([a-z0-9][a-z0-9+.\-]{1,60})$")
_EMAIL = re.compile(r"\b[\w.+\-]+@([\w\-]+(?:\.[\w\-]+)+)\b")
_URL = re.compile(r"\bhttps?://[^\s<>()\"']+", re.IGNORECASE)
_CLOSES = re.compile(r"closes:\s*((?:(?:bug)?#?\d+[,\s]*)+)", re.IGNORECASE)
_LP = re.compile(r"\bLP:\s*((?:#\d+[,\s]*)+)", re.IGNORECASE)
_HASH = re.compile(r"(?<![\w&/])(?:GH-|#)(\d{1,7})\b")
_NUM = re.compile(r"\d+")


def _domain(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.lower().removeprefix("www.")


def _pkg_versions(text: str) -> list[tuple[str, str]]:
    out = []
    for m in _VERSION_PAREN.finditer(text):
        before = _NAME_BEFORE.search(text, max(0, m.start() - 62), m.start())
        if before:
            out.append((before.group(1), m.group(1)))
    return out


def extract(
    record: Record, kinds: frozenset[str] | set[str] = frozenset(KINDS), *, own: bool = True
) -> set[str]:
    """The entities of ``record`` as ``"kind:value"`` strings (each once per record).

    Args:
        own: count the record's own ``data.package`` as a package found; False keeps
            only the packages its text names (``pkg (1.2-3)``): mentions, not entries.
    """
    out: set[str] = set()
    text = f"{record.title}\n{record.text}"
    lower = text.lower()  # cheap substring tests skip most regex scans
    data = record.data
    if "cve" in kinds and "cve-" in lower:
        out.update(f"cve:CVE-{y}-{n}" for y, n in _CVE.findall(text))
    want_pkg, want_ver = "package" in kinds, "version" in kinds
    if want_pkg or want_ver:
        pkg = data.get("package")
        if want_pkg and own and isinstance(pkg, str) and pkg:
            out.add(f"package:{pkg}")
        ver = data.get("version")
        if want_ver and isinstance(ver, str) and ver and isinstance(pkg, str):
            out.add(f"version:{pkg} {ver}")
        for name, version in _pkg_versions(text) if " (" in text else ():
            if want_pkg:
                out.add(f"package:{name}")
            if want_ver:
                out.add(f"version:{name} {version}")
    if "person" in kinds:
        author = record.author or data.get("author")
        if isinstance(author, str) and author.strip():
            out.add(f"person:{author.strip()}")
    if "email_domain" in kinds:
        email = data.get("email")
        if isinstance(email, str) and "@" in email:
            out.add(f"email_domain:{email.rsplit('@', 1)[1].lower()}")
        if "@" in text:
            out.update(f"email_domain:{d.lower()}" for d in _EMAIL.findall(text))
    if "domain" in kinds:
        urls = _URL.findall(text) if "://" in text else []
        for url in urls + ([record.url] if record.url else []):
            d = _domain(url)
            if d:
                out.add(f"domain:{d}")
    if "issue" in kinds:
        seen: set[str] = set()
        for m in _CLOSES.finditer(text) if "closes" in lower else ():
            for n in _NUM.findall(m.group(1)):
                out.add(f"issue:debian#{n}")
                seen.add(n)
        for m in _LP.finditer(text) if "lp:" in lower else ():
            for n in _NUM.findall(m.group(1)):
                out.add(f"issue:lp#{n}")
                seen.add(n)
        # In a Debian changelog a bare "#123456" is a Debian bug number too.
        prefix = "debian#" if record.kind == "changelog-entry" else "#"
        for n in _HASH.findall(text) if "#" in text or "gh-" in lower else ():
            if n not in seen:
                out.add(f"issue:{prefix}{n}")
    return out
