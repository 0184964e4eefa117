"""Composition-weighted elemental properties: primary variables of any compound.

For an elemental property P of :mod:`formulasearch.elements` and a statistic,
the variable ``P_<statistic>`` of a composition with atomic fractions f_i of
elements with values P_i is

* ``P_mean``: sum_i f_i P_i (the atomic-fraction weighted mean);
* ``P_max`` / ``P_min``: the largest / smallest P_i of the elements present;
* ``P_diff``: P_max - P_min (0 for an element).

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

__all__ = ["STATISTICS", "parse_name", "check_features", "feature_unit", "CompositionFeaturizer",
           "composition_table"]

STATISTICS = ("mean", "diff", "max", "min")


def parse_name(name: str) -> tuple[str, str]:
    """'atomic_radius_diff' -> ('atomic_radius', 'diff'); InputError when not a property and statistic."""
    prop, _, statistic = str(name).rpartition("_")
    if statistic not in STATISTICS or prop not in PROPERTIES:
        raise InputError(f"{name!r} is not a composition feature: expected <property>_<statistic> with a "
                         f"statistic of {', '.join(STATISTICS)} and a property of {', '.join(PROPERTIES)}")
    return prop, statistic


def check_features(names: Iterable[str] | str) -> list[str]:
    """The names as a list; InputError for an unknown or repeated one."""
    names = [names] if isinstance(names, str) else list(names)
    for i, name in enumerate(names):
        parse_name(name)
        if name in names[:i]:
            raise InputError(f"composition feature {name!r} is asked for twice")
    return names


def feature_unit(name: str) -> str:
    return PROPERTIES[parse_name(name)[0]].unit


class CompositionFeaturizer:
    """Computes the chosen features of compositions; elemental values are read once per element."""

    def __init__(self, names: Sequence[str]):
        self.names = check_features(names)
        self.properties = list(dict.fromkeys(parse_name(n)[0] for n in self.names))
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
            column = values[:, self.properties.index(prop)]
            if np.isnan(column).any():
                out[name] = math.nan
            elif statistic == "mean":
                out[name] = float(fractions @ column)
            elif statistic == "max":
                out[name] = float(column.max())
            elif statistic == "min":
                out[name] = float(column.min())
            else:
                out[name] = float(column.max() - column.min())
        return out


def composition_table(compositions: Iterable[Any], names: Sequence[str]) -> pd.DataFrame:
    """The features of each composition: one row per composition, one column per feature."""
    featurize = CompositionFeaturizer(names)
    return pd.DataFrame([featurize(c) for c in compositions], columns=list(featurize.names))
