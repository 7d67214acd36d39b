"""Dependency resolution: versions, load order, and errors a person can act on."""

from __future__ import annotations

import random

from conftest_discovery import cand
from wiseflow._contract._version import PLUGIN_API_VERSION
from wiseflow._resolve import Resolution, dependency_tree, render_tree, resolve


def problem(res: Resolution, plugin: str) -> tuple[str, str]:
    [p] = res.problems_for(plugin)
    assert p.hint
    return p.code, p.message


def test_highest_version_satisfying_every_requirement_is_chosen_and_explained() -> None:
    """Among several versions, the highest in range wins, and the explanation says why."""
    res = resolve(
        [
            cand("text", "1.0"),
            cand("text", "2.1.0"),
            cand("text", "3.0"),
            cand("github", "1.2.0", {"text": ">=2,<3"}),
        ],
        want=["github"],
    )
    assert res.selected["text"].version == "2.1.0"
    assert res.problems == ()
    assert res.explanations["text"].startswith(
        "2.1.0: highest of 1.0, 2.1.0, 3.0 satisfying text>=2,<3 (required by github 1.2.0)"
    )
    assert res.explanations["github"].startswith("1.2.0: highest of 1.2.0 (requested)")


def test_load_order_puts_dependencies_first_and_unload_reverses_it() -> None:
    """Every plugin loads after what it requires; unloading goes the other way."""
    res = resolve(
        [cand("app", "1", {"db": "", "log": ""}), cand("db", "1", {"log": ""}), cand("log", "1")]
    )
    assert res.order == ("log", "db", "app")
    assert res.unload_order == ("app", "db", "log")
    assert res.depends == {"app": ("db", "log"), "db": ("log",), "log": ()}


def test_want_resolves_only_those_plugins_and_what_they_need() -> None:
    """With want, unrelated plugins are neither selected nor reported."""
    res = resolve(
        [cand("a", "1", {"b": ""}), cand("b", "1"), cand("c", "1"), cand("broken", "1", {"x": ""})],
        want=["a"],
    )
    assert set(res.selected) == {"a", "b"}
    assert res.problems == ()


def test_missing_dependency_is_wf201_naming_who_needs_it_and_the_range() -> None:
    """A requirement on a plugin nobody offers is WF201 with requirer and range."""
    res = resolve([cand("github", "1.2.0", {"text": ">=1.0,<2"})])
    code, message = problem(res, "github")
    assert code == "WF201"
    assert "github 1.2.0 requires text>=1.0,<2" in message
    assert "no plugin named 'text'" in message
    assert "github" not in res.selected


def test_unknown_wanted_plugin_is_wf201() -> None:
    """Asking for a plugin that does not exist is WF201, not a crash."""
    assert problem(resolve([], want=["nope"]), "nope")[0] == "WF201"


def test_conflict_is_wf202_with_the_chain_that_cannot_hold() -> None:
    """Two requirers wanting disjoint ranges: WF202 lists both, the chain and what exists."""
    res = resolve(
        [
            cand("text", "1.0"),
            cand("text", "2.1"),
            cand("github", "1.2", {"text": ">=2"}),
            cand("summarize", "0.3", {"text": "<2"}),
            cand("app", "1.0", {"github": "", "summarize": ""}),
        ],
        want=["app"],
    )
    code, message = problem(res, "app")
    assert code == "WF202"
    assert "github 1.2 requires text>=2 (via app 1.0)" in message
    assert "summarize 0.3 requires text<2 (via app 1.0)" in message
    assert "available: text 1.0, 2.1" in message
    assert res.selected == {}


