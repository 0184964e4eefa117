"""Composition-weighted elemental properties: primary variables of any compound.

For an elemental property P of :mod:`formulasearch.elements` and a statistic,
the variable ``P_<statistic>`` of a composition with atomic fractions f_i of
elements with values P_i is

* ``P_mean``: sum_i f_i P_i (the atomic-fraction weighted mean);
* ``P_max`` / ``P_min``: the largest / smallest P_i of the elements present;
* ``P_diff``: P_max - P_min (0 for an element);
* ``P_std``: sqrt(sum_i f_i (P_i - P_mean)^2), the fraction-weighted standard deviation.

and ``n_elements`` is the number of elements (dimensionless).

Each has P's unit. Binary AB compounds use P_A and P_B (formulasearch.primaries);
these work for ternaries and beyond, e.g. ``X_mean``, ``atomic_radius_diff``.
A property pymatgen has no value for, for an element of the composition,
gives NaN (never filled in); the callers decide what to do with the sample.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .elements import PROPERTIES, elemental_table
from ..errors import InputError

__all__ = ["STATISTICS", "N_ELEMENTS", "parse_name", "check_features", "feature_unit", "CompositionFeaturizer",
           "composition_table"]

STATISTICS = ("mean", "diff", "max", "min", "std")
N_ELEMENTS = "n_elements"  #: the number of elements of a composition
#: used for a table of formulas when no feature is named: common descriptors of the elements' chemistry and size
DEFAULT_FEATURES = tuple(f"{p}_{s}" for p in ("X", "atomic_radius", "ionization_energy", "electron_affinity",
                                                "row", "group") for s in ("mean", "diff", "std")) + (N_ELEMENTS,)


def parse_name(name: str) -> tuple[str, str]:
    """'atomic_radius_diff' -> ('atomic_radius', 'diff'); 'n_elements' -> ('', 'n_elements');
    InputError when not a property and statistic."""
    if name == N_ELEMENTS:
        return "", N_ELEMENTS
    prop, _, statistic = str(name).rpartition("_")
    if statistic not in STATISTICS or prop not in PROPERTIES:
        raise InputError(f"{name!r} is not a composition feature: expected <property>_<statistic> with a "
                         f"statistic of {', '.join(STATISTICS)} and a property of {', '.join(PROPERTIES)}, or {N_ELEMENTS}")
    return prop, statistic


def is_composition_feature(name: str) -> bool:
    try:
        parse_name(name)
    except InputError:
        return False
    return True


def check_features(names: Iterable[str] | str) -> list[str]:
    """The names as a list; InputError for an unknown or repeated one."""
    names = [names] if isinstance(names, str) else list(names)
    for i, name in enumerate(names):
        parse_name(name)
        if name in names[:i]:
            raise InputError(f"composition feature {name!r} is asked for twice")
    return names


def feature_unit(name: str) -> str:
    prop = parse_name(name)[0]
    return PROPERTIES[prop].unit if prop else ""


class CompositionFeaturizer:
    """Computes the chosen features of compositions; elemental values are read once per element."""

    def __init__(self, names: Sequence[str]):
        self.names = check_features(names)
        self.properties = list(dict.fromkeys(p for p, _ in map(parse_name, self.names) if p))
        self._values: dict[str, np.ndarray] = {}  # element symbol -> values of self.properties

    def _element_values(self, symbol: str) -> np.ndarray:
        if symbol not in self._values:
            row = elemental_table([symbol], self.properties, allow_missing=True)
            self._values[symbol] = row.to_numpy(dtype=float)[0]
        return self._values[symbol]

    def __call__(self, composition: Any) -> dict[str, float]:
        """{name: value} for a pymatgen Composition (or anything Composition accepts)."""
        from pymatgen.core import Composition

        comp = composition if isinstance(composition, Composition) else Composition(composition)
        amounts = comp.get_el_amt_dict()  # element symbol -> amount (oxidation states merged)
        if not amounts:
            raise InputError("an empty composition has no composition features")
        symbols = list(amounts)
        fractions = np.array([amounts[s] for s in symbols], dtype=float)
        fractions /= fractions.sum()
        values = np.vstack([self._element_values(s) for s in symbols])  # elements x properties
        out: dict[str, float] = {}
        for name in self.names:
            prop, statistic = parse_name(name)
            if statistic == N_ELEMENTS:
                out[name] = float(len(symbols))
                continue
            column = values[:, self.properties.index(prop)]
            if np.isnan(column).any():
                out[name] = math.nan
            elif statistic == "mean":
                out[name] = float(fractions @ column)
            elif statistic == "max":
                out[name] = float(column.max())
            elif statistic == "min":
                out[name] = float(column.min())
            elif statistic == "std":
                out[name] = math.sqrt(max(0.0, float(fractions @ (column - fractions @ column) ** 2)))
            else:
                out[name] = float(column.max() - column.min())
        return out


def composition_table(compositions: Iterable[Any], names: Sequence[str]) -> pd.DataFrame:
    """The features of each composition: one row per composition, one column per feature."""
    featurize = CompositionFeaturizer(names)
    return pd.DataFrame([featurize(c) for c in compositions], columns=list(featurize.names))
