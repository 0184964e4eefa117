"""Elemental properties from pymatgen, usable as primary variables.

A small catalogue maps a property name to its unit, a description, its source
and a getter that reads the value from a :class:`pymatgen.core.Element`:

    >>> from formulasearch.elements import catalogue, elemental_table
    >>> catalogue()                                   # name, unit, description, source
    >>> elemental_table(["Ga", "As"], ["X", "ionization_energy"])
              X  ionization_energy
    symbol
    Ga     1.81           5.999302
    As     2.18           9.788110

Names follow pymatgen's attribute names where pymatgen has one (``X``,
``atomic_radius``, ``average_ionic_radius``, ``electron_affinity``,
``mendeleev_no``, ...). Values are never filled in: a property pymatgen has no
value for (for example the Pauling electronegativity of Ne or Ar, the atomic
radius of Kr or Xe, the ionic radius of H) is reported, for every element at
once, as one :class:`InputError`. pymatgen itself returns 0.0 for the average
ionic radius of an element without ionic radii; that 0.0 is treated as missing.

Valence orbital energies (``E_s``, ``E_p``, ``E_homo``) are the LDA eigenvalues
of the neutral atom that pymatgen tabulates (``Element.atomic_orbitals``, the
NIST atomic reference data, in Hartree; converted here to eV). "Valence" is
chosen by principal quantum number among the *occupied* orbitals listed for
the element:

* ``E_s``: the occupied s orbital with the largest n (Ga: 4s; Na: 3s; Pd, whose
  configuration is [Kr]4d10, has no 5s: its value is the 4s level);
* ``E_p``: the occupied p orbital with the largest n (Ga: 4p; I: 5p). An element
  with no valence p electrons has a *semi-core* level here (Na: 2p, Cs: 5p,
  Zn: 3p); H, He, Li and Be have no occupied p orbital at all and no value;
* ``E_homo``: the occupied orbital of highest energy, whatever its l (Ga: 4p,
  Zn: 4s, Pd: 4d): the free atom's HOMO.

pymatgen is imported on the first use, not when this module is imported.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["ElementalProperty", "PROPERTIES", "catalogue", "elemental_table", "property_names", "is_element",
           "CITATION"]

SYMBOL = "symbol"
HARTREE_TO_EV = 27.211386245988  # CODATA 2018, as pymatgen's Ha_to_eV

#: How to cite pymatgen, the source of every value here.
CITATION = ("S. P. Ong et al., Python Materials Genomics (pymatgen): a robust, open-source python library for "
            "materials analysis, Comput. Mater. Sci. 68, 314 (2013), doi:10.1016/j.commatsci.2012.10.028")
_COVALENT_SOURCE = ("pymatgen CovalentRadius.radius (Cordero et al., Dalton Trans. 2008, 2832; "
                    "pymatgen.core.molecule_structure_comparator)")
_ORBITAL_SOURCE = "pymatgen Element.atomic_orbitals (NIST LDA atomic reference data), Hartree -> eV"


@dataclass(frozen=True)
class ElementalProperty:
    """One catalogue entry: how to read a property from a pymatgen Element."""

    name: str
    unit: str  #: "" for a unitless number
    description: str
    source: str
    getter: Callable[[Any], Any]  #: Element -> number, or None when pymatgen has no value


# --------------------------------------------------------------------------
# getters: each returns a float, or None when pymatgen has no value


def _attribute(name: str) -> Callable[[Any], Any]:
    def get(el: Any) -> Any:
        return getattr(el, name)

    get.__name__ = f"get_{name}"
    return get


def _first_ionization_energy(el: Any) -> Any:
    energies = el.ionization_energies
    return energies[0] if energies else None


def _average_ionic_radius(el: Any) -> Any:
    # pymatgen returns 0.0 when it has no ionic radii: that is not a value.
    if not el.data.get("Ionic radii"):
        return None
    return el.average_ionic_radius


def _electron_affinity(el: Any) -> Any:
    try:
        return el.electron_affinity
    except KeyError:  # pymatgen indexes its data directly for this one
        return None


def _covalent_radius(el: Any) -> Any:
    return _covalent_radii().get(el.symbol)


def _covalent_radii() -> dict[str, float]:
    try:
        from pymatgen.core.molecule_structure_comparator import CovalentRadius
    except ImportError:  # older pymatgen
        from pymatgen.analysis.molecule_structure_comparator import CovalentRadius
    return CovalentRadius.radius


def _orbitals_ev(el: Any) -> dict[str, float] | None:
    """Occupied orbital -> LDA eigenvalue in eV, e.g. {'4s': -8.93, '4p': -2.77, ...}."""
    hartree = el.atomic_orbitals
    if not hartree:
        return None
    return {str(k): float(v) * HARTREE_TO_EV for k, v in hartree.items() if v is not None}


def _outermost(l_letter: str) -> Callable[[Any], Any]:
    def get(el: Any) -> Any:
        orbitals = _orbitals_ev(el)
        if not orbitals:
            return None
        shells = [(int(k[:-1]), v) for k, v in orbitals.items() if k[-1] == l_letter and k[:-1].isdigit()]
        return max(shells)[1] if shells else None

    get.__name__ = f"get_E_{l_letter}"
    return get


def _homo(el: Any) -> Any:
    orbitals = _orbitals_ev(el)
    return max(orbitals.values()) if orbitals else None


def _entries() -> dict[str, ElementalProperty]:
    rows = [
        ("X", "", "Pauling electronegativity", "pymatgen Element.X", _attribute("X")),
        ("atomic_radius", "angstrom", "empirical atomic radius", "pymatgen Element.atomic_radius",
         _attribute("atomic_radius")),
        ("atomic_radius_calculated", "angstrom", "calculated atomic radius",
         "pymatgen Element.atomic_radius_calculated", _attribute("atomic_radius_calculated")),
        ("covalent_radius", "angstrom",
         "single-bond covalent radius as pymatgen tabulates it (C: 0.73, the sp2 value)", _COVALENT_SOURCE,
         _covalent_radius),
        ("average_ionic_radius", "angstrom",
         "ionic radius averaged over the oxidation states pymatgen lists radii for",
         "pymatgen Element.average_ionic_radius (missing, not 0, without ionic radii)", _average_ionic_radius),
        ("ionization_energy", "eV", "first ionisation energy", "pymatgen Element.ionization_energies[0]",
         _first_ionization_energy),
        ("electron_affinity", "eV",
         "electron affinity, energy released on adding an electron (> 0: bound; noble gases < 0)",
         "pymatgen Element.electron_affinity", _electron_affinity),
        ("row", "", "period of the periodic table (lanthanoids 6, actinoids 7)", "pymatgen Element.row",
         _attribute("row")),
        ("group", "", "group 1-18 of the periodic table (lanthanoids and actinoids 3)", "pymatgen Element.group",
         _attribute("group")),
        ("mendeleev_no", "", "Mendeleev number (Pettifor's ordering of the elements)", "pymatgen Element.mendeleev_no",
         _attribute("mendeleev_no")),
        ("atomic_mass", "amu", "standard atomic mass", "pymatgen Element.atomic_mass", _attribute("atomic_mass")),
        ("E_s", "eV", "LDA energy of the outermost occupied s orbital (largest n)", _ORBITAL_SOURCE, _outermost("s")),
        ("E_p", "eV",
         "LDA energy of the outermost occupied p orbital (largest n; semi-core without valence p electrons, "
         "e.g. Na 2p; none for H, He, Li, Be)", _ORBITAL_SOURCE, _outermost("p")),
        ("E_homo", "eV", "LDA energy of the highest occupied orbital of any l (the free atom's HOMO)",
         _ORBITAL_SOURCE, _homo),
    ]
    return {name: ElementalProperty(name, unit, desc, source, getter) for name, unit, desc, source, getter in rows}


#: name -> ElementalProperty, in catalogue order.
PROPERTIES: dict[str, ElementalProperty] = _entries()


def property_names() -> list[str]:
    """The catalogue's property names, in catalogue order."""
    return list(PROPERTIES)


