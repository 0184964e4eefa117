"""Datasets: a table of AB compounds with a target, and a table of atomic properties.

A :class:`Dataset` pairs

* ``compounds``: one row per binary compound, with the element on site A, the
  element on site B, the target property and possibly more columns;
* ``atoms``: one row per element (index ``symbol``), one column per atomic
  property.

:func:`octet` returns the built-in benchmark (82 octet binary compounds,
Ghiringhelli et al. 2015); :func:`load_dataset` checks and wraps the user's own
tables. Atomic properties can also come from pymatgen (see
:mod:`formulasearch.elements`), alone or added to an atomic table, and
compounds can be given as formulas ("GaAs") instead of A/B columns. Every problem with the data is reported as an :class:`InputError` with a
one-line message naming the culprit. Row numbers in messages count the data rows
of a table from 1 (a CSV header line is not a row).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from . import elements
from .compounds import FORMULA, SITE_RULES, SITES, check_elements, compound_ref, site_column, with_site_columns
from .units import split_header
from .elements import CITATION, check_properties, units as elemental_units
from .tables import (TableSource, cell_text, coerce_numeric, is_missing, is_numeric, read_table,
                     short_list, units_from_headers)

__all__ = ["Dataset", "octet", "load_dataset"]

SYMBOL = "symbol"
# Column of the atomic table that describes the element rather than a property.
_NOT_A_PROPERTY = ("Z",)

_OCTET_FILE = "octet82.json"
_OCTET_FORMAT = "formulasearch-dataset"

@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Compounds with a target, the atomic table and the property classes.

    Build it with :func:`octet` or :func:`load_dataset`, which check the data;
    the constructor itself checks nothing.
    """

    compounds: pd.DataFrame
    atoms: pd.DataFrame
    target: str
    classes: dict[str, list[str]]
    units: dict[str, str]
    citation: str = ""
    name: str = "custom"

    @property
    def properties(self) -> list[str]:
        """Properties of the classes in class order, then the remaining numeric atom columns (except 'Z')."""
        out: list[str] = []
        for members in self.classes.values():
            for prop in members:
                if prop not in out:
                    out.append(prop)
        for col in self.atoms.columns:
            if col in out or col in _NOT_A_PROPERTY or col == SYMBOL:
                continue
            if is_numeric(self.atoms[col]):
                out.append(str(col))
        return out

    @property
    def labels(self) -> list[str]:
        """One label per compound: A + B, e.g. 'GaAs' (and 'CC' for carbon)."""
        return [f"{a}{b}" for a, b in zip(self.compounds["A"], self.compounds["B"])]

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, compounds={len(self.compounds)}, "
            f"elements={len(self.atoms)}, target={self.target!r}, "
            f"properties={self.properties!r})"
        )


# --------------------------------------------------------------------------
# small helpers shared with primaries.py




















def check_classes(classes: Any, atom_columns: Sequence[Any]) -> dict[str, list[str]]:
    """A fresh {class: [properties]} dict; every property a column, in one class only."""
    if classes is None:
        return {}
    if not isinstance(classes, Mapping):
        raise InputError(
            "property classes must map a class name to a list of properties, "
            f"e.g. {{'energy': ['IP', 'EA']}}; got {type(classes).__name__}"
        )
    columns = [str(c) for c in atom_columns]
    owner: dict[str, str] = {}
    out: dict[str, list[str]] = {}
    for name, members in classes.items():
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"property class names must be non-empty strings, got {name!r}")
        if isinstance(members, str):
            members = [members]
        try:
            members = list(members)
        except TypeError:
            raise InputError(
                f"property class {name!r} must be a list of property names, got {members!r}"
            ) from None
        if not members:
            raise InputError(f"property class {name!r} lists no properties")
        for prop in members:
            if not isinstance(prop, str):
                raise InputError(f"property class {name!r}: {prop!r} is not a property name")
            if prop in owner:
                if owner[prop] == name:
                    raise InputError(f"property {prop!r} is listed twice in class {name!r}")
                raise InputError(
                    f"property {prop!r} is listed in two classes, {owner[prop]!r} and {name!r}; "
                    "a property belongs to one class"
                )
            if prop not in columns:
                raise InputError(
                    f"property class {name!r} names {prop!r}, which is not a column of the "
                    f"atomic table (columns: {short_list(columns)})"
                )
            owner[prop] = name
        out[name] = list(members)
    return out


