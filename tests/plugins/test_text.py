"""text: HTML stripping, normalisation, language, exact and near duplicates across batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wiseflow import Record
from wiseflow._pipeline import local_stage
from wiseflow.plugins.text._dedup import simhash


def _stage(tmp_path: Path, **config: Any) -> Any:
    return local_stage("text", config=config, data_dir=tmp_path)


def test_html_is_stripped_and_text_normalised(tmp_path: Path) -> None:
    """Tags, scripts and odd Unicode/whitespace become clean NFKC text with a language."""
    stage = _stage(tmp_path)
    (out,) = stage.process(
        [
            Record(
                id="1",
                source="s",
                title="  Ｔitle ",
                text="<p>The ﬁx is <b>in</b>\u00a0the  tree</p><script>x()</script>",
            )
        ]
    )
    stage.close()
    assert out.text == "The fix is in the tree"
    assert out.title == "Title"
    assert out.annotations["text"]["lang"] == "en"
    assert out.annotations["text"]["html"] is True


def test_exact_duplicates_are_found_across_batches(tmp_path: Path) -> None:
    """The same text in a later batch is annotated duplicate_of the first record."""
    stage = _stage(tmp_path, dedup="exact")
    stage.process([Record(id="a", source="s", text="Same  text here")])
    (dup,) = stage.process([Record(id="b", source="s", text="same text HERE")])
    stage.close()
    assert dup.annotations["text"]["duplicate_of"] == "a"


def test_near_duplicates_are_dropped_when_asked(tmp_path: Path) -> None:
    """SimHash near-duplicates (a word changed in a long text) are dropped; others kept."""
    base = " ".join(f"word{i}" for i in range(200))
    stage = _stage(tmp_path, dedup="near", dedup_action="drop")
    out = stage.process(
        [
            Record(id="a", source="s", text=base),
            Record(id="b", source="s", text=base.replace("word100", "changed")),
            Record(id="c", source="s", text="an entirely different short text about apples"),
        ]
    )
    stage.close()
    assert [r.id for r in out] == ["a", "c"]


def test_simhash_distance_grows_with_difference() -> None:
    """Similar texts have close fingerprints; unrelated texts are far apart."""
    a = simhash("the quick brown fox jumps over the lazy dog " * 5)
    b = simhash("the quick brown fox jumps over the lazy cat " * 5)
    c = simhash("lorem ipsum dolor sit amet consectetur adipiscing elit sed do")
    assert (a ^ b).bit_count() < (a ^ c).bit_count()


def test_bad_config_values_are_refused_before_running(tmp_path: Path) -> None:
    """Unknown dedup modes, unknown fields and bad periods are WF105 naming the plugin."""
    import pytest

    from wiseflow import ConfigError

    for plugin, config in [
        ("text", {"dedup": "maybe"}),
        ("text", {"colour": "red"}),
        ("trends", {"period": "fortnight"}),
        ("entities", {"kinds": ["cve", "planets"]}),
    ]:
        with pytest.raises(ConfigError) as info:
            local_stage(plugin, config=config, data_dir=tmp_path)
        assert info.value.code == "WF105"
        assert info.value.plugin in (plugin, "entities")
