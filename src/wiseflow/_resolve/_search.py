"""Backtracking search for one version per plugin that satisfies every requirement.

Depth-first over plugin names in the order they are first required, trying the highest
usable version first; before a version is taken, each of its requirements is checked
against what is already chosen and against the versions still possible (forward checking),
so dead ends are found early. Every failed attempt leaves a :class:`DeadEnd` from which the
messages of WF201/WF202 are written, naming who required what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, final

from .._contract._errors import Problem
from ._index import Index, Opt, satisfies

__all__ = ["Con", "DeadEnd", "Search", "Solution"]

#: A constraint on a name: (PEP 440 range, who asked: "github 1.2.0" or "requested").
Con = tuple[str, str]

#: Search steps (decisions) before giving up; generous for graphs of 1,000 plugins.
BUDGET = 50_000


def show(name: str, spec: str) -> str:
    return f"{name}{spec}" if spec else name


@final
class DeadEnd(NamedTuple):
    """Why one attempt failed: a dead end of the search, written up as WF201/WF202."""

    kind: str  # missing | conflict | failed | budget
    code: str
    dep: str
    cons: tuple[Con, ...] = ()
    available: str = ""
    chosen: str | None = None
    reason: str | None = None
    via: tuple[str, ...] = ()  # for each constraint: the chain that brought its asker in

    def message(self) -> str:
        parts = []
        for i, (spec, by) in enumerate(self.cons):
            if by == "requested":
                parts.append(f"{by} {self.dep}")
                continue
            via = self.via[i] if i < len(self.via) else ""
            parts.append(f"{by} requires {show(self.dep, spec)}" + (f" (via {via})" if via else ""))
        asks = "; ".join(parts)
        if self.kind == "missing":
            return f"{asks}, but no plugin named {self.dep!r} was found"
        if self.kind == "failed":
            return f"{asks}, which cannot be used: {self.reason}"
        if self.kind == "budget":
            return f"gave up after {BUDGET} steps while choosing {self.dep}"
        text = f"{asks}; available: {self.dep} {self.available or '(none)'}"
        if self.chosen:
            text += f"; already chosen: {self.chosen}"
        return text


@final
class Solution:
    """A consistent choice: name -> option, and the constraints each name is under."""

    __slots__ = ("cons", "sel")

    def __init__(
        self,
        sel: dict[str, Opt] | None = None,
        cons: dict[str, tuple[Con, ...]] | None = None,
    ) -> None:
        self.sel: dict[str, Opt] = sel if sel is not None else {}
        self.cons: dict[str, tuple[Con, ...]] = cons if cons is not None else {}


class _State:
    __slots__ = ("cons", "pos", "queue", "sel")

    def __init__(
        self,
        sel: dict[str, Opt],
        cons: dict[str, tuple[Con, ...]],
        queue: list[str],
        pos: int = 0,
    ) -> None:
        self.sel = sel
        self.cons = cons
        self.queue = queue
        self.pos = pos

    def copy(self) -> _State:
        return _State(dict(self.sel), dict(self.cons), list(self.queue), self.pos)


class Search:
    """Solves requirement sets over ``index``; names in ``failed`` count as unusable.

    Args:
        index: the usable options.
        failed: name -> why it cannot be used (shared, may grow between runs).
    """

    def __init__(self, index: Index, failed: Mapping[str, Problem]) -> None:
        self.index = index
        self.failed = failed

    def run(
        self,
        roots: Sequence[tuple[str, str, str]],
        *,
        base: Solution | None = None,
        prefer: Mapping[str, Opt] | None = None,
    ) -> Solution | list[DeadEnd]:
        """Choose versions for ``roots`` ((name, range, asked-by) triples) and their needs.

        ``base`` is kept as chosen (only new names are decided); ``prefer`` names versions
        to try first. Returns the solution or the dead ends that show why none was found.
        """
        state = _State(dict(base.sel), dict(base.cons), []) if base else _State({}, {}, [])
        dead_ends: list[DeadEnd] = []
        for name, spec, by in roots:
            cur = state.cons.get(name, ())
            rec = self._check(state.sel, state.cons, name, cur, spec, by)
            if rec is not None:
                return [rec]
            if name not in state.cons:
                state.queue.append(name)
            state.cons[name] = (*cur, (spec, by))
        stack = [state]
        steps = 0
        seen: set[DeadEnd] = set()
        while stack:
            st = stack.pop()
            while st.pos < len(st.queue) and st.queue[st.pos] in st.sel:
                st.pos += 1
            if st.pos == len(st.queue):
                return Solution(st.sel, st.cons)
            steps += 1
            name = st.queue[st.pos]
            if steps > BUDGET:
                dead_ends.append(DeadEnd("budget", "WF202", name))
                break
            specs = [s for s, _ in st.cons[name] if s]
            opts = self.index.options[name]
            if specs:
                opts = [o for o in opts if all(satisfies(s, o.text) for s in specs)]
            else:
                opts = list(opts)
            if prefer is not None and name in prefer and prefer[name] in opts:
                opts.remove(prefer[name])
                opts.insert(0, prefer[name])
            children: list[tuple[Opt, dict[str, tuple[Con, ...]]]] = []
            for o in opts:
                got = self._try(st, o)
                if isinstance(got, DeadEnd):
                    if got not in seen and len(dead_ends) < 20:
                        seen.add(got)
                        dead_ends.append(got)
                    continue
                children.append((o, got))
            if len(children) == 1:  # no alternative: no need to keep the parent
                stack.append(_apply(st, *children[0]))
            else:
                stack.extend(_apply(st.copy(), o, upd) for o, upd in reversed(children))
        return dead_ends or [DeadEnd("conflict", "WF202", "?")]

    def _try(self, st: _State, opt: Opt) -> DeadEnd | dict[str, tuple[Con, ...]]:
        updates: dict[str, tuple[Con, ...]] = {}
        for dep, spec in opt.hard:
            cur = updates.get(dep, st.cons.get(dep, ()))
            rec = self._check(st.sel, st.cons, dep, cur, spec, opt.label)
            if rec is not None:
                return rec
            updates[dep] = (*cur, (spec, opt.label))
        return updates

    def _check(
        self,
        sel: Mapping[str, Opt],
        cons: Mapping[str, tuple[Con, ...]],
        dep: str,
        cur: tuple[Con, ...],
        spec: str,
        by: str,
    ) -> DeadEnd | None:
        new = (*cur, (spec, by))
        problem = self.failed.get(dep)
        if problem is not None:
            return DeadEnd("failed", problem.code, dep, ((spec, by),), reason=problem.message)
        opts = self.index.options.get(dep)
        if not opts:
            problem = self.index.unusable.get(dep)
            if problem is not None:
                return DeadEnd("failed", problem.code, dep, ((spec, by),), reason=problem.message)
            return DeadEnd("missing", "WF201", dep, ((spec, by),))
        chosen = sel.get(dep)
        if chosen is not None:
            if satisfies(spec, chosen.text):
                return None
            return DeadEnd(
                "conflict",
                "WF202",
                dep,
                new,
                self.index.versions(dep),
                chosen=chosen.label,
                via=_vias(cons, new),
            )
        specs = [s for s, _ in new if s]
        if not specs or any(all(satisfies(s, o.text) for s in specs) for o in opts):
            return None
        return DeadEnd(
            "conflict", "WF202", dep, new, self.index.versions(dep), via=_vias(cons, new)
        )


def _vias(cons: Mapping[str, tuple[Con, ...]], asks: tuple[Con, ...]) -> tuple[str, ...]:
    """For each asker, the chain of requirers that brought it in: ``"app 1.0 -> x 2"``."""
    out = []
    for _, by in asks:
        chain: list[str] = []
        name = by.split(" ", 1)[0]
        while len(chain) < 8:
            firsts = [b for _, b in cons.get(name, ()) if b != "requested"]
            if not firsts or firsts[0] in chain or firsts[0] == by:
                break
            chain.append(firsts[0])
            name = firsts[0].split(" ", 1)[0]
        out.append(" -> ".join(reversed(chain)))
    return tuple(out)


def _apply(st: _State, opt: Opt, updates: dict[str, tuple[Con, ...]]) -> _State:
    st.sel[opt.name] = opt
    for dep, cons in updates.items():
        if dep not in st.cons:
            st.queue.append(dep)
        st.cons[dep] = cons
    st.pos += 1
    return st
