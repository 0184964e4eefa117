"""Tests of formulasearch.data.primaries: the primary matrix built from a Dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from formulasearch.data.datasets import load_dataset, octet
from formulasearch.errors import InputError
from formulasearch.data.primaries import Primaries, build_primaries

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "octet82"
needs_shared = pytest.mark.skipif(
    not (SHARED / "compounds.csv").exists(), reason="shared octet82 CSVs not available"
)
CSV_KW = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}

OCTET_NAMES = [
    "IP_A", "IP_B", "EA_A", "EA_B",
    "rs_A", "rs_B", "rp_A", "rp_B", "rd_A", "rd_B",
    "HOMO_A", "HOMO_B", "LUMO_A", "LUMO_B",
]


@pytest.fixture(scope="module")
def prim() -> Primaries:
    return build_primaries(octet())


def small_dataset(atoms_rows=None, classes=None):
    compounds = pd.DataFrame(
        {"A": ["Ga", "Ga", "In"], "B": ["As", "P", "As"], "y": [0.271, 0.341, 0.122]}
    )
    atoms = pd.DataFrame(
        atoms_rows
        or {
            "symbol": ["Ga", "As", "In", "P"],
            "Z": [31, 33, 49, 15],
            "rp": [1.33, 1.043, 1.498, 0.966],
            "IP": [-5.818, -9.262, -5.537, -9.751],
            "EA": [-0.108, -1.839, -0.256, -1.92],
        }
    )
    return load_dataset(compounds, atoms, "y", classes=classes)


# ---------------------------------------------------------------- octet


def test_shape_dtype_layout(prim):
    assert prim.matrix.shape == (14, 82)
    assert prim.n_variables == 14 and prim.n_samples == 82
    assert prim.matrix.dtype == np.float64
    assert prim.matrix.flags["C_CONTIGUOUS"]
    assert prim.target.shape == (82,) and prim.target.dtype == np.float64
    assert np.isfinite(prim.matrix).all()


def test_variable_order_and_classes(prim):
    assert prim.names == OCTET_NAMES
    assert prim.class_names == ["energy", "radius", "orbital"]
    assert prim.classes == [[0, 1, 2, 3], [4, 5, 6, 7, 8, 9], [10, 11, 12, 13]]
    assert prim.units == ["eV"] * 4 + ["angstrom"] * 6 + ["eV"] * 4
    assert prim.target_name == "dE"


def test_labels(prim):
    assert len(prim.labels) == 82
    assert prim.labels[:3] == ["LiF", "LiCl", "LiBr"]
    assert "CC" in prim.labels and "SiSi" in prim.labels
    assert "GaAs" in prim.labels


def test_gaas_spot_check(prim):
    # values of atoms.csv: Ga rp 1.33, As rp 1.043; GaAs dE 0.271
    s = prim.labels.index("GaAs")
    col = dict(zip(prim.names, prim.matrix[:, s]))
    assert col["rp_A"] == 1.33
    assert col["rp_B"] == 1.043
    assert col["IP_A"] == -5.818 and col["IP_B"] == -9.262
    assert col["LUMO_A"] == 0.13 and col["LUMO_B"] == 0.064
    assert prim.target[s] == 0.271


def test_elemental_compound_has_equal_sites(prim):
    s = prim.labels.index("CC")
    for k in range(0, 14, 2):
        assert prim.matrix[k, s] == prim.matrix[k + 1, s]
    assert prim.target[s] == 2.638


@needs_shared
def test_matrix_equals_shared_csvs(prim):
    compounds = pd.read_csv(SHARED / "compounds.csv", **CSV_KW)
    atoms = pd.read_csv(SHARED / "atoms.csv", **CSV_KW)
    for site in ("A", "B"):
        merged = compounds[[site]].merge(atoms, left_on=site, right_on="symbol", how="left")
        for prop in ("IP", "EA", "rs", "rp", "rd", "HOMO", "LUMO"):
            row = prim.matrix[prim.names.index(f"{prop}_{site}")]
            assert row.tolist() == merged[prop].tolist(), f"{prop}_{site}"
    assert prim.target.tolist() == compounds["dE"].tolist()
    assert prim.labels == (compounds["A"] + compounds["B"]).tolist()


def test_subset_follows_class_order_not_argument_order():
    p = build_primaries(octet(), ["rp", "LUMO", "IP"])
    assert p.names == ["IP_A", "IP_B", "rp_A", "rp_B", "LUMO_A", "LUMO_B"]
    assert p.class_names == ["energy", "radius", "orbital"]
    assert p.classes == [[0, 1], [2, 3], [4, 5]]


def test_property_outside_classes_is_its_own_class():
    p = build_primaries(octet(), ["Z", "rd", "EA"])
    assert p.names == ["EA_A", "EA_B", "rd_A", "rd_B", "Z_A", "Z_B"]
    assert p.class_names == ["energy", "radius", "Z"]
    assert p.classes == [[0, 1], [2, 3], [4, 5]]
    s = p.labels.index("GaAs")
    assert p.matrix[4, s] == 31.0 and p.matrix[5, s] == 33.0


def test_no_classes_keeps_property_order():
    ds = small_dataset()
    assert ds.properties == ["rp", "IP", "EA"]
    p = build_primaries(ds)
    assert p.names == ["rp_A", "rp_B", "IP_A", "IP_B", "EA_A", "EA_B"]
    assert p.class_names == ["rp", "IP", "EA"]
    assert p.classes == [[0, 1], [2, 3], [4, 5]]
    p2 = build_primaries(ds, ["EA", "rp"])
    assert p2.names == ["EA_A", "EA_B", "rp_A", "rp_B"]
    assert p2.labels == ["GaAs", "GaP", "InAs"]
    np.testing.assert_array_equal(p2.matrix[2], [1.33, 1.33, 1.498])
    np.testing.assert_array_equal(p2.matrix[3], [1.043, 0.966, 1.043])
    np.testing.assert_array_equal(p2.target, [0.271, 0.341, 0.122])


def test_mixed_classes_and_singletons():
    ds = small_dataset(classes={"energy": ["EA", "IP"]})
    p = build_primaries(ds)
    assert p.names == ["EA_A", "EA_B", "IP_A", "IP_B", "rp_A", "rp_B"]
    assert p.class_names == ["energy", "rp"]
    assert p.classes == [[0, 1, 2, 3], [4, 5]]


def test_single_string_property_and_contiguity():
    p = build_primaries(octet(), "rs")
    assert p.names == ["rs_A", "rs_B"]
    assert p.matrix.flags["C_CONTIGUOUS"] and p.matrix.shape == (2, 82)


def test_matrix_does_not_alias_the_dataset():
    ds = octet()
    p = build_primaries(ds)
    p.matrix[:] = 0.0
    p.target[:] = 0.0
    assert ds.atoms.loc["Ga", "IP"] == -5.818
    assert ds.compounds.loc[0, "dE"] == -0.059


def test_to_frame(prim):
    frame = prim.to_frame()
    assert frame.shape == (82, 15)
    assert frame.loc["GaAs", "rp_B"] == 1.043
    assert frame.loc["GaAs", "dE"] == 0.271


# ---------------------------------------------------------------- bad input


def test_unknown_property_lists_available():
    with pytest.raises(
        InputError, match=r"unknown property 'rf' \(available: IP, EA, rs, rp, rd, HOMO, LUMO\)"
    ) as excinfo:
        build_primaries(octet(), ["rp", "rf"])
    assert "\n" not in str(excinfo.value)


def test_empty_property_list():
    with pytest.raises(InputError, match=r"no properties chosen.*available: IP, EA"):
        build_primaries(octet(), [])


def test_property_chosen_twice():
    with pytest.raises(InputError, match=r"property 'rp' is chosen twice"):
        build_primaries(octet(), ["rp", "rs", "rp"])


def test_nan_for_used_element_names_element_and_property():
    rows = {
        "symbol": ["Ga", "As", "In", "P"],
        "rp": [1.33, 1.043, np.nan, 0.966],
        "IP": [-5.818, -9.262, -5.537, -9.751],
    }
    ds = small_dataset(rows)
    with pytest.raises(
        InputError, match=r"element 'In' has no finite value of property 'rp' \(nan\).*compound 'InAs' \(row 3\)"
    ) as excinfo:
        build_primaries(ds)
    assert "\n" not in str(excinfo.value)
    # without rp the same dataset is fine
    assert build_primaries(ds, ["IP"]).names == ["IP_A", "IP_B"]


def test_inf_for_used_element():
    rows = {"symbol": ["Ga", "As", "In", "P"], "rp": [1.33, np.inf, 1.498, 0.966]}
    with pytest.raises(InputError, match=r"element 'As' has no finite value of property 'rp' \(inf\)"):
        build_primaries(small_dataset(rows))


def test_nan_for_unused_element_is_fine():
    rows = {
        "symbol": ["Ga", "As", "In", "P", "Sb"],
        "rp": [1.33, 1.043, 1.498, 0.966, np.nan],
    }
    p = build_primaries(small_dataset(rows))
    assert p.names == ["rp_A", "rp_B"]
    assert np.isfinite(p.matrix).all()


def test_non_numeric_property_chosen():
    rows = {
        "symbol": ["Ga", "As", "In", "P"],
        "rp": [1.33, 1.043, 1.498, 0.966],
        "block": ["p", "p", "p", "p"],
    }
    ds = small_dataset(rows)
    assert ds.properties == ["rp"]
    with pytest.raises(InputError, match=r"property 'block' of the atomic table must be numeric: element 'Ga' has 'p'"):
        build_primaries(ds, ["rp", "block"])
