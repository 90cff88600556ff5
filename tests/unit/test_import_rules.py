"""The shape of the code: the import rules in pyproject.toml hold, and no two modules of app/ import each other.

`lint-imports` checks the rules a newcomer can read in pyproject.toml (the pipeline, plumbing,
stock's independence, no cycles between the modules of one package). The cycle check below is
stricter: no chain of imports of any length leads from a module back to itself, function-local
imports included, anywhere in app/ (the package `app` itself aside: its factory imports
everything, and nothing imports it back but by name).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400
WHY_ONE_PIECE = "One piece:"  # the sentence a longer module starts a docstring paragraph with


def test_the_import_rules_in_pyproject_hold():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", 0 broken." in result.stdout  # the summary line: "Contracts: N kept, 0 broken."


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iteratively)."""
    modules = sorted(m for m in graph.modules if m.startswith("app.") or m == "app")
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i.startswith("app.")) for m in modules}
    edges.pop("app", None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, []))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_no_module_of_app_imports_itself_through_others():
    sys.path.insert(0, str(ROOT))
    try:
        graph = grimp.build_graph("app", cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("app.a", "app.b", "app.c"):
        graph.add_module(name)
    graph.add_import(importer="app.a", imported="app.b")
    graph.add_import(importer="app.b", imported="app.c")
    graph.add_import(importer="app.c", imported="app.a")
    assert _cycles(graph) == [["app.a", "app.b", "app.c"]]


def test_a_long_module_says_why_it_is_one_piece():
    long_ones = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES and WHY_ONE_PIECE not in text.split('"""')[1]:
            long_ones.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert long_ones == [], f"split these by job, or say in their docstring {WHY_ONE_PIECE!r} why not"