def numeric_column(atoms: pd.DataFrame, prop: str) -> np.ndarray:
    """float64 values of an atomic property, or an InputError naming the first bad element."""
    values, bad = coerce_numeric(atoms[prop])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        cell = atoms[prop].iloc[i]
        others = int(bad.sum()) - 1
        more = f" ({others} more non-numeric value(s))" if others else ""
        raise InputError(
            f"property {prop!r} of the atomic table must be numeric: element "
            f"{atoms.index[i]!r} has {cell_text(cell)}{more}"
        )
    return values


# --------------------------------------------------------------------------
# reading and checking the two tables










def _check_compounds(df: pd.DataFrame, where: str, target: Any, site_rule: str = "electronegativity") -> pd.DataFrame:
    columns = [str(c) for c in df.columns]
    has_sites = all(site in df.columns for site in SITES)
    if not has_sites and (FORMULA not in df.columns or any(site in df.columns for site in SITES)):
        raise InputError(
            "formulasearch searches binary AB compounds: the compounds table needs columns "
            f"'A' and 'B', or a column 'formula' ({where} has: {short_list(columns) or 'no columns'})"
        )
    if not isinstance(target, str) or not target.strip():
        raise InputError(f"the target must be the name of a column of the compounds table, got {target!r}")
    if target in SITES or (target == FORMULA and not has_sites):
        raise InputError(
            f"the target {target!r} is a site column; name a numeric column "
            f"(columns: {short_list(columns)})"
        )
    if target not in df.columns:
        raise InputError(
            f"{where} has no target column {target!r} (columns: {short_list(columns)})"
        )
    if len(df) == 0:
        raise InputError(f"{where} is empty: it has a header but no compound rows")

    if has_sites:
        for site in SITES:
            df[site] = site_column(df, site)
    else:
        df = with_site_columns(df, site_rule)

    values, bad = coerce_numeric(df[target])
    bad |= ~np.isfinite(values)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = [
            f"{compound_ref(df['A'].iloc[i] + df['B'].iloc[i], int(i))} has "
            f"{cell_text(df[target].iloc[i])}"
            for i in rows[:5]
        ]
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        raise InputError(
            f"target {target!r} must be a finite number for every compound: "
            f"{'; '.join(shown)}{more}"
        )
    df[target] = values
    return df


def check_atoms(df: pd.DataFrame, where: str) -> pd.DataFrame:
    if SYMBOL in df.columns:
        df = df.set_index(SYMBOL)
    elif df.index.name != SYMBOL:
        columns = [str(c) for c in df.columns]
        raise InputError(
            f"{where} needs a 'symbol' column with the element symbols "
            f"(columns: {short_list(columns) or 'none'})"
        )
    if len(df) == 0:
        raise InputError(f"{where} is empty: it has a header but no element rows")

    symbols = df.index.tolist()
    for i, sym in enumerate(symbols):
        if is_missing(sym):
            raise InputError(f"atomic table row {i + 1}: the element symbol is empty")
    symbols = [str(s).strip() for s in symbols]
    seen: dict[str, int] = {}
    for i, sym in enumerate(symbols):
        if sym in seen:
            raise InputError(
                f"the atomic table lists element {sym!r} twice (rows {seen[sym] + 1} and {i + 1}); "
                "each element needs exactly one row"
            )
        seen[sym] = i
    df.index = pd.Index(symbols, dtype=object, name=SYMBOL)

    # Numeric columns become float64 (an integer 'Z' stays integer); text columns
    # whose every cell is a number are converted too; other text columns are kept.
    for col in list(df.columns):
        series = df[col]
        if pd.api.types.is_bool_dtype(series):
            continue
        if is_numeric(series):
            if col in _NOT_A_PROPERTY and pd.api.types.is_integer_dtype(series):
                continue
            df[col] = series.to_numpy(dtype="float64", na_value=np.nan)
            continue
        values, bad = coerce_numeric(series)
        if not bad.any() and not np.isnan(values).all():
            df[col] = values
    return df