def catalogue() -> pd.DataFrame:
    """The properties :func:`elemental_table` can read: columns name, unit, description, source."""
    return pd.DataFrame(
        [(p.name, p.unit, p.description, p.source) for p in PROPERTIES.values()],
        columns=["name", "unit", "description", "source"],
    )


# --------------------------------------------------------------------------
# the table


def _pymatgen_element():
    try:
        from pymatgen.core import Element
    except ImportError:
        raise InputError(
            "atomic data from pymatgen needs pymatgen (pip install pymatgen); or give an atoms table"
        ) from None
    return Element


def check_properties(properties: Any, what: str = "elemental properties") -> list[str]:
    """The property names as a fresh list; InputError for unknown names, duplicates or a non-list."""
    if isinstance(properties, str):
        properties = [properties]
    try:
        names = list(properties)
    except TypeError:
        raise InputError(f"{what} must be a list of property names, got {type(properties).__name__}") from None
    if not names:
        raise InputError(f"no {what} given (catalogue: {', '.join(PROPERTIES)})")
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            raise InputError(f"{what}: {name!r} is not a property name")
        if name in seen:
            raise InputError(f"{what}: property {name!r} is listed twice")
        seen.add(name)
        if name not in PROPERTIES:
            lower = [p for p in PROPERTIES if p.lower() == name.strip().lower()]
            hint = f"; did you mean {lower[0]!r}?" if lower else ""
            raise InputError(
                f"unknown elemental property {name!r} (pymatgen catalogue: {', '.join(PROPERTIES)}){hint}"
            )
    return names


