"""The data path reads in one direction: portal's sub-packages never import in a circle.

DESIGN.md's order: the front doors (public, sms, console) -> dispatch -> plans ->
messaging -> the shared modules; the worker sits on top of everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

PORTAL = Path(__file__).resolve().parent.parent / "portal"
# Lower layers first; a package may import only from layers below its own.
LAYERS = (
    {"messaging"},
    {"plans"},
    {"dispatch"},
    {"public", "sms", "console"},
)


def part_of(module: str) -> str | None:
    """The sub-package (or top-level module) of portal a dotted module name is in."""
    parts = module.split(".")
    return parts[1] if parts[0] == "portal" and len(parts) > 1 else None


def imports_between_parts() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PORTAL.rglob("*.py"):
        relative = path.relative_to(PORTAL.parent).with_suffix("")
        if "migrations" in relative.parts or (relative.parts[-1] == "__init__" and len(relative.parts) == 2):
            continue  # create_app imports everything by design; migrations are generated
        here = part_of(".".join(relative.parts))
        assert here is not None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                there = part_of(name)
                if (
                    there
                    and there != here
                    and ((PORTAL / there).is_dir() or (PORTAL / f"{there}.py").exists())
                ):
                    graph.setdefault(here, set()).add(there)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for following in sorted(graph.get(node, ())):
            cycle = visit(following)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_no_two_parts_of_portal_import_each_other_in_a_circle() -> None:
    graph = imports_between_parts()
    assert {"sms", "dispatch", "messaging", "plans", "console"} <= set(graph), "the walk found no imports"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"sms": {"dispatch"}, "dispatch": {"sms"}}) in (
        ["sms", "dispatch", "sms"],
        ["dispatch", "sms", "dispatch"],
    )
    assert find_cycle({"sms": {"dispatch"}, "dispatch": {"plans"}}) is None


def test_imports_run_down_the_layers() -> None:
    layer_of = {part: number for number, parts in enumerate(LAYERS) for part in parts}
    upward = [
        f"{here} -> {there}"
        for here, theirs in imports_between_parts().items()
        for there in theirs
        if here in layer_of and there in layer_of and layer_of[there] >= layer_of[here]
    ]
    assert upward == []
