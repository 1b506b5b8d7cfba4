"""Graph algorithms over step ids: topological order and cycles. Iterative, O(steps + inputs)."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence


def downstream_map(ids: Sequence[str], deps: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """For each id, the ids that take it as an input, in file order."""
    result: dict[str, list[str]] = {step_id: [] for step_id in ids}
    for step_id in ids:
        for upstream in deps.get(step_id, ()):
            result[upstream].append(step_id)
    return result


def topological_order(ids: Sequence[str], deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Upstream before downstream; ties broken by file order. Steps on a cycle are left out."""
    position = {step_id: index for index, step_id in enumerate(ids)}
    waiting = {step_id: len(set(deps.get(step_id, ()))) for step_id in ids}
    downstream = downstream_map(ids, {k: list(dict.fromkeys(v)) for k, v in deps.items()})
    ready = [position[step_id] for step_id in ids if waiting[step_id] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        step_id = ids[heapq.heappop(ready)]
        order.append(step_id)
        for child in downstream[step_id]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, position[child])
    return order


def find_cycles(ids: Sequence[str], deps: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One cycle per strongly connected component, in data-flow order (``[a, b, a]``: b reads a).

    Each cycle starts at its component's first step in file order and is a shortest one through it.
    """
    if len(topological_order(ids, deps)) == len(ids):
        return []
    downstream = downstream_map(ids, deps)
    position = {step_id: index for index, step_id in enumerate(ids)}
    cycles = [_shortest_cycle(component, downstream, position) for component in _components(ids, downstream)]
    return sorted(cycles, key=lambda cycle: position[cycle[0]])


def _components(ids: Sequence[str], succ: Mapping[str, Sequence[str]]) -> list[set[str]]:
    """Strongly connected components with more than one node (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in ids:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(succ[root]))]
        while work:
            node, children = work[-1]
            descended = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ[child])))
                    descended = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def _shortest_cycle(component: set[str], succ: Mapping[str, Sequence[str]], position: Mapping[str, int]) -> list[str]:
    start = min(component, key=position.__getitem__)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for child in succ[node]:
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if child in component and child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError("a strongly connected component always holds a cycle")