def _elements(symbols: Iterable[Any]) -> list[tuple[str, Any]]:
    """(symbol, pymatgen Element) of each symbol; InputError for one that is not an element."""
    Element = _pymatgen_element()
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for raw in symbols:
        symbol = raw.strip() if isinstance(raw, str) else raw
        if not isinstance(symbol, str) or not symbol:
            raise InputError(f"element symbols must be non-empty strings, got {raw!r}")
        if symbol in seen:
            raise InputError(f"element {symbol!r} is listed twice")
        seen.add(symbol)
        try:
            valid = Element.is_valid_symbol(symbol)
        except Exception:  # noqa: BLE001 - any failure means "not a symbol"
            valid = False
        if not valid:
            cased = symbol[:1].upper() + symbol[1:].lower()
            hint = f"; did you mean {cased!r}?" if cased != symbol and Element.is_valid_symbol(cased) else ""
            raise InputError(f"{symbol!r} is not a chemical element symbol known to pymatgen{hint}")
        out.append((symbol, Element(symbol)))
    return out


def is_element(symbol: Any) -> bool:
    """Whether pymatgen knows ``symbol`` as a chemical element symbol (case matters: 'Ga', not 'ga')."""
    if not isinstance(symbol, str) or not symbol.strip():
        return False
    Element = _pymatgen_element()
    try:
        return bool(Element.is_valid_symbol(symbol.strip()))
    except Exception:  # noqa: BLE001
        return False


def _number(value: Any) -> float:
    """float of a pymatgen value (FloatWithUnit, int, float); NaN for None or non-numbers."""
    if value is None:
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def elemental_table(
    symbols: Sequence[str],
    properties: Sequence[str],
    allow_missing: bool = False,
) -> pd.DataFrame:
    """Values of catalogue properties for the given elements, read from pymatgen.

    Returns a DataFrame indexed by ``symbol`` (in the order given) with one
    float64 column per property (in the order given). Nothing is filled in:
    when pymatgen has no value of a property for an element, one
    :class:`InputError` lists every (property, elements) that is missing, e.g.
    "pymatgen has no value of 'X' for Ne, Ar; of 'average_ionic_radius' for H".
    With ``allow_missing=True`` those cells are NaN instead (the caller then
    decides; :func:`formulasearch.build_primaries` rejects a NaN that a
    compound uses).

    Raises InputError for an unknown property name (the message lists the
    catalogue), a symbol that is not a chemical element, or a missing value.
    """
    names = check_properties(properties)
    if isinstance(symbols, str):
        symbols = [symbols]
    elements = _elements(symbols)
    if not elements:
        raise InputError("no elements given")
    data = np.full((len(elements), len(names)), np.nan)
    missing: dict[str, list[str]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns on every missing value
        for j, name in enumerate(names):
            getter = PROPERTIES[name].getter
            for i, (symbol, el) in enumerate(elements):
                try:
                    value = _number(getter(el))
                except (AttributeError, KeyError, IndexError, TypeError, ValueError):
                    value = math.nan
                if math.isnan(value):
                    missing.setdefault(name, []).append(symbol)
                data[i, j] = value
    if missing and not allow_missing:
        parts = [f"'{name}' for {', '.join(syms)}" for name, syms in missing.items()]
        raise InputError(
            "pymatgen has no value of " + "; of ".join(parts)
            + " (values are never filled in: choose other properties or give these in an atoms table)"
        )
    frame = pd.DataFrame(data, columns=names, index=pd.Index([s for s, _ in elements], dtype=object, name=SYMBOL))
    return frame


def units(properties: Iterable[str]) -> dict[str, str]:
    """{property: unit} of catalogue properties ("" for unitless ones)."""
    return {name: PROPERTIES[name].unit for name in properties}