def _check_units(units: Any, compounds: pd.DataFrame, atoms: pd.DataFrame) -> dict[str, str]:
    out: dict[str, str] = {str(c): "" for c in compounds.columns}
    out.update({str(c): "" for c in atoms.columns})
    if units is None:
        return out
    if not isinstance(units, Mapping):
        raise InputError(f"units must map column names to unit strings, got {type(units).__name__}")
    allowed = set(out) | {SYMBOL}
    for col, unit in units.items():
        if col not in allowed:
            raise InputError(
                f"a unit is given for {col!r}, which is not a column of the compounds or atomic "
                f"table (columns: {short_list(sorted(out))})"
            )
        if unit is None:
            unit = ""
        if not isinstance(unit, str):
            raise InputError(f"the unit of {col!r} must be a string, got {unit!r}")
        out[col] = unit.strip()
    return out


def _compound_elements(compounds: pd.DataFrame) -> list[str]:
    """Elements of the compounds, in order of first appearance (A before B in each row)."""
    seen: dict[str, None] = {}
    for a, b in zip(compounds["A"], compounds["B"]):
        seen.setdefault(str(a), None)
        seen.setdefault(str(b), None)
    return list(seen)


def _with_elemental(atoms: pd.DataFrame | None, compounds: pd.DataFrame,
                    properties: list[str]) -> pd.DataFrame:
    """The atomic table with pymatgen columns added (or built from pymatgen alone).

    Values of elements some compound uses must exist (else one InputError lists
    them all); an element of the user's table that no compound uses gets NaN
    where pymatgen has no value (or is not a chemical element), as it is never
    read. A pymatgen column named like a column of the table is an error.
    """
    used = _compound_elements(compounds)
    if atoms is None:
        return elements.elemental_table(used, properties)
    clash = [p for p in properties if p in set(map(str, atoms.columns))]
    if clash:
        raise InputError(
            f"elemental property {clash[0]!r} from pymatgen has the name of a column of the atomic table; "
            "rename that column or leave the property out of elemental"
            + (f" (also clashing: {', '.join(map(repr, clash[1:]))})" if len(clash) > 1 else "")
        )
    used_set = set(used)
    symbols = [str(s) for s in atoms.index]
    needed = [s for s in symbols if s in used_set]
    spare = [s for s in symbols if s not in used_set and elements.is_element(s)]
    parts = []
    if needed:
        parts.append(elements.elemental_table(needed, properties))
    if spare:
        parts.append(elements.elemental_table(spare, properties, allow_missing=True))
    values = pd.concat(parts) if parts else pd.DataFrame(columns=properties, dtype="float64")
    values = values.reindex(atoms.index)
    out = atoms.copy()
    for prop in properties:
        out[prop] = values[prop].to_numpy(dtype="float64")
    return out


