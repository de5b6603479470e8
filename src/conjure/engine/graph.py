"""The task graph: validation, order, critical-path weights and exports. Pure functions.

The run path uses plain-Python algorithms (Kahn's topological sort, one pass of longest
remaining path): importing networkx costs 0.5-0.7 s, more than a whole no-op run. networkx is
imported only here, and only where it earns its cost: naming a cycle in an error, subgraph
queries and exports for ``doit graph``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conjure.errors import CycleError, GraphError


@dataclass
class NodeSpec:
    """What the graph needs to know about one task.

    Attributes:
        name: task name.
        task_deps: names of tasks it depends on explicitly (task_dep, setup, calc_dep).
        file_deps: canonical paths of its file dependencies.
        targets: canonical paths of its targets.
    """

    name: str
    task_deps: Sequence[str] = ()
    file_deps: Sequence[str] = ()
    targets: Sequence[str] = ()


@dataclass
class Graph:
    """A validated, acyclic task graph.

    Attributes:
        deps: for each task, the tasks it waits for (explicit and through files), in order.
        producers: for each target path, the task that creates it.
        order: every task, dependencies before dependents.
    """

    deps: dict[str, tuple[str, ...]]
    producers: dict[str, str]
    order: list[str] = field(default_factory=list)

    def closure(self, selected: Iterable[str]) -> list[str]:
        """The selected tasks and everything they depend on, in dependency order."""
        wanted: set[str] = set()
        stack = list(selected)
        while stack:
            name = stack.pop()
            if name not in wanted:
                wanted.add(name)
                stack.extend(self.deps[name])
        return [name for name in self.order if name in wanted]

    def dependents(self, names: Iterable[str]) -> dict[str, list[str]]:
        """For each of the given tasks, the given tasks that wait for it."""
        subset = set(names)
        result: dict[str, list[str]] = {name: [] for name in subset}
        for name in subset:
            for dep in self.deps[name]:
                if dep in subset:
                    result[dep].append(name)
        return result


def build_graph(specs: Mapping[str, NodeSpec]) -> Graph:
    """Validates the tasks and returns their graph.

    Raises:
        GraphError: a task depends on an unknown task, or two tasks create one target.
        CycleError: the dependencies form a cycle; the message names it.
    """
    producers = _producers(specs)
    deps: dict[str, tuple[str, ...]] = {}
    for name, spec in specs.items():
        found: dict[str, None] = {}
        for dep in spec.task_deps:
            if dep not in specs:
                raise GraphError(_unknown_task_message(name, dep, specs))
            found[dep] = None
        for path in spec.file_deps:
            producer = producers.get(path)
            if producer is not None and producer != name:
                found[producer] = None
        deps[name] = tuple(found)
    graph = Graph(deps=deps, producers=producers)
    graph.order = _topological_order(deps)
    return graph


def _producers(specs: Mapping[str, NodeSpec]) -> dict[str, str]:
    producers: dict[str, str] = {}
    for name, spec in specs.items():
        for target in spec.targets:
            other = producers.setdefault(target, name)
            if other != name:
                raise GraphError(f"two tasks create the target {target!r}: {other!r} and {name!r}")
    return producers


def _unknown_task_message(name: str, dep: str, specs: Mapping[str, NodeSpec]) -> str:
    import difflib

    message = f"task {name!r} depends on {dep!r}, which is not a task"
    close = difflib.get_close_matches(dep, list(specs), n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return message


def _topological_order(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Kahn's algorithm, stable in definition order; raises CycleError on a cycle."""
    waiting = {name: len(d) for name, d in deps.items()}
    dependents: dict[str, list[str]] = {name: [] for name in deps}
    for name, d in deps.items():
        for dep in d:
            dependents[dep].append(name)
    ready = [name for name, count in waiting.items() if count == 0]
    order: list[str] = []
    while ready:
        name = ready.pop()
        order.append(name)
        for other in dependents[name]:
            waiting[other] -= 1
            if waiting[other] == 0:
                ready.append(other)
    if len(order) != len(deps):
        stuck = {name for name, count in waiting.items() if count > 0}
        raise CycleError(find_cycle({n: deps[n] for n in stuck}))
    return order


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Names one cycle (the shortest networkx finds), starting at its smallest name.

    The result reads as "depends on": ``a -> b -> a`` means a waits for b and b for a.
    """
    import networkx as nx

    graph = nx.DiGraph()
    for name, d in deps.items():
        graph.add_edges_from((name, dep) for dep in d if dep in deps)
    cycles = list(nx.simple_cycles(graph, length_bound=None))
    cycle = min(cycles, key=lambda c: (len(c), sorted(c)))
    start = cycle.index(min(cycle))
    rotated = cycle[start:] + cycle[:start]
    return [*rotated, rotated[0]]


def remaining_path(
    graph: Graph, names: Sequence[str], weight: Mapping[str, float]
) -> dict[str, float]:
    """For each task, its own weight plus the heaviest chain of tasks that wait for it.

    This is the priority of critical-path-first scheduling: the ready task with the longest
    remaining path starts first.

    Args:
        graph: the validated graph.
        names: the tasks of this run, in dependency order.
        weight: expected seconds per task (missing: 0).
    """
    dependents = graph.dependents(names)
    remaining: dict[str, float] = {}
    for name in reversed(names):
        after = max((remaining[d] for d in dependents[name]), default=0.0)
        remaining[name] = weight.get(name, 0.0) + after
    return remaining


def to_networkx(graph: Graph, names: Iterable[str], labels: Mapping[str, str]) -> Any:
    """A networkx DiGraph of the given tasks, edges from dependency to dependent."""
    import networkx as nx

    subset = set(names)
    digraph = nx.DiGraph()
    for name in graph.order:
        if name in subset:
            digraph.add_node(name, label=labels.get(name, ""))
    for name in subset:
        for dep in graph.deps[name]:
            if dep in subset:
                digraph.add_edge(dep, name)
    return digraph


def export(graph: Graph, names: Iterable[str], fmt: str, labels: Mapping[str, str]) -> str:
    """The graph of the given tasks as ``dot``, ``mermaid`` or ``json`` text."""
    import networkx as nx

    digraph = to_networkx(graph, names, labels)
    if fmt == "json":
        data = nx.node_link_data(digraph, edges="edges")
        return json.dumps(data, indent=2, sort_keys=True)
    nodes = list(digraph.nodes)
    ids = {name: f"n{index}" for index, name in enumerate(nodes)}
    if fmt == "mermaid":
        lines = ["flowchart LR"]
        lines += [f'    {ids[n]}["{_escape(n)}"]' for n in nodes]
        lines += [f"    {ids[a]} --> {ids[b]}" for a, b in digraph.edges]
        return "\n".join(lines) + "\n"
    if fmt == "dot":
        lines = ["digraph tasks {", "    rankdir=LR;", "    node [shape=box];"]
        lines += [f'    "{_escape(n)}";' for n in nodes]
        lines += [f'    "{_escape(a)}" -> "{_escape(b)}";' for a, b in digraph.edges]
        return "\n".join([*lines, "}"]) + "\n"
    raise GraphError(f"unknown graph format {fmt!r} (use dot, mermaid or json)")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
