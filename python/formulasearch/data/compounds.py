"""AB compounds: the elements on sites A and B, from columns or from formula strings."""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .tables import is_missing, one_line, short_list

SITES = ("A", "B")
FORMULA = "formula"


#: How a binary formula's two elements are put on sites A and B (see :func:`formula_sites`).
SITE_RULES = ("electronegativity", "as_written")

def formula_sites(formula: str, site_rule: str = "electronegativity") -> tuple[str, str]:
    """The elements (A, B) of an AB compound given as a formula string.

    * One element ("C", "Si2"): A = B = that element.
    * Two elements in equal amounts ("GaAs", "Ga2As2", "(NaCl)2"):
      ``site_rule="electronegativity"`` (default) puts on site A the element
      with the lower Pauling electronegativity (pymatgen ``Element.X``); equal
      electronegativities are ordered by atomic number, the lower Z on site A.
      So "GaAs" and "AsGa" both give (Ga, As). ``site_rule="as_written"`` puts
      the first element of the string on site A ("AsGa" gives (As, Ga)).
      Note: the octet table itself has GeSi and SnSi with the more
      electronegative element (Ge, Sn) on site A; "as_written" or explicit A/B
      columns reproduce that orientation.
    * Anything else (three or more elements, unequal amounts, not a chemical
      element, unreadable text) is an :class:`InputError`.

    pymatgen is imported on the first call.
    """
    if site_rule not in SITE_RULES:
        raise InputError(f"site_rule must be one of {', '.join(SITE_RULES)}, got {site_rule!r}")
    if not isinstance(formula, str) or not formula.strip():
        raise InputError(f"a compound formula must be a non-empty string, got {formula!r}")
    text = formula.strip()
    try:
        from pymatgen.core import Composition, Element
    except ImportError:
        raise InputError(
            "reading compound formulas needs pymatgen (pip install pymatgen); "
            "or give the elements in columns 'A' and 'B'"
        ) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            comp = Composition(text)
            elements = list(comp.elements)
        except Exception as exc:  # pymatgen raises ValueError, KeyError, ... for bad text
            raise InputError(f"cannot read the formula {text!r}: {one_line(exc)}") from None
        for el in elements:
            if not isinstance(el, Element):
                raise InputError(f"formula {text!r}: {getattr(el, 'symbol', str(el))!r} is not a chemical element")
        if len(elements) == 1:
            symbol = elements[0].symbol
            return symbol, symbol
        if len(elements) != 2:
            raise InputError(
                f"formula {text!r} has {len(elements)} elements ({', '.join(e.symbol for e in elements)}); "
                "an AB compound has one or two; for compounds of any size, give the table as [data] table "
                "with composition_features"
            )
        a, b = elements
        amount_a, amount_b = float(comp[a]), float(comp[b])
        if not np.isclose(amount_a, amount_b, rtol=1e-9, atol=0.0):
            raise InputError(
                f"formula {text!r} is not an AB compound: {a.symbol}:{b.symbol} = {amount_a:g}:{amount_b:g}, "
                "not 1:1"
            )
        if site_rule == "as_written":
            return a.symbol, b.symbol
        for el in (a, b):
            if not np.isfinite(el.X):
                raise InputError(
                    f"formula {text!r}: {el.symbol} has no Pauling electronegativity to choose its site; "
                    "give columns 'A' and 'B' or use site_rule='as_written'"
                )
        first, second = sorted((a, b), key=lambda el: (float(el.X), int(el.Z)))
        return first.symbol, second.symbol
def compound_ref(label: str, pos: int) -> str:
    return f"compound {label!r} (row {pos + 1})"

def _element_hint(symbol: str, known: Sequence[str]) -> str:
    lower = symbol.strip().lower()
    matches = [k for k in known if k.lower() == lower and k != symbol]
    return f"; did you mean {matches[0]!r}?" if matches else ""

def check_elements(compounds: pd.DataFrame, atoms_index: pd.Index) -> None:
    """Every element on site A or B must have a row in the atomic table."""
    known = set(atoms_index)
    bad_rows = np.zeros(len(compounds), dtype=bool)
    for site in SITES:
        bad_rows |= ~compounds[site].isin(known).to_numpy()
    if not bad_rows.any():
        return
    first = int(np.flatnonzero(bad_rows)[0])
    a, b = compounds["A"].iloc[first], compounds["B"].iloc[first]
    element = a if a not in known else b
    others = int(bad_rows.sum()) - 1
    more = f"; {others} more compound(s) have elements missing from the atomic table" if others else ""
    known_list = [str(k) for k in atoms_index]
    raise InputError(
        f"{compound_ref(f'{a}{b}', first)}: element {element!r} is not in the atomic table "
        f"(known: {short_list(known_list)}){_element_hint(str(element), known_list)}{more}"
    )

def site_column(df: pd.DataFrame, site: str) -> pd.Series:
    cells = df[site].tolist()
    other = "B" if site == "A" else "A"
    for i, cell in enumerate(cells):
        if is_missing(cell):
            partner = df[other].iloc[i]
            hint = "" if is_missing(partner) else f" (site {other!r} is {str(partner).strip()!r})"
            raise InputError(f"compound row {i + 1}: the element on site {site!r} is empty{hint}")
    return pd.Series([str(c).strip() for c in cells], index=df.index, dtype=object, name=site)

def read_formulas(df: pd.DataFrame, site_rule: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The sites (A, B) of each cell of the 'formula' column, by formula_sites' rule,
    and the stripped formula texts; InputError naming the row for an empty or bad one."""
    sites: list[tuple[str, str]] = []
    texts: list[str] = []
    for i, cell in enumerate(df[FORMULA].tolist()):
        if is_missing(cell):
            raise InputError(f"compound row {i + 1}: the formula is empty")
        text = str(cell).strip()
        try:
            sites.append(formula_sites(text, site_rule))
        except InputError as exc:
            raise InputError(f"compound row {i + 1}: {exc}") from None
        texts.append(text)
    return sites, texts

def with_site_columns(df: pd.DataFrame, site_rule: str) -> pd.DataFrame:
    """Columns A and B (first) from the 'formula' column, by formula_sites' rule."""
    sites, texts = read_formulas(df, site_rule)
    df = df.copy()
    df[FORMULA] = pd.Series(texts, index=df.index, dtype=object)
    df.insert(0, "B", pd.Series([b for _, b in sites], index=df.index, dtype=object))
    df.insert(0, "A", pd.Series([a for a, _ in sites], index=df.index, dtype=object))
    return df