def test_conflict_between_requested_plugins_keeps_the_first_and_reports_the_other() -> None:
    """Resolving everything: a plugin clashing with one already chosen is WF202, others load."""
    res = resolve(
        [
            cand("text", "1.0"),
            cand("text", "2.1"),
            cand("github", "1.2", {"text": ">=2"}),
            cand("summarize", "0.3", {"text": "<2"}),
        ]
    )
    assert set(res.selected) == {"github", "text"}
    code, message = problem(res, "summarize")
    assert code == "WF202"
    assert "summarize 0.3 requires text<2" in message
    assert "github 1.2 requires text>=2" in message
    assert res.explanations["summarize"].startswith("not selected: ")
    assert res.rejected["summarize"].version == "0.3"


def test_backtracking_picks_an_older_version_when_the_newest_conflicts() -> None:
    """If the newest version of a dependency needs something impossible, an older one is used."""
    res = resolve(
        [
            cand("app", "1", {"lib": "", "core": ">=2"}),
            cand("lib", "2.0", {"core": "<2"}),
            cand("lib", "1.0", {"core": ""}),
            cand("core", "1.0"),
            cand("core", "2.0"),
        ],
        want=["app"],
    )
    assert res.problems == ()
    assert {n: c.version for n, c in res.selected.items()} == {
        "app": "1",
        "lib": "1.0",
        "core": "2.0",
    }
    assert "2.0 also fits" in res.explanations["lib"]


def test_cycle_is_wf203_with_the_path_and_dependents_fail_too() -> None:
    """A cycle is reported as 'a -> b -> c -> a' for each member; what needs it fails as well."""
    res = resolve(
        [
            cand("a", "1", {"b": ""}),
            cand("b", "1", {"c": ""}),
            cand("c", "1", {"a": ""}),
            cand("user", "1", {"a": ""}),
            cand("free", "1"),
        ]
    )
    assert set(res.selected) == {"free"}
    assert problem(res, "a") == ("WF203", "dependency cycle: a -> b -> c -> a")
    assert problem(res, "b") == ("WF203", "dependency cycle: b -> c -> a -> b")
    code, message = problem(res, "user")
    assert code == "WF203"
    assert "a -> b -> c -> a" in message


def test_self_requirement_in_a_handmade_manifest_is_a_cycle() -> None:
    """A plugin requiring itself (possible only when built by hand) is WF203, not a hang."""
    assert problem(resolve([cand("me", "1", {"me": ""})]), "me")[0] == "WF203"


def test_api_incompatible_plugin_is_wf204() -> None:
    """A manifest api range excluding the host's plugin API is WF204."""
    res = resolve([cand("future", "1", api=">=2")])
    code, message = problem(res, "future")
    assert code == "WF204"
    assert PLUGIN_API_VERSION in message


def test_python_incompatible_plugin_is_wf205() -> None:
    """A manifest python range excluding the Python in use is WF205."""
    res = resolve([cand("old", "1", python="<3.8")])
    assert problem(res, "old")[0] == "WF205"
    assert resolve([cand("old", "1", python="<3.8")], python_version="3.7.1").problems == ()


def test_unparsable_ranges_and_versions_fail_closed() -> None:
    """Anything unparsable is an error, never 'compatible'."""
    cases = {
        "badapi": cand("badapi", "1", api="one-ish"),
        "badpy": cand("badpy", "1", python="3.11 please"),
        "badver": cand("badver", "one"),
        "badreq": cand("badreq", "1", {"x": "~~1"}),
    }
    res = resolve(list(cases.values()))
    assert res.selected == {}
    assert problem(res, "badapi")[0] == "WF204"
    assert problem(res, "badpy")[0] == "WF205"
    assert problem(res, "badver")[0] == "WF101"
    assert problem(res, "badreq")[0] == "WF101"
    assert problem(resolve([cand("x", "1")], api_version="garbage"), "x")[0] == "WF204"
    assert problem(resolve([cand("x", "1", python=">=3")], python_version="?"), "x")[0] == "WF205"


def test_incompatible_newest_version_is_skipped_for_a_compatible_older_one() -> None:
    """When only the newest version needs a newer API, the older one is chosen, with a note."""
    res = resolve([cand("p", "1.0"), cand("p", "2.0", api=">=2")])
    assert res.selected["p"].version == "1.0"
    assert res.problems == ()
    assert "2.0 skipped" in res.explanations["p"]


