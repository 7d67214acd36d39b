"""The ``entities`` analyzer: counts per kind, ranks, and a co-occurrence graph."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Annotated, Any, Literal

import msgspec

from wiseflow import AnalyzerPlugin, Figure, PluginContext, Record
from wiseflow.plugins._shared.extract import KINDS, extract
from wiseflow.plugins._shared.ranking import LABELS, ranked

from ._mentions import Mentions
from ._security import Coverage, Security, security_tables

__all__ = ["EntitiesAnalyzer"]

# Kinds that make useful graph nodes. Versions are too many and too specific; e-mail
# domains are hubs (debian.org pairs with everyone) that crowd out the real pairs.
_GRAPH_KINDS = ("cve", "package", "person", "issue", "domain")
_PAIR_LIMIT = 200_000  # distinct pairs kept before singletons are pruned (bounded memory)


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Configuration of ``entities``.

    Attributes:
        kinds: entity kinds to extract (default all: cve, package, version, person,
            email_domain, domain, issue).
        top: how many entities to rank per kind and pairs in the graph (default 15).
        backend: ``"rules"`` (default) or ``"spacy"`` (adds ``org``/``place``/``person``
            from spaCy's ``en_core_web_sm`` when importable; falls back to rules).
    """

    kinds: Annotated[
        list[str], msgspec.Meta(description=f"entity kinds to extract, of: {', '.join(KINDS)}")
    ] = msgspec.field(default_factory=lambda: list(KINDS))
    top: Annotated[
        int,
        msgspec.Meta(ge=0, description="how many entities to rank per kind and pairs in the graph"),
    ] = 15
    backend: Annotated[
        Literal["rules", "spacy"],
        msgspec.Meta(
            description="`rules`, or `spacy` (adds org/place/person from en_core_web_sm "
            "when importable; falls back to rules)"
        ),
    ] = "rules"


