"""Property tests: resolution rules hold for random graphs and random version ranges."""

from __future__ import annotations

import functools
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from conftest_discovery import cand
from wiseflow._resolve import Resolution, resolve

SETTINGS = settings(max_examples=100, deadline=None)
VERSIONS = ["0.5", "1.0", "1.5", "2.0", "2.5", "3.0"]
SPECS = ["", ">=1", ">=2", "<2", "<1", "==1.5", "!=2.0", ">=1,<2.5", ">3", "~=2.0"]


def edges_respected(res: Resolution, edges: set[tuple[str, str]]) -> bool:
    pos = {n: i for i, n in enumerate(res.order)}
    return all(pos[d] < pos[n] for n, d in edges if n in pos and d in pos)


@st.composite
def dags(draw: st.DrawFn) -> tuple[int, set[tuple[int, int]]]:
    n = draw(st.integers(1, 14))
    edges = set()
    for i in range(n):
        for j in draw(st.sets(st.integers(0, max(i - 1, 0)), max_size=4)):
            if j < i:
                edges.add((i, j))
    return n, edges


@SETTINGS
@given(dags(), st.data())
def test_order_respects_every_edge_of_a_random_dag(
    dag: tuple[int, set[tuple[int, int]]], data: st.DataObject
) -> None:
    """For any acyclic graph everything resolves and each plugin loads after its requirements."""
    n, edges = dag
    cands = [cand(f"p{i}", "1.0", {f"p{j}": "" for a, j in edges if a == i}) for i in range(n)]
    named = {(f"p{a}", f"p{b}") for a, b in edges}
    res = resolve(cands)
    assert res.problems == ()
    assert sorted(res.order) == sorted(f"p{i}" for i in range(n))
    assert edges_respected(res, named)
    want = data.draw(st.sets(st.sampled_from([f"p{i}" for i in range(n)])))
    closure = set(want)
    while True:
        more = {b for a, b in named if a in closure} - closure
        if not more:
            break
        closure |= more
    sub = resolve(cands, want=want)
    assert set(sub.selected) == closure
    assert edges_respected(sub, named)


@st.composite
def digraphs(draw: st.DrawFn) -> tuple[int, set[tuple[int, int]]]:
    n = draw(st.integers(1, 9))
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
    return n, draw(st.sets(pairs, max_size=n * 2))


def reach(edges: set[tuple[int, int]], start: int) -> set[int]:
    """Nodes reachable from ``start`` by one or more edges."""
    seen: set[int] = set()
    todo = [b for a, b in edges if a == start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(b for a, b in edges if a == node)
    return seen


@SETTINGS
@given(digraphs())
def test_every_cycle_is_reported_with_a_real_path(graph: tuple[int, set[tuple[int, int]]]) -> None:
    """Every plugin on a cycle gets WF203 with a genuine cycle path; all that need one fail."""
    n, edges = graph
    cands = [cand(f"p{i}", "1.0", {f"p{j}": "" for a, j in edges if a == i}) for i in range(n)]
    res = resolve(cands)
    named = {(f"p{a}", f"p{b}") for a, b in edges}
    on_cycle = {i for i in range(n) if i in reach(edges, i)}
    doomed = {i for i in range(n) if i in on_cycle or reach(edges, i) & on_cycle}
    assert set(res.selected) == {f"p{i}" for i in range(n) if i not in doomed}
    for i in doomed:
        [p] = res.problems_for(f"p{i}")
        assert p.code == "WF203"
    for i in on_cycle:
        [p] = res.problems_for(f"p{i}")
        path = p.message.removeprefix("dependency cycle: ").split(" -> ")
        assert path[0] == path[-1] == f"p{i}"
        assert all(pair in named for pair in itertools.pairwise(path))
    assert edges_respected(res, named)


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sets(st.sampled_from(VERSIONS), max_size=4), st.sampled_from(SPECS)),
        min_size=1,
        max_size=8,
    )
)
def test_each_range_is_met_by_its_highest_version_or_reported(
    cases: list[tuple[set[str], str]],
) -> None:
    """Each requirement gets the highest version in range; no version in range is WF202."""
    cands = []
    for i, (versions, spec) in enumerate(cases):
        cands.append(cand(f"user{i}", "1", {f"dep{i}": spec}))
        cands += [cand(f"dep{i}", v) for v in versions]
    res = resolve(cands, want=[f"user{i}" for i in range(len(cases))])
    for i, (versions, spec) in enumerate(cases):
        fits = [v for v in versions if SpecifierSet(spec).contains(v, prereleases=True)]
        if not versions:
            assert [p.code for p in res.problems_for(f"user{i}")] == ["WF201"]
        elif not fits:
            [p] = res.problems_for(f"user{i}")
            assert p.code == "WF202"
            assert f"dep{i}{spec}" in p.message
        else:
            assert res.selected[f"dep{i}"].version == max(fits, key=Version)
            assert not res.problems_for(f"user{i}")


