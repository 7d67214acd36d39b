"""``resolve()``: choose one version per plugin, a load order, and explain both."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from .._contract._errors import (
    DependencyCycle,
    MissingDependency,
    Problem,
    VersionConflict,
    WiseflowError,
)
from .._contract._version import PLUGIN_API_VERSION
from .._discovery import Candidate
from ._graph import cycles, load_order, reaches
from ._index import Index, Opt, running_python, satisfies
from ._result import Resolution
from ._search import DeadEnd, Search, Solution, show

__all__ = ["resolve"]

_HINTS = {
    "WF201": MissingDependency.default_hint,
    "WF202": VersionConflict.default_hint,
    "WF203": DependencyCycle.default_hint,
}
REQUESTED = "requested"
#: How often, per resolve, earlier choices may be re-decided to fit a clashing plugin in.
REDECIDE = 16


def resolve(
    candidates: Sequence[Candidate],
    *,
    want: Iterable[str] | None = None,
    api_version: str = PLUGIN_API_VERSION,
    python_version: str | None = None,
) -> Resolution:
    """Choose the highest version of each plugin that satisfies every requirement.

    Never raises for what it finds: unresolvable plugins are left out of ``selected`` and
    reported in ``problems`` (WF201-WF205, WF101 for unparsable versions), each naming
    the plugin; whatever needs an unresolvable plugin is unresolvable too.

    Args:
        candidates: what discovery found (several versions of a name are alternatives).
        want: names to resolve with their requirements; None resolves everything.
        api_version: the host's plugin API version (manifest ``api`` ranges).
        python_version: the Python to check ``python`` ranges against (default: running).

    Example:
        >>> res = resolve(found.candidates, want=["github"])  # doctest: +SKIP
        >>> res.order  # dependencies first  # doctest: +SKIP
        ('text', 'github')
    """
    index = Index(list(candidates), api_version, python_version or running_python())
    if isinstance(want, str):
        want = [want]  # a lone name, not its letters
    roots = list(dict.fromkeys(want)) if want is not None else sorted(index.offered)
    failed: dict[str, Problem] = {}
    cycle_problems: dict[str, Problem] = {}
    while True:
        sol = _solve_roots(index, roots, failed)
        found = cycles(_edges(sol))
        if not found:
            break
        for member, path in found.items():
            problem = Problem(
                code=DependencyCycle.default_code,
                message=f"dependency cycle: {' -> '.join(path)}",
                hint=DependencyCycle.default_hint,
                plugin=member,
            )
            failed[member] = cycle_problems[member] = problem
        for name in roots:  # re-decide every root knowing the cycle members are out
            if name not in cycle_problems:
                failed.pop(name, None)
    depends = _extras(index, Search(index, failed), sol, failed)
    problems = [failed[r] for r in roots if r in failed and r not in cycle_problems]
    problems += [p for n, p in sorted(cycle_problems.items())]
    selected = {n: o.cand for n, o in sol.sel.items()}
    rejected = {
        n: index.offered[n][0]
        for n in (*roots, *cycle_problems)
        if n in failed and n in index.offered
    }
    explanations = {n: _explain(index, sol, n, roots) for n in sorted(sol.sel)}
    for n, problem in failed.items():
        explanations.setdefault(n, f"not selected: {problem.message}")
    return Resolution(
        selected=dict(sorted(selected.items())),
        order=load_order(depends),
        problems=tuple(problems),
        explanations=explanations,
        depends={n: tuple(sorted(d)) for n, d in sorted(depends.items())},
        rejected=rejected,
    )


def _solve_roots(index: Index, roots: list[str], failed: dict[str, Problem]) -> Solution:
    """All roots at once; when that fails, root by root, leaving out the ones that fail.

    Root by root: a root is added to what is chosen so far if it fits; if it cannot be
    resolved even alone, it fails with its own reasons; if it only clashes with earlier
    choices, those are re-decided with it (at most ``REDECIDE`` times), else it fails
    naming the clash.
    """
    search = Search(index, failed)
    usable = []
    for r in roots:
        if r in failed:
            continue
        if r in index.options:
            usable.append(r)
        elif r in index.unusable:
            failed[r] = index.unusable[r]
        else:
            failed[r] = _problem(r, [DeadEnd("missing", "WF201", r, (("", REQUESTED),))])
    got = search.run([(r, "", REQUESTED) for r in usable])
    if isinstance(got, Solution):
        return got
    sol = Solution()
    accepted: list[str] = []
    redecide = REDECIDE
    for r in usable:
        if r in sol.sel:
            accepted.append(r)
            continue
        ext = search.run([(r, "", REQUESTED)], base=sol)
        if isinstance(ext, Solution):
            sol = ext
            accepted.append(r)
            continue
        alone = search.run([(r, "", REQUESTED)])
        if isinstance(alone, list):  # unresolvable by itself: no need to re-decide the rest
            failed[r] = _problem(r, alone)
            continue
        if redecide <= 0:  # bounded: many clashes must not make resolution quadratic
            failed[r] = _problem(r, ext)
            continue
        redecide -= 1
        again = search.run([(a, "", REQUESTED) for a in (*accepted, r)], prefer=sol.sel)
        if isinstance(again, Solution):
            sol = again
            accepted.append(r)
            continue
        failed[r] = _problem(r, ext)  # fine alone, but not with what is already chosen
    return sol


def _problem(name: str, dead_ends: list[DeadEnd]) -> Problem:
    code = dead_ends[0].code
    text = "; and ".join(dict.fromkeys(r.message() for r in dead_ends[:3]))
    hint = _HINTS.get(code) or (WiseflowError.default_hint or "see `wiseflow plugins info`")
    return Problem(code=code, message=f"{name} cannot be resolved: {text}", hint=hint, plugin=name)


def _edges(sol: Solution) -> dict[str, list[str]]:
    return {n: [d for d, _ in o.hard if d in sol.sel] for n, o in sol.sel.items()}


def _extras(
    index: Index, search: Search, sol: Solution, failed: dict[str, Problem]
) -> dict[str, list[str]]:
    """Add optional requirements and fallbacks that can be had; return the wiring."""
    edges = _edges(sol)
    work = deque(sorted(sol.sel))
    while work:
        name = work.popleft()
        opt = sol.sel[name]
        wants = [(d, s, f"{opt.label} (optional)", True) for d, s in opt.soft]
        if opt.cand.manifest.fallback:
            wants.append((opt.cand.manifest.fallback, "", f"fallback of {opt.label}", False))
        for dep, spec, by, wire in wants:
            if dep in sol.sel:
                if wire and satisfies(spec, sol.sel[dep].text) and not reaches(edges, dep, name):
                    edges[name].append(dep)
                    sol.cons[dep] = (*sol.cons.get(dep, ()), (spec, by))
                continue
            if dep in failed or dep not in index.options:
                continue
            ext = search.run([(dep, spec, by)], base=sol)
            if not isinstance(ext, Solution):
                continue
            trial = _edges(ext)
            if wire:
                trial[name].append(dep)
            if cycles(trial):
                continue
            added = sorted(set(ext.sel) - set(sol.sel))
            sol.sel, sol.cons = ext.sel, ext.cons
            for n in added:
                edges[n] = trial[n]
            if wire:
                edges[name].append(dep)
            work.extend(added)
    return edges


def _explain(index: Index, sol: Solution, name: str, roots: list[str]) -> str:
    opt = sol.sel[name]
    cons = sol.cons.get(name, ())
    simple = cons == (("", REQUESTED),) and len(index.offered[name]) == 1
    if simple and name not in index.notes and opt.cand.origin == "entry-point":
        return f"{opt.text}: highest of {opt.text} (requested)"  # the common case, kept cheap
    specs = [s for s, _ in cons if s]
    bys = list(dict.fromkeys(by for _, by in cons if by != REQUESTED))
    text = f"{opt.cand.version}: highest of {index.versions(name)}"
    if specs:
        text += " satisfying " + ", ".join(dict.fromkeys(show(name, s) for s in specs))
    if bys:
        text += f" (required by {', '.join(bys)})"
    elif name in roots:
        text += " (requested)"
    best = _best(index.options[name], specs)
    if best is not None and best is not opt:
        text += (
            f"; {best.cand.version} also fits those ranges but its own requirements "
            "conflict with the rest of the selection"
        )
    if opt.cand.origin != "entry-point" or len(index.offered[name]) > 1:
        text += f"; from {opt.cand.origin} {opt.cand.location}"
    for note in index.notes.get(name, ()):
        text += f"; {note}"
    return text


def _best(opts: list[Opt], specs: list[str]) -> Opt | None:
    for o in opts:
        if all(satisfies(s, o.text) for s in specs):
            return o
    return None
