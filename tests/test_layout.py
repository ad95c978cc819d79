"""The layout is the architecture (docs/architecture.md): each folder of ``voice_interview/``
may import only the layers below it, so a reader knows from the tree what depends on what, and
no two modules import each other, even through others. Every import counts: at the top of a
module, inside a function (a lazy import is still a dependency) and under ``if
TYPE_CHECKING:`` (a type a module needs from another is a tie to it too)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "voice_interview"

# layer -> the layers it may import at run time (besides itself)
ALLOWED = {
    "core": set(),
    "errors": set(),
    "content": {"errors"},
    "scoring": {"core", "content", "errors"},
    "adapters": {"core", "content", "scoring", "errors"},
    "store": {"core", "content", "scoring", "adapters", "errors", "__init__"},
    "pipeline": {"core", "content", "scoring", "adapters", "errors"},
    "report": {"core", "content", "scoring", "adapters", "store", "errors"},
    "batch": {"core", "content", "scoring", "adapters", "store", "pipeline", "errors", "__init__"},
    "practice": {
        "core",
        "content",
        "scoring",
        "adapters",
        "store",
        "pipeline",
        "report",
        "errors",
    },
    "cli": {
        "core",
        "content",
        "scoring",
        "adapters",
        "store",
        "pipeline",
        "report",
        "batch",
        "practice",
        "errors",
    },
    "__main__": {"cli"},
    "__init__": {"core", "content", "scoring", "adapters", "pipeline", "errors"},
}
TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py", "pipeline.py", "errors.py"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(tree: ast.Module) -> list[str]:
    """Every ``voice_interview`` module ``tree`` imports, anywhere in it (as dotted names;
    ``from voice_interview.x import y`` names ``voice_interview.x.y`` when that is a module)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "voice_interview" or node.module.startswith("voice_interview."):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    out.append(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("voice_interview.")]
    return out


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_top_level_keeps_only_the_entry_points_the_pipeline_and_the_errors() -> None:
    files = {p.name for p in PACKAGE.iterdir() if p.is_file() and p.suffix == ".py"}
    assert files == TOP_LEVEL
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == {n for n in ALLOWED if n not in {p[:-3] for p in TOP_LEVEL}}


def test_every_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = _layer(_module_name(path))
        for target in {_layer(t) for t in _imports(ast.parse(path.read_text(encoding="utf-8")))}:
            if target != layer and target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports voice_interview.{target}")
    assert not wrong, "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan's
    strongly connected components of more than one module, or one importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = set(_imports(ast.parse(path.read_text(encoding="utf-8"))))
        # importing a package's module runs the package's __init__ first, not the reverse
        graph[name] = {t for t in targets if t != name and not name.startswith(f"{t}.")}
    return graph


def test_no_two_modules_import_each_other() -> None:
    cycles = _cycles(_import_graph())
    assert not cycles, "modules that import each other: " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_the_checker_sees_every_import_and_every_circle() -> None:
    # core must stay pure: an import of an adapter there would be reported
    tree = ast.parse("from voice_interview.adapters.whisper import WhisperTranscriber\n")
    assert _imports(tree) == ["voice_interview.adapters.whisper"]
    assert "adapters" not in ALLOWED["core"]
    hidden = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from voice_interview.pipeline import AnswerPipeline\n"
        "def later():\n    from voice_interview.batch import run\n"
    )
    assert _imports(hidden) == ["voice_interview.pipeline", "voice_interview.batch.run"]
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _cycles(graph) == [["a", "b", "c"], ["e"]]


def test_the_readme_is_short_and_every_link_of_the_docs_resolves() -> None:
    import re

    repo = PACKAGE.parent
    assert (repo / "README.md").stat().st_size <= 15_000
    pages = [repo / "README.md", repo / "CONTRIBUTING.md", *sorted((repo / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(repo)} -> {target}")
    assert not broken, "\n".join(broken)
