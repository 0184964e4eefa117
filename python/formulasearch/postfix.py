"""Postfix formula codes on the Python side: the operator tokens (defined once,
in the C++ core) and one walker over a code's expression tree."""
from __future__ import annotations

from typing import Any, Callable

from . import _core

#: postfix token -> number of operands ("+" -> 2, "exp" -> 1, ...), from the core.
OPERATORS: dict[str, int] = dict(_core.operators())


def fold(code: str, leaf: Callable[[str], Any], node: Callable[[str, list[Any]], Any]) -> Any:
    """Build a value bottom-up: leaf(token) for variables and constants,
    node(operator, operand values) for every operator."""
    stack: list[Any] = []
    for token in code.split():
        arity = OPERATORS.get(token, 0)
        if arity:
            args = stack[-arity:]
            del stack[-arity:]
            stack.append(node(token, args))
        else:
            stack.append(leaf(token))
    if len(stack) != 1:
        raise ValueError(f"malformed formula code {code!r}")
    return stack[0]


def expression_tree(code: str) -> Any:
    """Nested {"op": token, "args": [...]} from postfix code; variables and constants are their tokens."""
    return fold(code, lambda token: token, lambda op, args: {"op": op, "args": args})
