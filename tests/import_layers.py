"""The import graph of the package and its layering rules (docs/architecture.md), checked from the source.

Every import counts, also those placed inside functions. A module may import its
own layer or a lower one; the graph has no cycle; no module imports (or reads as an
attribute) another module's underscored name. Used by tests/test_architecture.py.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

#: (layer, module prefixes), lowest first: a module may import its own layer and those above it in this list.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("ground", ("_core", "_version", "errors")),
    ("vocabulary", ("formula", "results")),
    ("data", ("data",)),
    ("config", ("config",)),
    ("search", ("search",)),
    ("validation", ("validation",)),
    ("orchestration", ("pipeline", "prediction")),
    ("front ends", ("report", "sklearn", "cli")),
    ("package", ("",)),  # the package's own __init__: re-exports only
]


@dataclass
class Graph:
    package: str
    files: dict[str, Path]
    edges: dict[str, set[str]] = field(default_factory=dict)
    private: list[str] = field(default_factory=list)  #: "a imports _x from b" / "a reads b._x"


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _target(mod: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def build(root: Path) -> Graph:
    """Edges between the package's modules (any import anywhere in a module) and private-name uses."""
    root = Path(root).resolve()
    g = Graph(root.name, modules(root))
    pkg = g.package
    g.files.setdefault(f"{pkg}._core", root / "_core")  # the compiled binding: a module without Python source
    for mod, path in g.files.items():
        edges: set[str] = set()
        if not path.suffix:  # the binding
            g.edges[mod] = edges
            continue
        bound: dict[str, str] = {}  # local name -> package module it refers to
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                t = _target(mod, path, node)
                if t != pkg and not t.startswith(pkg + "."):
                    continue
                for alias in node.names:
                    sub = f"{t}.{alias.name}"
                    if sub in g.files:  # a module imported from its package
                        edges.add(sub)
                        bound[alias.asname or alias.name] = sub
                        continue
                    if t in g.files:
                        edges.add(t)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        g.private.append(f"{mod} imports {alias.name} from {t}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == pkg or alias.name.startswith(pkg + "."):
                        if alias.name in g.files:
                            edges.add(alias.name)
                        if alias.asname:
                            bound[alias.asname] = alias.name
        for node in ast.walk(tree):  # module._name read through an imported module
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                g.private.append(f"{mod} reads {bound[node.value.id]}.{node.attr}")
        edges.discard(mod)
        g.edges[mod] = edges
    return g


def layer_of(package: str, mod: str) -> int:
    rel = mod[len(package) + 1:] if mod != package else ""
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if rel == p or (p and rel.startswith(p + ".")):
                return i
    raise KeyError(f"{mod} belongs to no layer: add it to LAYERS (tests/import_layers.py) and docs/architecture.md")


def cycles(g: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.edges.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g.files):
        if v not in index:
            strong(v)
    return out


def upward(g: Graph) -> list[str]:
    """Imports of a higher layer than the importer's."""
    out = []
    for mod, targets in sorted(g.edges.items()):
        for t in sorted(targets):
            if layer_of(g.package, t) > layer_of(g.package, mod):
                out.append(f"{mod} ({LAYERS[layer_of(g.package, mod)][0]}) imports {t} "
                           f"({LAYERS[layer_of(g.package, t)][0]})")
    return out


def problems(root: Path) -> list[str]:
    """Every violation, one line each; [] when the package keeps the rules."""
    g = build(root)
    return ([f"cycle: {' -> '.join(c)}" for c in cycles(g)] + [f"upward: {u}" for u in upward(g)]
            + [f"private: {p}" for p in g.private])
