"""The layering contract of docs/architecture.md, checked on the package's source (imports inside functions
count), and the checker itself shown to catch a reintroduced cycle, an upward import and a private import."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from import_layers import LAYERS, build, cycles, layer_of, problems

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "formulasearch"


def test_package_keeps_the_layers():
    assert problems(PACKAGE) == []


def test_every_module_has_a_layer():
    g = build(PACKAGE)
    assert len(g.files) > 30
    for mod in g.files:
        layer_of(g.package, mod)  # KeyError names a module the contract forgot


def test_checker_sees_imports_inside_functions():
    g = build(PACKAGE)
    # pipeline imports the routes at module level; cli imports the pipeline inside a function
    assert "formulasearch.pipeline" in g.edges["formulasearch.cli"]


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "formulasearch"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return copy


def test_a_reintroduced_cycle_fails(tmp_path):
    copy = _copy(tmp_path)
    # the old tangle: the data layer reaching up into prediction, inside a function
    tables = copy / "data" / "tables.py"
    tables.write_text(tables.read_text() + "\n\ndef _late():\n    from ..prediction import predict\n    return predict\n")
    found = problems(copy)
    assert any(line.startswith("cycle:") and "formulasearch.data.tables" in line for line in found), found
    assert any(line.startswith("upward: formulasearch.data.tables") for line in found), found


def test_a_private_import_fails(tmp_path):
    copy = _copy(tmp_path)
    cli = copy / "cli.py"
    cli.write_text(cli.read_text() + "\n\ndef _peek():\n    from .search.route import _Hidden\n    return _Hidden\n")
    assert "private: formulasearch.cli imports _Hidden from formulasearch.search.route" in problems(copy)


def test_a_private_attribute_read_fails(tmp_path):
    copy = _copy(tmp_path)
    cli = copy / "cli.py"
    cli.write_text(cli.read_text() + "\n\nfrom .search import route\n\n\ndef _peek():\n    return route._hidden\n")
    assert "private: formulasearch.cli reads formulasearch.search.route._hidden" in problems(copy)


def test_the_workplace_tool_agrees(tmp_path):
    """../shared/tools/layers.py (cycles and private imports only), where the checkout has it."""
    tool = Path(__file__).resolve().parents[2] / "shared" / "tools" / "layers.py"
    if not tool.exists():
        pytest.skip("no ../shared/tools/layers.py beside this checkout")
    out = subprocess.run([sys.executable, str(tool), str(PACKAGE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_layers_are_documented():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text()
    for name, prefixes in LAYERS:
        assert name in doc
        for p in prefixes:
            assert not p or f"`{p}" in doc, p


def test_cycle_finder_on_a_small_graph(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .a import g\n")
    (pkg / "c.py").write_text("from .a import x\n")
    assert cycles(build(pkg)) == [["pkg.a", "pkg.b"]]
