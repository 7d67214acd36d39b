"""The ``entities`` analyzer: counts per kind, ranks, and a co-occurrence graph."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Annotated, Any, Literal

import msgspec

from wiseflow import AnalyzerPlugin, Figure, PluginContext, Record
from wiseflow.plugins._shared.extract import KINDS, extract
from wiseflow.plugins._shared.ranking import LABELS, ranked

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
        int, msgspec.Meta(description="how many entities to rank per kind and pairs in the graph")
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
            found = extract(record, self.kinds)
            if self.nlp is not None:
                found |= self._spacy(record)
            if not found:
                continue
            self.with_entities += 1
            self.counts.update(found)
            nodes = sorted(e for e in found if e.split(":", 1)[0] in _GRAPH_KINDS)[:25]
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
        tables = [
            {
                "title": f"Top {LABELS.get(kind, kind)}",
                "columns": [kind, "records"],
                "rows": info["top"],
            }
            for kind, info in kinds.items()
        ]
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
            "tables": tables,
        }

    def render(self, result: dict[str, Any]) -> list[Figure | str]:
        from wiseflow.plugins._shared.charts import bar_chart

        figures: list[Figure | str] = []
        for kind in ("cve", "package", "person", "issue", "domain", "email_domain"):
            info = result.get("kinds", {}).get(kind)
            if not info or not info["top"]:
                continue
            rows = info["top"][:12]
            title = f"Most mentioned {LABELS.get(kind, kind)}"
            figures.append(Figure(title, bar_chart([r[0] for r in rows], [r[1] for r in rows])))
        return figures
