"""A small stopword-based language detector: enough to tell common European languages apart."""

from __future__ import annotations

import re

__all__ = ["detect_language"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "the and of to in is that for it with as was on be by this are from at or an not "
        "have has but which were when if its new fix fixed add added use"
    ),
    "de": _words(
        "der die und das ist nicht ein eine zu den mit von sich des auf für im dem auch "
        "es als wird werden bei oder noch nach wie"
    ),
    "fr": _words(
        "le la les et des est un une du que pour dans qui pas sur au avec ce ne se "
        "plus par sont ou mais nous vous"
    ),
    "es": _words(
        "el la los las y de que en un una es por con para del se no al lo como más "
        "pero sus le ya está"
    ),
    "it": _words(
        "il lo la gli le di che e un una per non con del della sono si da al nel "
        "anche come più ma questo"
    ),
    "nl": _words(
        "de het een en van is dat niet op te met voor zijn er aan ook als bij maar "
        "om naar dan wordt"
    ),
    "pt": _words(
        "o a os as e de que em um uma para com não do da dos das se por mais como mas foi ao ele"
    ),
}
# word -> languages it is a stopword of: one dictionary lookup per word
_INDEX: dict[str, tuple[str, ...]] = {}
for _lang, _stop in _STOPWORDS.items():
    for _w in _stop:
        _INDEX[_w] = (*_INDEX.get(_w, ()), _lang)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str, *, min_hits: int = 2) -> tuple[str, float]:
    """The most likely language code and a confidence in [0, 1]; ``("und", 0.0)`` if unsure.

    Counts stopwords of each language among the first 400 words; confidence is the
    winner's share of all stopword hits.
    """
    words = _WORD.findall(text[:4000].lower(), 0)[:400]
    if not words:
        return "und", 0.0
    scores = dict.fromkeys(_STOPWORDS, 0)
    for w in words:
        for lang in _INDEX.get(w, ()):
            scores[lang] += 1
    lang, best = max(scores.items(), key=lambda kv: kv[1])
    total = sum(scores.values())
    if best < min_hits:
        return "und", 0.0
    return lang, round(best / total, 3)