@SETTINGS
@given(
    st.sets(st.sampled_from(VERSIONS), min_size=1),
    st.lists(st.sampled_from(SPECS), min_size=1, max_size=5),
)
def test_shared_dependency_gets_highest_version_in_every_range_or_a_conflict(
    versions: set[str], specs: list[str]
) -> None:
    """Several requirers of one plugin: highest version in all ranges, else WF202 naming it."""
    users = {f"u{i}": spec for i, spec in enumerate(specs)}
    cands = [cand("app", "1", dict.fromkeys(users, ""))]
    cands += [cand(u, "1", {"shared": spec}) for u, spec in users.items()]
    cands += [cand("shared", v) for v in versions]
    res = resolve(cands, want=["app"])
    fits = [v for v in versions if all(SpecifierSet(s).contains(v) for s in specs)]
    if fits:
        assert res.problems == ()
        assert res.selected["shared"].version == max(fits, key=Version)
    else:
        [p] = res.problems
        assert (p.code, p.plugin) == ("WF202", "app")
        assert "shared" in p.message
        assert "app" not in res.selected


NAMES = ["a", "b", "c", "d"]


@st.composite
def universes(draw: st.DrawFn) -> dict[str, dict[str, dict[str, str]]]:
    """name -> version -> requirements (only on later names, so no cycles)."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for i, name in enumerate(NAMES):
        versions = draw(st.sets(st.sampled_from(["1", "2", "3"]), max_size=3))
        out[name] = {
            v: draw(
                st.dictionaries(st.sampled_from(NAMES[i + 1 :] or ["a"]), st.sampled_from(SPECS))
            )
            if i + 1 < len(NAMES)
            else {}
            for v in versions
        }
    return out


@functools.cache
def fits(spec: str, version: str) -> bool:
    return SpecifierSet(spec).contains(version, prereleases=True)


def valid(assign: dict[str, str], universe: dict[str, dict[str, dict[str, str]]]) -> bool:
    for name, version in assign.items():
        for dep, spec in universe[name][version].items():
            if dep not in assign or not fits(spec, assign[dep]):
                return False
    return True


@settings(max_examples=200, deadline=None)
@given(universes())
def test_resolution_agrees_with_brute_force(universe: dict[str, dict[str, dict[str, str]]]) -> None:
    """Solvable exactly when some assignment works; then valid, with the highest root version."""
    cands = [cand(n, v, reqs) for n, vs in universe.items() for v, reqs in vs.items()]
    res = resolve(cands, want=["a"])
    choices = [[*universe[n], None] for n in NAMES]
    solutions = []
    for combo in itertools.product(*choices):
        assign = {n: v for n, v in zip(NAMES, combo, strict=True) if v is not None}
        if "a" in assign and valid(assign, universe):
            solutions.append(assign)
    if not solutions:
        assert "a" not in res.selected
        assert [p.code for p in res.problems] in (["WF201"], ["WF202"])
        return
    chosen = {n: c.version for n, c in res.selected.items()}
    assert res.problems == ()
    assert valid(chosen, universe)
    assert chosen["a"] == max((s["a"] for s in solutions), key=Version)
