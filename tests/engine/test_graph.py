"""The graph module: validation errors, order, closure, critical-path weights."""

from __future__ import annotations

import pytest

from conjure.engine.graph import NodeSpec, build_graph, remaining_path
from conjure.errors import CycleError, GraphError


def _specs(**deps: list[str]) -> dict[str, NodeSpec]:
    return {name: NodeSpec(name, task_deps=d) for name, d in deps.items()}


def test_order_puts_dependencies_first() -> None:
    graph = build_graph(_specs(c=["b"], b=["a"], a=[]))
    assert graph.order == ["a", "b", "c"]


def test_cycle_is_named_from_its_smallest_task() -> None:
    with pytest.raises(CycleError) as caught:
        build_graph(_specs(x=[], c=["a"], a=["b"], b=["c"]))
    assert str(caught.value) == "dependency cycle: a -> b -> c -> a"


def test_self_dependency_is_a_cycle() -> None:
    with pytest.raises(CycleError, match="a -> a"):
        build_graph(_specs(a=["a"]))


def test_unknown_dependency_suggests_a_name() -> None:
    with pytest.raises(GraphError, match=r"did you mean 'lint'\?"):
        build_graph(_specs(build=["lnt"], lint=[]))


def test_file_dependency_on_a_target_orders_the_producer_first() -> None:
    specs = {
        "use": NodeSpec("use", file_deps=["out.txt"]),
        "gen": NodeSpec("gen", targets=["out.txt"]),
    }
    graph = build_graph(specs)
    assert graph.deps["use"] == ("gen",)
    assert graph.closure(["use"]) == ["gen", "use"]


def test_remaining_path_weights_the_chain() -> None:
    graph = build_graph(_specs(a=[], b=["a"], c=["b"], d=[]))
    weights = remaining_path(graph, graph.order, {"a": 1.0, "b": 2.0, "c": 3.0, "d": 5.0})
    assert weights == {"a": 6.0, "b": 5.0, "c": 3.0, "d": 5.0}