class EntitiesAnalyzer(AnalyzerPlugin):
    """Streams records, counts entities per kind and pairs of entities seen together."""

    Config = Config

    def initialize(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config: Config = ctx.config
        unknown = set(self.config.kinds) - set(KINDS)
        if unknown:
            from wiseflow import ConfigError

            raise ConfigError(
                f"entities: unknown kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}",
                plugin="entities",
            )
        self.kinds = frozenset(self.config.kinds)
        self.counts: Counter[str] = Counter()
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.records = 0
        self.with_entities = 0
        self.entries: Counter[str] = Counter()  # records per own data.package
        self.coverage = Coverage()
        self.mentions = Mentions()
        self.security = Security()
        self.nlp: Any = None
        self.backend = "rules"
        if self.config.backend == "spacy":
            try:
                import spacy  # type: ignore[import-not-found]

                self.nlp = spacy.load("en_core_web_sm")
                self.backend = "spacy"
            except Exception as exc:  # not installed, or no model: rules only
                ctx.log.info("spaCy backend unavailable (%s); using rules", exc)

    def analyze(self, batch: list[Record]) -> None:
        for record in batch:
            self.records += 1
            self.coverage.add(record)
            # packages count where the text names them; a record's own package is an entry
            found = extract(record, self.kinds, own=False)
            if self.nlp is not None:
                found |= self._spacy(record)
            own = record.data.get("package")
            own = own[:200] if isinstance(own, str) and own else None
            if own is not None and "package" in self.kinds:
                self.entries[own] += 1
                self.mentions.add(record.text)
            self.security.add(record, sorted(e[4:] for e in found if e.startswith("cve:")))
            if not found:
                continue
            self.with_entities += 1
            self.counts.update(found)
            graph = found | ({f"package:{own}"} if own and "package" in self.kinds else set())
            nodes = sorted(e for e in graph if e.split(":", 1)[0] in _GRAPH_KINDS)[:25]
            self.pairs.update(combinations(nodes, 2))
        if len(self.pairs) > _PAIR_LIMIT:
            self.pairs = Counter({k: v for k, v in self.pairs.items() if v > 1})

    def _spacy(self, record: Record) -> set[str]:
        labels = {"ORG": "org", "GPE": "place", "PERSON": "person"}
        doc = self.nlp(record.text[:5000])
        return {f"{labels[e.label_]}:{e.text}" for e in doc.ents if e.label_ in labels}

    def result(self) -> dict[str, Any]:
        top = self.config.top
        by_kind: dict[str, Counter[str]] = {}
        for key, n in self.counts.items():
            kind, value = key.split(":", 1)
            by_kind.setdefault(kind, Counter())[value] = n
        if self.entries:  # records about packages: mentions are their names in the texts
            by_kind["package"] = self.mentions.packages(set(self.entries))
        kinds = {
            kind: {
                "distinct": len(c),
                "mentions": sum(c.values()),
                "top": [[value, n] for value, n in ranked(c, top)],
            }
            for kind, c in sorted(by_kind.items())
        }
        common = ranked(self.pairs, top * 2)
        edges: list[list[Any]] = [[a, b, n] for (a, b), n in common]
        nodes = sorted({x for pair, _ in common for x in pair})
        security = self.security.result(top)
        coverage = self.coverage.result()
        analyst = bool(security["entries_with_cves"] or security["urgency"])
        tables = security_tables(security) if analyst else []
        tables += [
            {"title": _title(kind), "columns": [kind, _unit(kind)], "rows": info["top"]}
            for kind, info in kinds.items()
        ]
        entries = [[p, n] for p, n in ranked(self.entries, top)]
        if entries:
            tables.append(
                {"title": "Entries per package", "columns": ["package", "entries"], "rows": entries}
            )
        tables.append(
            {
                "title": "Entities seen together most often",
                "columns": ["entity", "entity", "records"],
                "rows": edges[:top],
            }
        )
        return {
            "records": self.records,
            "records_with_entities": self.with_entities,
            "backend": self.backend,
            "kinds": kinds,
            "cooccurrence": {"nodes": nodes, "edges": edges},
            "entries_per_package": entries,
            "coverage": coverage,
            "security": security,
            "cards": _cards(coverage, security if analyst else None),
            "lead_figures": (bool(security["by_package"]) + bool(security["urgency"]))
            if analyst
            else 0,
            "tables": tables,
        }

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        from wiseflow.plugins._shared.charts import bar_chart

        def bars(title: str, rows: list[list[Any]], xlabel: str, col: int = 1) -> None:
            if rows:
                values = [r[col] for r in rows[:12]]
                chart = bar_chart([str(r[0]) for r in rows[:12]], values, xlabel=xlabel)
                figures.append(Figure(title, chart))

        figures: list[Figure | str] = []
        sec = result.get("security") or {}
        bars("CVE fixes per package", sec.get("by_package") or [], "CVEs fixed")
        bars("Uploads by urgency", sec.get("urgency") or [], "changelog entries")
        # CVEs are named a handful of times each: their ranking is a table, not a chart
        for kind in ("package", "person", "issue", "domain", "email_domain"):
            info = result.get("kinds", {}).get(kind)
            if info and info["top"]:
                bars(_title(kind), info["top"], _unit(kind))
        bars("Entries per package (most-patched)", result.get("entries_per_package") or [],
             "changelog entries")  # fmt: skip
        return figures


def _title(kind: str) -> str:
    return "Most active people" if kind == "person" else f"Most mentioned {LABELS.get(kind, kind)}"


def _unit(kind: str) -> str:
    return "records they signed" if kind == "person" else "records naming it"


def _cards(coverage: dict[str, Any], security: dict[str, Any] | None) -> list[list[Any]]:
    """Key figures of the data covered, for the report's cards."""
    cards: list[list[Any]] = [["records analyzed", coverage["records"]]]
    if coverage["first"]:
        cards.append(["first dated record", coverage["first"][:10]])
        cards.append(["last dated record", coverage["last"][:10]])
    if security is not None:
        cards.append(["distinct CVEs fixed", security["distinct_cves"]])
        cards.append(["high / critical / emergency uploads", security["urgent"]])
    return cards
