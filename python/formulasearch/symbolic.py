"""Formulas as sympy expressions: the raw form, and a simplified form next to it.

Built from the stable postfix code (never by parsing the readable text), with
one sympy symbol per primary variable; numeric constants stay exact floats.
"""
from __future__ import annotations

from typing import Any

from .postfix import fold


def to_sympy(code: str, names: list[str]) -> Any:
    """The formula of a postfix code as a sympy expression."""
    import sympy as sp

    symbols = {name: sp.Symbol(name, real=True) for name in names}
    apply = {
        "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
        "|-|": lambda a, b: sp.Abs(a - b),
        "^2": lambda x: x**2, "^3": lambda x: x**3, "^6": lambda x: x**6, "^-1": lambda x: 1 / x,
        "sqrt": sp.sqrt, "sqrt|": lambda x: sp.sqrt(sp.Abs(x)), "cbrt": sp.cbrt, "exp": sp.exp,
        "exp-": lambda x: sp.exp(-x), "log": sp.log, "abs": sp.Abs, "sin": sp.sin, "cos": sp.cos,
    }
    return fold(code, lambda token: symbols[token] if token in symbols else sp.Float(token, 17),
                lambda op, args: apply[op](*args))


def simplified(code: str, names: list[str]) -> Any:
    """A simplified form of the same formula (sympy.simplify; may take a moment for long formulas)."""
    import sympy as sp

    return sp.simplify(to_sympy(code, names))
