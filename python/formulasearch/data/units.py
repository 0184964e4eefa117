"""Units of primary variables: parsing "eV", "angstrom^2", "eV/angstrom",
"eV^(1/2)" or column headers like "IP (eV)" into exponent vectors over named
base units, which is the form the C++ core checks (in sixths of a power).

Any word is a base unit, so a class label ("energy", "radius") works like a
unit: features of different labels cannot be added.
"""
from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from ..errors import ConfigError

MAX_BASE_UNITS = 8  # as in the core (Unit::kDims)
# "name (unit)": the unit is a parenthesised tail after whitespace; "IP(A)" and "(IP(A)+IP(B))" are names.
_HEADER = re.compile(r"^\s*(?P<name>.*?\S)\s+\((?P<unit>[^()]*)\)\s*$")
# A factor is a name with an optional power: eV, eV^2, eV^-1/2, eV^(1/2). A "/"
# right after a power's digits belongs to the power; any other "/" divides.
_TOKEN = re.compile(r"\s*(?:(?P<div>/)|(?P<mul>\*)|(?P<base>[A-Za-z_][A-Za-z0-9_]*)"
                    r"(?:\^(?P<exp>\(\s*-?\d+\s*(?:/\s*\d+\s*)?\)|-?\d+(?:/\d+)?))?)")


def split_header(column: str) -> tuple[str, str | None]:
    """'IP (eV)' -> ('IP', 'eV'); 'IP' and 'IP(A)' -> (the header, None)."""
    m = _HEADER.match(str(column))
    return (m.group("name"), m.group("unit").strip()) if m else (str(column), None)


def parse_unit(text: str | None) -> dict[str, Fraction]:
    """'eV^2/angstrom' -> {'eV': 2, 'angstrom': -1}; '', '1' or None: dimensionless."""
    if text is None or text.strip() in ("", "1", "-", "dimensionless"):
        return {}
    powers: dict[str, Fraction] = {}
    sign, pos, text = 1, 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConfigError(f"cannot read unit {text!r} at {text[pos:]!r}: expected 'name', 'name^power' or '/'")
        pos = m.end()
        if m.group("div"):
            sign = -1  # everything after a "/" is in the denominator
        elif m.group("base"):
            exp = Fraction(m.group("exp").strip("()").replace(" ", "")) if m.group("exp") else Fraction(1)
            powers[m.group("base")] = powers.get(m.group("base"), Fraction(0)) + sign * exp
    return {b: e for b, e in powers.items() if e != 0}


def unit_matrix(variable_units: list[str | None]) -> tuple[np.ndarray, list[str]]:
    """Exponents in sixths, one row per variable, and the base unit names."""
    parsed = [parse_unit(u) for u in variable_units]
    base: list[str] = []
    for p in parsed:
        base.extend(b for b in p if b not in base)
    if len(base) > MAX_BASE_UNITS:
        raise ConfigError(f"at most {MAX_BASE_UNITS} base units are supported, got {len(base)}: {', '.join(base)}")
    sixths = np.zeros((len(parsed), MAX_BASE_UNITS), dtype=np.int32)
    for v, p in enumerate(parsed):
        for b, e in p.items():
            if (e * 6).denominator != 1:
                raise ConfigError(f"unit power {e} of {b} is not a multiple of 1/6")
            sixths[v, base.index(b)] = int(e * 6)
    return sixths, base
