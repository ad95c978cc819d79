"""The layout is the architecture (docs/architecture.md): each folder of ``voice_interview/``
may import only the layers below it, so a reader knows from the tree what depends on what.
Type-only imports (under ``if TYPE_CHECKING:``) are not dependencies and are not checked."""

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
    "adapters": {"core", "content", "errors"},
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


def _runtime_imports(tree: ast.Module) -> list[str]:
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(n) for child in node.body for n in ast.walk(child)}
    out = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "voice_interview":  # from voice_interview import __version__
                out.append("__init__")
            elif node.module.startswith("voice_interview."):
                out.append(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out += [
                a.name.split(".")[1] for a in node.names if a.name.startswith("voice_interview.")
            ]
    return out


def test_the_top_level_keeps_only_the_entry_points_the_pipeline_and_the_errors() -> None:
    files = {p.name for p in PACKAGE.iterdir() if p.is_file() and p.suffix == ".py"}
    assert files == TOP_LEVEL
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == {n for n in ALLOWED if n not in {p[:-3] for p in TOP_LEVEL}}


def test_every_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).parts
        layer = rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")
        for target in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if target != layer and target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports voice_interview.{target}")
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_a_forbidden_import() -> None:
    # core must stay pure: an import of an adapter there would be reported
    tree = ast.parse("from voice_interview.adapters.whisper import WhisperTranscriber\n")
    assert _runtime_imports(tree) == ["adapters"] and "adapters" not in ALLOWED["core"]
    guarded = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from voice_interview.pipeline import Evaluator\n"
    )
    assert _runtime_imports(guarded) == []


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
