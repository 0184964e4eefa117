"""The Python side of formulas: the one operator table and postfix walker (checked against the core), and
sympy forms that agree numerically with the core's evaluation."""
import ast
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import formulasearch as fs


@pytest.fixture(scope="module")
def result():
    return fs.run({"search": {"max_dim": 2, "keep": 3}, "refine": {"enabled": True, "max_coefficients": 2},
                   "validation": {"nested": False}})


def test_raw_and_simplified_forms_evaluate_like_the_core(result):
    prim = fs.build_primaries(fs.datasets.octet())
    values = {name: prim.matrix[i] for i, name in enumerate(prim.names)}
    for index, model in enumerate(result.models):
        for k, code in enumerate(model.codes):
            core = fs.Formula.from_postfix(code, result.variables).evaluate(prim.matrix)
            for simplify in (False, True):
                expr = result.sympy(index, k, simplify=simplify)
                free = sorted(expr.free_symbols, key=lambda s: s.name)
                f = sp.lambdify(free, expr, "numpy")
                np.testing.assert_allclose(f(*[values[s.name] for s in free]), core, rtol=1e-10)


def test_paper_formula_reads_as_expected():
    names = ["rp_A", "rp_B", "rs_B"]
    from formulasearch.formula import to_sympy

    e = to_sympy("rp_B ^3 rs_B exp - rp_A ^2 /", names)
    rp_A, rp_B, rs_B = sp.symbols("rp_A rp_B rs_B", real=True)
    assert sp.simplify(e - (rp_B**3 - sp.exp(rs_B)) / rp_A**2) == 0


def test_every_core_operator_is_read_by_the_python_side():
    from formulasearch.formula import OPERATORS, expression_tree
    from formulasearch.formula import to_sympy

    names = ["a", "b"]
    assert {"+", "-", "*", "/", "|-|", "exp", "sqrt|"} <= set(OPERATORS)
    for op, operator in OPERATORS.items():
        arity = operator.arity
        code = f"a b {op}" if arity == 2 else f"a {op}"
        fs.Formula.from_postfix(code, names)  # the core agrees on the arity
        assert expression_tree(code) == {"op": op, "args": ["a", "b"][:arity]}
        expr = to_sympy(code, names)
        x = np.array([[1.7], [0.6]])
        f = sp.lambdify(sorted(expr.free_symbols, key=lambda s: s.name), expr, "numpy")
        got = f(*[x[names.index(s.name)] for s in sorted(expr.free_symbols, key=lambda s: s.name)])
        np.testing.assert_allclose(got, fs.Formula.from_postfix(code, names).evaluate(x), rtol=1e-12)


PACKAGE = Path(__file__).resolve().parents[1] / "python" / "formulasearch"


def test_the_operator_table_is_the_cores():
    from formulasearch import _core
    from formulasearch.formula import OPERATORS

    assert {token: op.arity for token, op in OPERATORS.items()} == dict(_core.operators())
    assert list(OPERATORS) == list(_core.operators())  # in the core's order


def _operator_literals(tree: ast.AST, tokens: set[str]) -> list[int]:
    """Line numbers of dict or tuple/list/set literals holding five or more operator tokens: operator tables."""
    out = []
    for node in ast.walk(tree):
        items = node.keys if isinstance(node, ast.Dict) else node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else []
        found = {i.value for i in items if isinstance(i, ast.Constant) and i.value in tokens}
        if len(found) >= 5:
            out.append(node.lineno)
    return out


def test_one_operator_table_and_one_postfix_walker_in_python():
    from formulasearch import _core

    tokens = set(_core.operators())
    tables, walkers = {}, []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        lines = _operator_literals(ast.parse(text), tokens)
        if lines:
            tables[path.relative_to(PACKAGE).as_posix()] = lines
        if re.search(r"\bcode\.split\(\)", text):  # a loop over a code's tokens: a postfix reader
            walkers.append(path.relative_to(PACKAGE).as_posix())
    # the table of formula.py; config.py lists the default SISSO operators, a choice of tokens, not a table
    assert set(tables) <= {"formula.py", "config.py"}, tables
    assert len(tables["formula.py"]) == 1, tables
    assert walkers == ["formula.py"], walkers
