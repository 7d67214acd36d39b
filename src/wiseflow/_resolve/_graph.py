"""Graph work on the chosen plugins: cycles (with a path to print) and load order."""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping, Sequence

__all__ = ["cycles", "load_order", "reaches"]

Graph = Mapping[str, Sequence[str]]


def _sccs(graph: Graph) -> list[list[str]]:
    """Strongly connected components (iterative Tarjan; deterministic order)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = [d for d in graph.get(node, ()) if d in graph]
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def _path_back(graph: Graph, start: str, members: set[str]) -> list[str]:
    """Shortest cycle ``start -> ... -> start`` inside ``members`` (BFS)."""
    prev: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(d for d in graph.get(node, ()) if d in members):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return [*reversed(path), start]
            if nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return [start, start]


def _reaching_cycles(graph: Graph) -> dict[str, list[str]]:
    """The part of ``graph`` that can reach a cycle: peel off sinks until none are left.

    Usually nothing remains, which makes the common acyclic case cheap.
    """
    out_deg = dict.fromkeys(graph, 0)
    users: dict[str, list[str]] = {n: [] for n in graph}
    for n, deps in graph.items():
        for d in deps:
            if d in graph:
                out_deg[n] += 1
                users[d].append(n)
    sinks = [n for n, k in out_deg.items() if k == 0]
    removed = set()
    while sinks:
        node = sinks.pop()
        removed.add(node)
        for user in users[node]:
            out_deg[user] -= 1
            if out_deg[user] == 0:
                sinks.append(user)
    return {n: [d for d in deps if d in graph] for n, deps in graph.items() if n not in removed}


def cycles(graph: Graph) -> dict[str, list[str]]:
    """Every node on a cycle, with one cycle through it: ``{"a": ["a", "b", "a"]}``."""
    out: dict[str, list[str]] = {}
    graph = _reaching_cycles(graph)
    for comp in _sccs(graph):
        node = comp[0]
        if len(comp) == 1 and node not in graph.get(node, ()):
            continue
        members = set(comp)
        for m in comp:
            out[m] = _path_back(graph, m, members)
    return out


def reaches(graph: Graph, src: str, dst: str) -> bool:
    """Whether ``dst`` can be reached from ``src`` following edges."""
    seen = {src}
    todo = [src]
    while todo:
        node = todo.pop()
        if node == dst:
            return True
        for nxt in graph.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def load_order(graph: Graph) -> tuple[str, ...]:
    """Dependencies first; among plugins ready together, by name, so the order is stable.

    Raises:
        ValueError: the graph has a cycle (callers remove cycles first).
    """
    waiting = {n: {d for d in deps if d in graph and d != n} for n, deps in graph.items()}
    users: dict[str, list[str]] = {n: [] for n in graph}
    for n, deps in waiting.items():
        for d in deps:
            users[d].append(n)
    ready = [n for n, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for user in users[node]:
            deps = waiting[user]
            deps.discard(node)
            if not deps:
                heapq.heappush(ready, user)
    if len(order) != len(graph):
        raise ValueError(f"dependency cycle among {sorted(set(graph) - set(order))}")
    return tuple(order)
