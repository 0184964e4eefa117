"""Composition-weighted features against numpy on values read from pymatgen directly."""
import math

import numpy as np
import pytest

from formulasearch.data.composition_features import (STATISTICS, CompositionFeaturizer, check_features,
                                                composition_table, feature_unit, parse_name)
from formulasearch.errors import InputError


def pymatgen_values(formula, prop):
    from pymatgen.core import Composition

    comp = Composition(formula)
    amounts = comp.get_el_amt_dict()
    symbols = list(amounts)
    x = np.array([amounts[s] for s in symbols], float)
    getter = {"X": lambda el: el.X, "atomic_radius": lambda el: el.atomic_radius,
              "atomic_mass": lambda el: el.atomic_mass}[prop]
    from pymatgen.core import Element

    return x / x.sum(), np.array([float(getter(Element(s))) for s in symbols])


@pytest.mark.parametrize("formula", ["NaCl", "GaAs", "SrTiO3", "Li2O", "CuInGaSe4", "Fe"])
def test_statistics_match_numpy(formula):
    names = [f"{p}_{s}" for p in ("X", "atomic_radius", "atomic_mass") for s in STATISTICS]
    got = CompositionFeaturizer(names)(formula)
    for prop in ("X", "atomic_radius", "atomic_mass"):
        f, v = pymatgen_values(formula, prop)
        assert got[f"{prop}_mean"] == pytest.approx(float(f @ v), rel=1e-12)
        assert got[f"{prop}_max"] == pytest.approx(v.max()) and got[f"{prop}_min"] == pytest.approx(v.min())
        assert got[f"{prop}_diff"] == pytest.approx(v.max() - v.min())


def test_oxidation_states_and_composition_objects():
    from pymatgen.core import Composition

    featurize = CompositionFeaturizer(["X_mean"])
    plain = featurize("Fe2O3")["X_mean"]
    assert featurize(Composition({"Fe3+": 2, "O2-": 3}))["X_mean"] == pytest.approx(plain)
    assert featurize(Composition("Fe4O6"))["X_mean"] == pytest.approx(plain)


def test_missing_elemental_value_gives_nan_not_a_filled_value():
    got = CompositionFeaturizer(["X_mean", "atomic_mass_mean"])("ArCl")  # pymatgen has no Pauling X of Ar
    assert math.isnan(got["X_mean"]) and got["atomic_mass_mean"] > 0


def test_names_units_and_errors():
    assert parse_name("atomic_radius_diff") == ("atomic_radius", "diff")
    assert feature_unit("atomic_radius_mean") == "angstrom" and feature_unit("X_max") == ""
    for bad in ("X_median", "Xmean", "radius_mean"):
        with pytest.raises(InputError, match="not a composition feature"):
            parse_name(bad)
    with pytest.raises(InputError, match="twice"):
        check_features(["X_mean", "X_mean"])
    table = composition_table(["NaCl", "KBr"], ["X_diff"])
    assert list(table.columns) == ["X_diff"] and len(table) == 2
