"""Formulas as sympy expressions agree numerically with the core's evaluation."""
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
    from formulasearch.symbolic import to_sympy

    e = to_sympy("rp_B ^3 rs_B exp - rp_A ^2 /", names)
    rp_A, rp_B, rs_B = sp.symbols("rp_A rp_B rs_B", real=True)
    assert sp.simplify(e - (rp_B**3 - sp.exp(rs_B)) / rp_A**2) == 0


def test_every_core_operator_is_read_by_the_python_side():
    from formulasearch.postfix import OPERATORS, expression_tree
    from formulasearch.symbolic import to_sympy

    names = ["a", "b"]
    assert {"+", "-", "*", "/", "|-|", "exp", "sqrt|"} <= set(OPERATORS)
    for op, arity in OPERATORS.items():
        code = f"a b {op}" if arity == 2 else f"a {op}"
        fs.Formula.from_postfix(code, names)  # the core agrees on the arity
        assert expression_tree(code) == {"op": op, "args": ["a", "b"][:arity]}
        expr = to_sympy(code, names)
        x = np.array([[1.7], [0.6]])
        f = sp.lambdify(sorted(expr.free_symbols, key=lambda s: s.name), expr, "numpy")
        got = f(*[x[names.index(s.name)] for s in sorted(expr.free_symbols, key=lambda s: s.name)])
        np.testing.assert_allclose(got, fs.Formula.from_postfix(code, names).evaluate(x), rtol=1e-12)