def load_dataset(
    compounds: TableSource,
    atoms: TableSource | None = None,
    target: str | None = None,
    classes: Mapping[str, Sequence[str]] | None = None,
    units: Mapping[str, str] | None = None,
    name: str = "custom",
    elemental: Sequence[str] | None = None,
    site_rule: str = "electronegativity",
) -> Dataset:
    """Check the user's tables and return a :class:`Dataset`.

    ``compounds`` and ``atoms`` are CSV paths or DataFrames (the inputs are not
    modified). The compounds table needs the ``target`` column and either
    columns ``A`` and ``B`` (element symbols) or a column ``formula`` with
    formulas such as "GaAs", "MgO" or "C" (then A and B are found with
    :func:`formulasearch.predict.formula_sites` and ``site_rule``:
    "electronegativity", the default, puts the element of lower Pauling
    electronegativity on A, ties by lower Z; "as_written" keeps the formula's
    order; A/B columns, when present, win over a formula column). The atomic
    table needs a ``symbol`` column (or an index named ``symbol``).

    ``elemental`` names properties of :mod:`formulasearch.elements` (e.g.
    ``["X", "atomic_radius"]``) read from pymatgen for the elements of the
    compounds: added as columns to ``atoms``, or, with ``atoms=None``, forming
    the whole atomic table. Their units go into ``Dataset.units`` (a unit given
    in ``units`` wins). No value is ever filled in: an element a compound uses
    with no pymatgen value is an InputError naming every such element, and so
    is a pymatgen property named like an existing atoms column.

    ``classes`` maps a class name to its properties (columns of the atomic
    table, pymatgen ones included), in the order the search should use; a
    property in no class is a class of its own. ``units`` maps column names to
    units. Raises :class:`InputError` with a one-line message on bad data.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"the dataset name must be a non-empty string, got {name!r}")

    if site_rule != "electronegativity":
        if site_rule not in SITE_RULES:
            raise InputError(f"site_rule must be one of {', '.join(SITE_RULES)}, got {site_rule!r}")
    pymatgen_props = None if elemental is None else check_properties(elemental)
    if atoms is None and pymatgen_props is None:
        raise InputError(
            "no atomic data: give an atomic table (atoms), elemental properties from pymatgen "
            "(elemental=[...]), or both"
        )
    comp_df, comp_where = read_table(compounds, "compounds")
    # Headers such as "IP (eV)" name the column IP and give its unit.
    comp_df, comp_header_units = units_from_headers(comp_df)
    atom_header_units: dict[str, str] = {}
    atom_df = None
    if atoms is not None:
        atom_df, atom_where = read_table(atoms, "atoms")
        atom_df, atom_header_units = units_from_headers(atom_df)
    target = split_header(target)[0] if isinstance(target, str) else target

    comp_df = _check_compounds(comp_df, comp_where, target, site_rule)
    if atom_df is not None:
        atom_df = check_atoms(atom_df, atom_where)
    if pymatgen_props is not None:
        atom_df = _with_elemental(atom_df, comp_df, pymatgen_props)
        for col, unit in elemental_units(pymatgen_props).items():
            atom_header_units.setdefault(col, unit)
    class_map = check_classes(classes, atom_df.columns)
    for members in class_map.values():
        for prop in members:
            atom_df[prop] = numeric_column(atom_df, prop)
    check_elements(comp_df, atom_df.index)
    unit_map = _check_units(units, comp_df, atom_df)
    for col, unit in {**comp_header_units, **atom_header_units}.items():
        if not unit_map.get(col):
            unit_map[col] = unit
    citation = ""
    if pymatgen_props is not None:
        citation = f"Atomic properties {', '.join(pymatgen_props)} from pymatgen: {CITATION}."
    return Dataset(
        compounds=comp_df,
        atoms=atom_df,
        target=target,
        classes=class_map,
        units=unit_map,
        citation=citation,
        name=name,
    )


# --------------------------------------------------------------------------
# the built-in octet benchmark


@lru_cache(maxsize=1)
def _octet_text() -> str:
    resource = resources.files(__package__).joinpath(_OCTET_FILE)  # shipped beside this module
    return resource.read_text(encoding="utf-8")


def _block_frame(block: Mapping[str, Any]) -> pd.DataFrame:
    columns = [c["name"] for c in block["columns"]]
    data = {col: [row[j] for row in block["rows"]] for j, col in enumerate(columns)}
    return pd.DataFrame(data, columns=columns)


def octet() -> Dataset:
    """The 82 octet binary compounds (target 'dE', eV) with 34 elements' atomic data.

    Values of Ghiringhelli et al., Phys. Rev. Lett. 114, 105503 (2015), the table
    also used by Gajera et al. (arXiv 2202.07372) and SISSO. Property classes:
    energy {IP, EA}, radius {rs, rp, rd}, orbital {HOMO, LUMO}. Each call returns
    fresh tables, so changing them does not affect later calls.
    """
    raw = json.loads(_octet_text())
    if raw.get("format") != _OCTET_FORMAT:
        raise InputError(f"the built-in file {_OCTET_FILE} is not a formulasearch dataset")
    units = {
        c["name"]: c.get("unit", "")
        for key in ("compounds", "atoms")
        for c in raw[key]["columns"]
    }
    dataset = load_dataset(
        _block_frame(raw["compounds"]),
        _block_frame(raw["atoms"]),
        target=raw["target"],
        classes=raw["classes"],
        units=units,
        name="octet",
    )
    cite = raw["citation"]
    citation = f"{cite['text']}, doi:{cite['doi']}. {cite['note']}"
    return replace(dataset, citation=citation)
