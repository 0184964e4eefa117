"""Formulas on the Python side: the one operator table, the postfix walker, LaTeX names and sympy forms.

Formulas themselves live in the C++ core (:class:`formulasearch.Formula`): it
parses, evaluates and prints them. Python reads a formula only through its
stable postfix code (e.g. ``rp_B ^3 rs_B exp - rp_A ^2 /``), walked by
:func:`fold`; the tokens and their arities come from the core.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from . import _core


@dataclass(frozen=True)
class Operator:
    """An operator of formula codes: its postfix token and number of operands (the core's), its sympy form,
    and whether strict units allow it only on dimensionless operands (exp, log, sin, ... as in the core)."""

    token: str
    arity: int
    sympy: Callable[..., Any]  #: sympy(sympy_module, *operands): the operator on sympy expressions
    dimensionless_operand: bool


def _operator_table() -> dict[str, Operator]:
    # token -> (sympy form, dimensionless operand only); sympy is passed in, so it is imported only when used
    python_side: dict[str, tuple[Callable[..., Any], bool]] = {
        "+": (lambda sp, a, b: a + b, False), "-": (lambda sp, a, b: a - b, False),
        "*": (lambda sp, a, b: a * b, False), "/": (lambda sp, a, b: a / b, False),
        "|-|": (lambda sp, a, b: sp.Abs(a - b), False),
        "^2": (lambda sp, x: x**2, False), "^3": (lambda sp, x: x**3, False), "^6": (lambda sp, x: x**6, False),
        "^-1": (lambda sp, x: 1 / x, False), "sqrt": (lambda sp, x: sp.sqrt(x), False),
        "sqrt|": (lambda sp, x: sp.sqrt(sp.Abs(x)), False), "cbrt": (lambda sp, x: sp.cbrt(x), False),
        "abs": (lambda sp, x: sp.Abs(x), False),
        "exp": (lambda sp, x: sp.exp(x), True), "exp-": (lambda sp, x: sp.exp(-x), True),
        "log": (lambda sp, x: sp.log(x), True), "sin": (lambda sp, x: sp.sin(x), True),
        "cos": (lambda sp, x: sp.cos(x), True),
    }
    core = dict(_core.operators())
    if set(python_side) != set(core):  # a new operator of the core needs its Python side here
        raise ImportError(f"formula.py and the core disagree on the operators: {sorted(set(python_side) ^ set(core))}")
    return {token: Operator(token, arity, *python_side[token]) for token, arity in core.items()}


#: postfix token -> Operator, in the core's order; the tokens and arities are the core's.
OPERATORS: dict[str, Operator] = _operator_table()


def fold(code: str, leaf: Callable[[str], Any], node: Callable[[str, list[Any]], Any]) -> Any:
    """Build a value bottom-up, one call per token in postfix order: leaf(token) for variables and
    constants, node(operator, operand values) for every operator."""
    stack: list[Any] = []
    for token in code.split():
        op = OPERATORS.get(token)
        if op is not None:
            if len(stack) < op.arity:
                raise ValueError(f"malformed formula code {code!r}")
            args = stack[len(stack) - op.arity:]
            del stack[len(stack) - op.arity:]
            stack.append(node(token, args))
        else:
            stack.append(leaf(token))
    if len(stack) != 1:
        raise ValueError(f"malformed formula code {code!r}")
    return stack[0]


def expression_tree(code: str) -> Any:
    """Nested {"op": token, "args": [...]} from postfix code; variables and constants are their tokens."""
    return fold(code, lambda token: token, lambda op, args: {"op": op, "args": args})


def to_sympy(code: str, names: list[str]) -> Any:
    """The formula of a postfix code as a sympy expression: one real symbol per variable name,
    numeric constants as exact floats. Built from the code, never by parsing readable text."""
    import sympy as sp

    symbols = {name: sp.Symbol(name, real=True) for name in names}
    return fold(code, lambda token: symbols[token] if token in symbols else sp.Float(token, 17),
                lambda op, args: OPERATORS[op].sympy(sp, *args))


def simplified(code: str, names: list[str]) -> Any:
    """A simplified form of the same formula (sympy.simplify; may take a moment for long formulas)."""
    import sympy as sp

    return sp.simplify(to_sympy(code, names))


_LATEX_SUBSCRIPTS = ("A", "B", "mean", "diff", "max", "min")  # sites, composition statistics


def latex_name(name: str) -> str:
    """'IP_A' -> '\\mathrm{IP}_{A}', 'X_mean' -> '\\mathrm{X}_{mean}', 'volume_per_atom' -> '\\mathrm{volume\\_per\\_atom}'."""
    base, _, suffix = name.rpartition("_")
    if base and suffix in _LATEX_SUBSCRIPTS:
        return f"\\mathrm{{{_escape(base)}}}_{{{suffix}}}"
    return f"\\mathrm{{{_escape(name)}}}"


def _escape(text: str) -> str:
    return text.replace("_", "\\_")
