"""The import graph of the three packages, read statically from the source: no cycles, and no import
from a lower layer to a higher one (the order docs/architecture.md draws)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "tadmcodec_formats": ROOT / "formats",
    "tadmcodec_plugins": ROOT / "plugins",
    "tadmcodec": ROOT / "tadmcodec",
}

# Lowest first; a module's layer is that of the longest prefix listed. A module may import its own
# layer or lower ones, never a higher one.
LAYERS = [
    ["tadmcodec_formats"],
    [
        "tadmcodec.errors",
        "tadmcodec.options",
        "tadmcodec.version",
        "tadmcodec.io",
        "tadmcodec.store",
        "tadmcodec.nn",
        "tadmcodec.quality",
        "tadmcodec.runtime.device",
        "tadmcodec.runtime.cpu_threads",
    ],
    ["tadmcodec.backbones"],
    ["tadmcodec.models"],
    ["tadmcodec.pipeline"],  # NumPy: the tiling, stitching and texture stage over networks passed in
    ["tadmcodec.runtime"],  # torch and ONNX networks, the encoder, loading, export, the decoder factory
    ["tadmcodec.runtime.decoders"],
    ["tadmcodec.tadm_file", "tadmcodec.api"],
    ["tadmcodec_plugins"],
    ["tadmcodec.training", "tadmcodec.evaluation", "tadmcodec.batch", "tadmcodec.serve"],
    ["tadmcodec.cli", "tadmcodec.__main__"],
    ["tadmcodec"],  # the package itself (its __init__): re-exports the API, registers the plugin
]
PACKAGE_ONLY = {"tadmcodec"}  # matches that module alone, not everything below it


def modules() -> dict[str, Path]:
    found = {}
    for package, folder_name in PACKAGES.items():
        folder = ROOT / folder_name
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts[:-1])) if parts[-1] == "__init__" else ".".join((package, *parts))
            found[name] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Our modules that `name` imports anywhere in its source (function-level imports included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
    return edges


def layer(name: str) -> int:
    best, rank = -1, None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            below = name.startswith(prefix + ".") and prefix not in PACKAGE_ONLY
            if (name == prefix or below) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank is not None, f"{name} has no layer: add it to LAYERS and to docs/architecture.md's diagram"
    return rank


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_no_import_reaches_up_a_layer() -> None:
    wrong = [
        f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
        for a, targets in graph().items()
        for b in targets
        if layer(b) > layer(a)
    ]
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_the_checker_sees_relative_and_lazy_imports() -> None:
    edges = graph()
    assert "tadmcodec.models.algorithm" in edges["tadmcodec.runtime.encoder"]  # from ..models.algorithm import
    assert "tadmcodec.runtime.codec" in edges["tadmcodec.runtime.decoders"]  # inside load_decoder
    assert "tadmcodec.api" in edges["tadmcodec_plugins.pillow"]  # inside _save
    assert "tadmcodec_formats.reader" in edges["tadmcodec_formats"]  # from .reader import (in __init__)