def test_dependency_on_an_incompatible_plugin_reports_the_cause() -> None:
    """A plugin needing one that cannot run here is unresolvable with the cause's code."""
    res = resolve([cand("app", "1", {"future": ""}), cand("future", "1", api=">=2")], want=["app"])
    code, message = problem(res, "app")
    assert code == "WF204"
    assert "future" in message


def test_optional_requirement_is_used_when_present_and_satisfiable() -> None:
    """An optional dependency that exists in range is selected, wired and loaded first."""
    res = resolve(
        [
            cand("text", "1", optional={"spell": ">=0.3"}),
            cand("spell", "0.2"),
            cand("spell", "0.4"),
        ],
        want=["text"],
    )
    assert res.selected["spell"].version == "0.4"
    assert res.order == ("spell", "text")
    assert res.depends["text"] == ("spell",)
    assert "(optional)" in res.explanations["spell"]


def test_optional_requirement_absent_or_unsatisfiable_is_ignored() -> None:
    """A missing, out-of-range or unresolvable optional dependency is no error."""
    res = resolve(
        [
            cand("text", "1", optional={"ghost": "", "old": ">=2", "needy": ""}),
            cand("old", "1"),
            cand("needy", "1", {"void": ""}),
        ],
        want=["text"],
    )
    assert res.problems == ()
    assert set(res.selected) == {"text"}
    assert res.depends["text"] == ()


def test_optional_requirement_that_would_close_a_cycle_is_not_wired() -> None:
    """An optional edge back into a plugin's own requirers is dropped instead of a cycle."""
    res = resolve([cand("a", "1", {"b": ""}), cand("b", "1", optional={"a": ""})])
    assert res.problems == ()
    assert res.order == ("b", "a")
    assert res.depends["b"] == ()


def test_fallback_is_selected_when_present() -> None:
    """A plugin's fallback is resolved along with it (no error when it is missing)."""
    res = resolve([cand("gh", "1", fallback="archive"), cand("archive", "1")], want=["gh"])
    assert set(res.selected) == {"gh", "archive"}
    assert resolve([cand("gh", "1", fallback="archive")], want=["gh"]).problems == ()


def test_equal_versions_prefer_direct_then_folder_then_installed() -> None:
    """The same version from two origins: the more explicit origin is used."""
    installed = cand("p", "1.0", origin="entry-point", location="wf-p==1.0")
    folder = cand("p", "1.0.0", origin="dir", location="/plugins/p")
    res = resolve([installed, folder])
    assert res.selected["p"] is folder
    assert "preferred over entry-point wf-p==1.0" in res.explanations["p"]


def test_final_release_is_preferred_over_a_newer_prerelease() -> None:
    """A pre-release is only chosen when no final release fits."""
    assert resolve([cand("p", "1.0"), cand("p", "2.0rc1")]).selected["p"].version == "1.0"
    res = resolve([cand("p", "1.0"), cand("p", "2.0rc1"), cand("q", "1", {"p": ">=2.0rc1"})])
    assert res.selected["p"].version == "2.0rc1"


def test_dependency_tree_shows_versions_ranges_and_states() -> None:
    """The tree plugins info prints: chosen versions, ranges, optional and unresolved parts."""
    res = resolve(
        [
            cand("app", "1", {"text": ">=1"}, optional={"spell": "", "ghost": ""}),
            cand("text", "1.5", {"core": ""}),
            cand("core", "2"),
            cand("spell", "0.4"),
        ],
        want=["app"],
    )
    tree = dependency_tree(res, "app")
    assert [c.name for c in tree.children] == ["text", "spell", "ghost"]
    assert [c.status for c in tree.children] == ["ok", "ok", "unused"]
    assert render_tree(tree) == "\n".join(
        [
            "app 1",
            "├── text >=1 -> 1.5",
            "│   └── core 2",
            "├── spell (optional) -> 0.4",
            "└── ghost (optional) -> none [unused]",
        ]
    )
    assert tree.to_dict()["children"][0]["version"] == "1.5"


