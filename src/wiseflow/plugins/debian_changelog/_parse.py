"""Parse Debian changelog text (deb-changelog(5)) into entries, skipping malformed ones."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import final

__all__ = ["Entry", "parse_changelog"]

# package (version) distribution(s); key=value, ...
_HEADER = re.compile(r"^(?P<package>[a-z0-9][a-z0-9+.\-]*) \((?P<version>[^()\s]+)\) "
                     r"(?P<dists>[^;]*);(?P<meta>.*)$")  # fmt: skip
#  -- Name <email>  date   (the two spaces before the date are often one in old entries)
_TRAILER = re.compile(r"^ -- (?P<name>.*?) ?<(?P<email>[^>]*)>\s+(?P<date>\S.*?)\s*$")
_URGENCY = re.compile(r"urgency=(\w+)", re.IGNORECASE)


@final
class Entry:
    """One changelog entry."""

    __slots__ = ("author", "date", "distribution", "email", "package", "text", "urgency", "version")

    def __init__(
        self,
        *,
        package: str,
        version: str,
        distribution: str,
        urgency: str,
        author: str,
        email: str,
        date: datetime,
        text: str,
    ) -> None:
        self.package = package
        self.version = version
        self.distribution = distribution
        self.urgency = urgency
        self.author = author
        self.email = email
        self.date = date
        self.text = text


def _date(value: str) -> datetime | None:
    try:
        d = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if d is None or d.tzinfo is None:
        return None
    return d.astimezone(UTC)


def parse_changelog(
    text: str, skip: Callable[[str, str], bool] | None = None
) -> Iterator[Entry | str]:
    """Yield each well-formed entry, or a string saying why an entry was skipped.

    Args:
        skip: ``skip(package, version)`` true means "not wanted": the entry is passed
            over without parsing its body or date (the fast path for known entries).
    """
    header: re.Match[str] | None = None
    body: list[str] = []
    skipping = False
    for line in text.splitlines():
        if header is None:
            m = _HEADER.match(line)
            if m:
                header, body = m, []
                skipping = skip is not None and skip(m.group("package"), m.group("version"))
            continue
        if skipping:
            if line.startswith(" -- "):
                header = None
            elif line[:1].isalnum() and _HEADER.match(line):
                header = _HEADER.match(line)
                assert header is not None
                skipping = skip is not None and skip(
                    header.group("package"), header.group("version")
                )
            continue
        if line.startswith(" -- "):
            t = _TRAILER.match(line)
            date = _date(t.group("date")) if t else None
            if t is None or date is None:
                yield f"{header.group('package')} ({header.group('version')}): bad trailer {line!r}"
            else:
                meta = _URGENCY.search(header.group("meta"))
                yield Entry(
                    package=header.group("package"),
                    version=header.group("version"),
                    distribution=header.group("dists").strip(),
                    urgency=meta.group(1).lower() if meta else "unknown",
                    author=t.group("name").strip(),
                    email=t.group("email").strip(),
                    date=date,
                    text=_dedent(body),
                )
            header = None
            continue
        m = _HEADER.match(line)
        if m:  # a new header before a trailer: the previous entry is malformed
            yield f"{header.group('package')} ({header.group('version')}): no trailer"
            header, body = m, []
            continue
        body.append(line)
    if header is not None:
        yield f"{header.group('package')} ({header.group('version')}): truncated entry"


def _dedent(lines: list[str]) -> str:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(line[2:] if line.startswith("  ") else line.strip() for line in lines)