def test_dependency_tree_of_an_unresolvable_plugin_shows_what_is_wrong() -> None:
    """For a plugin that cannot load, the tree marks the missing and conflicting parts."""
    res = resolve(
        [cand("app", "1", {"text": "<1", "ghost": ""}), cand("text", "2")], want=["app", "text"]
    )
    tree = dependency_tree(res, "app")
    assert tree.status == "unresolved"
    assert [(c.name, c.status) for c in tree.children] == [
        ("text", "conflict"),
        ("ghost", "missing"),
    ]


def test_resolve_never_raises_and_is_deterministic() -> None:
    """Random messy inputs give problems, not exceptions, and the same answer every time."""
    rng = random.Random(7)
    names = [f"p{i}" for i in range(30)]
    cands = []
    for n in names:
        for v in rng.sample(["0.1", "1.0", "1.5", "2.0", "junk"], 2):
            reqs = {
                d: rng.choice(["", ">=1", "<1", "==2.0", "nonsense"])
                for d in rng.sample(names, 3)
                if d != n
            }
            cands.append(cand(n, v, reqs))
    first = resolve(cands)
    rng.shuffle(cands)
    again = resolve(cands)
    assert first.order == again.order
    assert first.problems == again.problems
    assert set(first.selected) | {p.plugin for p in first.problems} >= set(names)


def test_a_thousand_plugin_graph_resolves() -> None:
    """1,000 plugins with layered requirements and two versions each resolve completely."""
    cands = []
    for i in range(1000):
        reqs = {f"p{j}": ">=1" for j in (i - 1, i - 7, i - 50) if j >= 0}
        cands += [cand(f"p{i}", "1.0", reqs), cand(f"p{i}", "1.1", reqs)]
    res = resolve(cands)
    assert res.problems == ()
    assert len(res.order) == 1000
    assert all(c.version == "1.1" for c in res.selected.values())


def test_many_plugins_clashing_over_one_dependency_are_each_reported() -> None:
    """1,000 plugins split over two disjoint ranges: one side loads, each other one is WF202."""
    cands = [cand("text", "1.0"), cand("text", "2.0")]
    cands += [cand(f"q{i:04}", "1", {"text": ">=2" if i % 2 else "<2"}) for i in range(1000)]
    res = resolve(cands)
    assert res.selected["text"].version == "1.0"  # q0000 came first and wants text<2
    assert len(res.selected) == 501
    assert len(res.problems) == 500
    assert all(p.code == "WF202" and "already chosen: text 1.0" in p.message for p in res.problems)


def test_dependency_tree_stops_at_a_cycle() -> None:
    """A tree through a cycle marks the repeat as 'cycle' instead of recursing forever."""
    res = resolve([cand("a", "1", {"b": ""}), cand("b", "1", {"a": ""})])
    tree = dependency_tree(res, "a")
    assert tree.status == "unresolved"
    assert tree.children[0].children[0].status == "cycle"
    assert "[cycle]" in render_tree(tree)


def test_want_may_be_a_single_name() -> None:
    """want="github" means the plugin github, not the plugins g, i, t, h, u, b."""
    res = resolve([cand("github", "1")], want="github")
    assert res.problems == ()
    assert list(res.selected) == ["github"]


def test_the_package_has_one_record_class() -> None:
    """``Record`` means the pipeline record everywhere; the search's notes are ``DeadEnd``."""
    import ast
    from pathlib import Path

    import wiseflow

    root = Path(wiseflow.__file__).parent
    defined = [
        path.name
        for path in sorted(root.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name == "Record"
    ]
    assert defined == ["_record.py"]
