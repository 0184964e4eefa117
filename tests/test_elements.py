"""Tests of formulasearch.data.elements (atomic data from pymatgen) and of mixing
pymatgen properties with the built-in DFT table or the user's atoms in the data
layer (load_dataset, [data] elemental / site_rule, run).

Every value is checked against a direct pymatgen call; the search over
pymatgen-derived properties is re-derived here with numpy: the compounds' sites
are put on A/B by an independent electronegativity sort, the rung-1 feature
space is enumerated by explicit loops, and the best 1D and 2D models are found
by brute-force least squares.
"""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pymatgen")
from pymatgen.core import Element  # noqa: E402

import formulasearch as fs  # noqa: E402
from formulasearch import ConfigError, InputError  # noqa: E402
from formulasearch.config import Config  # noqa: E402
from formulasearch.data.datasets import load_dataset, octet  # noqa: E402
from formulasearch.data.elements import (  # noqa: E402
    HARTREE_TO_EV,
    PROPERTIES,
    catalogue,
    elemental_table,
    is_element,
    property_names,
)
from formulasearch.data.primaries import build_primaries  # noqa: E402

PYMATGEN_PROPS = ["X", "atomic_radius", "ionization_energy", "row", "group"]


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and message.strip() == message and message
    return message


def el(symbol: str) -> Element:
    return Element(symbol)


def quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


# ---------------------------------------------------------------- catalogue


def test_catalogue_lists_every_property_with_unit_and_source():
    cat = catalogue()
    assert list(cat.columns) == ["name", "unit", "description", "source"]
    assert list(cat["name"]) == property_names() == list(PROPERTIES)
    for required in ("X", "atomic_radius", "covalent_radius", "average_ionic_radius", "ionization_energy",
                     "electron_affinity", "row", "group", "mendeleev_no", "atomic_mass", "E_s", "E_p"):
        assert required in PROPERTIES
    units = dict(zip(cat["name"], cat["unit"]))
    assert units["X"] == "" and units["row"] == "" and units["group"] == "" and units["mendeleev_no"] == ""
    assert units["atomic_radius"] == units["covalent_radius"] == units["average_ionic_radius"] == "angstrom"
    assert units["ionization_energy"] == units["electron_affinity"] == units["E_s"] == units["E_p"] == "eV"
    assert units["atomic_mass"] == "amu"
    assert all(s.startswith("pymatgen") for s in cat["source"])
    assert all(d for d in cat["description"])
    assert "Cordero" in cat.set_index("name").loc["covalent_radius", "source"]
    # every unit is one the SISSO unit parser reads
    from formulasearch.data.units import parse_unit

    for unit in cat["unit"]:
        parse_unit(unit)


def test_values_equal_direct_pymatgen_calls():
    symbols = ["Ga", "As", "Na", "Cl", "Mg", "O", "C", "Cs", "I", "Zn"]
    table = elemental_table(symbols, property_names())
    assert table.index.name == "symbol" and list(table.index) == symbols
    assert list(table.columns) == property_names()
    assert all(table.dtypes == "float64")
    try:
        from pymatgen.core.molecule_structure_comparator import CovalentRadius
    except ImportError:
        from pymatgen.analysis.molecule_structure_comparator import CovalentRadius
    for s in symbols:
        e = el(s)
        row = table.loc[s]
        assert row["X"] == e.X
        assert row["atomic_radius"] == float(e.atomic_radius)
        assert row["atomic_radius_calculated"] == float(e.atomic_radius_calculated)
        assert row["covalent_radius"] == CovalentRadius.radius[s]
        assert row["average_ionic_radius"] == float(e.average_ionic_radius) > 0
        assert row["ionization_energy"] == float(e.ionization_energies[0]) == float(e.ionization_energy)
        assert row["electron_affinity"] == float(e.electron_affinity)
        assert row["row"] == e.row and row["group"] == e.group
        assert row["mendeleev_no"] == e.mendeleev_no
        assert row["atomic_mass"] == float(e.atomic_mass)
        orbitals = e.atomic_orbitals  # Hartree
        s_levels = {int(k[:-1]): v for k, v in orbitals.items() if k.endswith("s")}
        p_levels = {int(k[:-1]): v for k, v in orbitals.items() if k.endswith("p")}
        assert row["E_s"] == pytest.approx(s_levels[max(s_levels)] * HARTREE_TO_EV, rel=1e-12)
        assert row["E_p"] == pytest.approx(p_levels[max(p_levels)] * HARTREE_TO_EV, rel=1e-12)
        assert row["E_homo"] == pytest.approx(max(orbitals.values()) * HARTREE_TO_EV, rel=1e-12)
        if hasattr(e, "atomic_orbitals_eV"):
            assert row["E_homo"] == pytest.approx(max(e.atomic_orbitals_eV.values()), rel=1e-9)


def test_known_facts():
    t = elemental_table(["Na", "Ga", "C"], ["row", "group", "X", "ionization_energy", "E_s", "E_p", "E_homo"])
    assert (t.loc["Na", "row"], t.loc["Na", "group"]) == (3, 1)
    assert (t.loc["Ga", "row"], t.loc["Ga", "group"]) == (4, 13)
    assert t.loc["Ga", "X"] == 1.81 and t.loc["C", "X"] == 2.55
    assert t.loc["Na", "ionization_energy"] == pytest.approx(5.139, abs=1e-3)  # NIST: 5.13908 eV
    assert t.loc["Ga", "ionization_energy"] == pytest.approx(5.9993, abs=1e-3)
    # valence levels: Ga 4s and 4p (the 4p is the HOMO); Na's outermost p is the semi-core 2p
    assert t.loc["Ga", "E_s"] == pytest.approx(el("Ga").atomic_orbitals["4s"] * HARTREE_TO_EV)
    assert t.loc["Ga", "E_p"] == t.loc["Ga", "E_homo"] == pytest.approx(el("Ga").atomic_orbitals["4p"] * HARTREE_TO_EV)
    assert t.loc["Na", "E_p"] == pytest.approx(el("Na").atomic_orbitals["2p"] * HARTREE_TO_EV)
    assert t.loc["Na", "E_p"] < -20 < t.loc["Na", "E_s"] == t.loc["Na", "E_homo"]
    assert -3 < t.loc["Ga", "E_p"] < t.loc["Ga", "E_s"] + 7 < 0  # 4p above 4s, both valence


def test_order_and_string_arguments():
    t = elemental_table("Si", "X")
    assert list(t.index) == ["Si"] and list(t.columns) == ["X"] and t.loc["Si", "X"] == 1.9
    t = elemental_table(["O", "Mg"], ["row", "X"])
    assert list(t.index) == ["O", "Mg"] and list(t.columns) == ["row", "X"]


# ---------------------------------------------------------------- missing values


def test_missing_values_named_per_element_and_property():
    # Real gaps in pymatgen: no Pauling X for Ne and Ar; no ionic radii for H
    # (pymatgen's average_ionic_radius returns 0.0 there); no atomic_radius for
    # Kr and Xe; no occupied p orbital for Li.
    assert math.isnan(quiet(lambda: el("Ne").X)) and math.isnan(quiet(lambda: el("Ar").X))
    assert float(el("H").average_ionic_radius) == 0.0 and not el("H").data.get("Ionic radii")
    assert quiet(lambda: el("Kr").atomic_radius) is None
    with pytest.raises(InputError) as excinfo:
        elemental_table(["Na", "Ne", "Ar", "H", "Kr", "Xe", "Li"],
                        ["X", "average_ionic_radius", "atomic_radius", "E_p", "row"])
    msg = one_line(excinfo)
    assert "pymatgen has no value of 'X' for Ne, Ar; of 'average_ionic_radius' for Ne, Ar, H, Kr" in msg
    assert "'atomic_radius' for Ne, Kr, Xe" in msg and "'E_p' for H, Li" in msg
    assert "'row'" not in msg and "Na" not in msg
    assert "never filled in" in msg


def test_missing_electron_affinity_is_reported_not_a_keyerror():
    # pymatgen raises KeyError for the electron affinity of Rf (and gives
    # negative estimates for the noble gases, which are values, not gaps).
    with pytest.raises(KeyError):
        el("Rf").electron_affinity
    assert elemental_table(["He", "Ne"], ["electron_affinity"])["electron_affinity"].lt(0).all()
    with pytest.raises(InputError, match=r"^pymatgen has no value of 'electron_affinity' for Rf, Db "):
        elemental_table(["Cl", "Rf", "Db"], ["electron_affinity"])


def test_allow_missing_gives_nan_exactly_where_missing():
    t = elemental_table(["Na", "Ne", "H"], ["X", "average_ionic_radius"], allow_missing=True)
    assert t.loc["Na", "X"] == 0.93 and math.isnan(t.loc["Ne", "X"]) and t.loc["H", "X"] == 2.2
    assert math.isnan(t.loc["H", "average_ionic_radius"]) and math.isnan(t.loc["Ne", "average_ionic_radius"])
    assert t.loc["Na", "average_ionic_radius"] == float(el("Na").average_ionic_radius)


def test_unknown_property_and_bad_symbols():
    with pytest.raises(InputError) as excinfo:
        elemental_table(["Ga"], ["X", "melting_pt"])
    msg = one_line(excinfo)
    assert "unknown elemental property 'melting_pt'" in msg and "X, atomic_radius" in msg and "E_p" in msg
    with pytest.raises(InputError, match=r"did you mean 'X'\?"):
        elemental_table(["Ga"], ["x"])
    with pytest.raises(InputError, match=r"'ga' is not a chemical element symbol.*did you mean 'Ga'\?"):
        elemental_table(["ga"], ["X"])
    with pytest.raises(InputError, match=r"'Qq' is not a chemical element"):
        elemental_table(["Qq"], ["X"])
    with pytest.raises(InputError, match="listed twice"):
        elemental_table(["Ga"], ["X", "X"])
    with pytest.raises(InputError, match="no elemental properties"):
        elemental_table(["Ga"], [])
    assert is_element("Ga") and not is_element("ga") and not is_element("Q1") and not is_element(3)


# ---------------------------------------------------------------- load_dataset with pymatgen


def octet_formula_csv(tmp_path: Path) -> Path:
    o = octet()
    frame = pd.DataFrame({"formula": o.compounds["A"] + o.compounds["B"], "dE": o.compounds["dE"]})
    path = tmp_path / "octet_formulas.csv"
    frame.to_csv(path, index=False)
    return path


def independent_sites(formula_a: str, formula_b: str) -> tuple[str, str]:
    """Lower Pauling X on A, ties by Z (here: by direct pymatgen calls)."""
    a, b = el(formula_a), el(formula_b)
    return tuple(e.symbol for e in sorted((a, b), key=lambda e: (e.X, e.Z)))


def test_pymatgen_only_dataset_from_formulas(tmp_path):
    path = octet_formula_csv(tmp_path)
    ds = load_dataset(path, target="dE", elemental=PYMATGEN_PROPS)
    o = octet()
    assert len(ds.compounds) == 82 and list(ds.compounds.columns[:2]) == ["A", "B"]
    assert list(ds.compounds["formula"]) == list(o.compounds["A"] + o.compounds["B"])
    expected = [independent_sites(a, b) for a, b in zip(o.compounds["A"], o.compounds["B"])]
    assert list(zip(ds.compounds["A"], ds.compounds["B"])) == expected
    # the octet table has GeSi and SnSi the other way round; carbon is C-C
    swapped = [f"{a}{b}" for (a, b), (ea, eb) in zip(zip(o.compounds["A"], o.compounds["B"]), expected) if a != ea]
    assert sorted(swapped) == ["GeSi", "SnSi"]
    assert ("C", "C") in expected
    # the atomic table: exactly the 34 elements of the compounds, pymatgen values
    assert set(ds.atoms.index) == set(o.atoms.index) and len(ds.atoms) == 34
    assert list(ds.atoms.columns) == PYMATGEN_PROPS
    for s in ds.atoms.index:
        assert ds.atoms.loc[s, "X"] == el(s).X
        assert ds.atoms.loc[s, "ionization_energy"] == float(el(s).ionization_energies[0])
    assert ds.units["X"] == "" and ds.units["atomic_radius"] == "angstrom"
    assert ds.units["ionization_energy"] == "eV"
    assert ds.properties == PYMATGEN_PROPS and ds.classes == {}
    assert "pymatgen" in ds.citation
    prim = build_primaries(ds)
    assert prim.class_names == PYMATGEN_PROPS  # no classes given: one class per property
    assert prim.units[prim.names.index("atomic_radius_B")] == "angstrom"


def test_site_rule_and_ab_columns(tmp_path):
    frame = pd.DataFrame({"formula": ["AsGa", "GeSi", "C", "Mg2O2"], "y": [1.0, 2.0, 3.0, 4.0]})
    by_x = load_dataset(frame, target="y", elemental=["X"])
    assert list(zip(by_x.compounds["A"], by_x.compounds["B"])) == [("Ga", "As"), ("Si", "Ge"), ("C", "C"),
                                                                      ("Mg", "O")]
    written = load_dataset(frame, target="y", elemental=["X"], site_rule="as_written")
    assert list(zip(written.compounds["A"], written.compounds["B"])) == [("As", "Ga"), ("Ge", "Si"), ("C", "C"),
                                                                          ("Mg", "O")]
    # A/B columns win over a formula column, which is carried along
    both = frame.assign(A=["Ga", "Ge", "C", "O"], B=["As", "Si", "C", "Mg"])
    ds = load_dataset(both, target="y", elemental=["X"])
    assert list(ds.compounds["A"]) == ["Ga", "Ge", "C", "O"] and "formula" in ds.compounds.columns
    with pytest.raises(InputError, match="site_rule must be one of electronegativity, as_written"):
        load_dataset(frame, target="y", elemental=["X"], site_rule="alphabetical")


def test_octet_dft_plus_pymatgen_columns():
    o = octet()
    ds = load_dataset(o.compounds, o.atoms, "dE", o.classes, o.units, "octet", elemental=["X", "atomic_radius"])
    assert list(ds.atoms.columns) == list(o.atoms.columns) + ["X", "atomic_radius"]
    pd.testing.assert_frame_equal(ds.atoms[list(o.atoms.columns)], o.atoms)
    for s in ds.atoms.index:
        assert ds.atoms.loc[s, "X"] == el(s).X and ds.atoms.loc[s, "atomic_radius"] == float(el(s).atomic_radius)
    assert ds.units["IP"] == "eV" and ds.units["atomic_radius"] == "angstrom" and ds.units["X"] == ""
    assert ds.classes == o.classes
    assert ds.properties == o.properties + ["X", "atomic_radius"]
    prim = build_primaries(ds, ["IP", "EA", "X", "rs", "atomic_radius"])
    assert prim.class_names == ["energy", "radius", "X", "atomic_radius"]
    assert prim.names == ["IP_A", "IP_B", "EA_A", "EA_B", "rs_A", "rs_B", "X_A", "X_B",
                          "atomic_radius_A", "atomic_radius_B"]
    x_a = prim.matrix[prim.names.index("X_A")]
    assert np.array_equal(x_a, [el(a).X for a in o.compounds["A"]])
    # user classes may group pymatgen properties with the DFT ones
    grouped = load_dataset(o.compounds, ds.atoms, "dE", {"radius": ["rs", "atomic_radius"]}, ds.units)
    assert build_primaries(grouped, ["rs", "atomic_radius"]).class_names == ["radius"]
    # a unit given explicitly wins over the catalogue's
    assert load_dataset(o.compounds, o.atoms, "dE", units={"X": "eV^(1/2)"}, elemental=["X"]).units["X"] == "eV^(1/2)"


def test_own_atoms_csv_plus_pymatgen(tmp_path):
    atoms = tmp_path / "atoms.csv"
    # Ne and the pseudo-element Q1 are in the table but in no compound: their
    # missing pymatgen values stay NaN (never read), nothing is filled in.
    atoms.write_text("symbol,my_prop (eV)\nGa,1.5\nAs,2.5\nNa,0.5\nCl,3.0\nNe,9.0\nQ1,7.0\n")
    comp = tmp_path / "c.csv"
    comp.write_text("formula,y\nGaAs,0.1\nNaCl,0.2\n")
    ds = load_dataset(comp, atoms, "y", elemental=["X", "covalent_radius"])
    assert list(ds.atoms.columns) == ["my_prop", "X", "covalent_radius"]
    assert ds.atoms.loc["Ga", "X"] == 1.81 and ds.atoms.loc["Cl", "X"] == el("Cl").X
    assert math.isnan(ds.atoms.loc["Ne", "X"]) and ds.atoms.loc["Ne", "covalent_radius"] == 0.58
    assert ds.atoms.loc[["Q1"]].iloc[:, 1:].isna().all(axis=None)
    assert ds.units["my_prop"] == "eV" and ds.units["covalent_radius"] == "angstrom"
    prim = build_primaries(ds)
    assert prim.names == ["my_prop_A", "my_prop_B", "X_A", "X_B", "covalent_radius_A", "covalent_radius_B"]
    # a compound that uses Ne needs its X: one error naming it
    comp.write_text("formula,y\nGaAs,0.1\nNeNe,0.2\n")
    with pytest.raises(InputError) as excinfo:
        load_dataset(comp, atoms, "y", elemental=["X", "covalent_radius"])
    assert one_line(excinfo).startswith("pymatgen has no value of 'X' for Ne ")


# ---------------------------------------------------------------- bad inputs


def test_bad_inputs_are_one_line_errors(tmp_path):
    o = octet()
    frame = pd.DataFrame({"formula": ["NaCl", "HF", "NeO", "MgO"], "y": [1.0, 2.0, 3.0, 4.0]})
    # Ne has no Pauling X, so the electronegativity rule cannot place it ...
    with pytest.raises(InputError, match=r"^compound row 3: formula 'NeO': Ne has no Pauling electronegativity"):
        load_dataset(frame, target="y", elemental=["row"])
    # ... as written, the missing values are found and all reported
    with pytest.raises(InputError) as excinfo:
        load_dataset(frame, target="y", elemental=["X", "average_ionic_radius", "row"], site_rule="as_written")
    assert one_line(excinfo).startswith(
        "pymatgen has no value of 'X' for Ne; of 'average_ionic_radius' for H, Ne ")

    with pytest.raises(InputError) as excinfo:
        load_dataset(frame, target="y", elemental=["X", "electronegativity"])
    assert "unknown elemental property 'electronegativity' (pymatgen catalogue: X," in one_line(excinfo)

    clash = o.atoms.rename(columns={"IP": "ionization_energy"})
    with pytest.raises(InputError) as excinfo:
        load_dataset(o.compounds, clash, "dE", elemental=["X", "ionization_energy"])
    assert "elemental property 'ionization_energy' from pymatgen has the name of a column" in one_line(excinfo)

    for text, pattern in (("GaAsP", r"compound row 2: formula 'GaAsP' has 3 elements \(Ga, As, P\)"),
                          ("Ga2O3", r"compound row 2: formula 'Ga2O3' is not an AB compound"),
                          ("Xy", r"compound row 2: .*'Xy'"),
                          ("", r"compound row 2: the formula is empty")):
        bad = pd.DataFrame({"formula": ["GaAs", text], "y": [1.0, 2.0]})
        with pytest.raises(InputError, match=pattern) as excinfo:
            load_dataset(bad, target="y", elemental=["X"])
        one_line(excinfo)

    with pytest.raises(InputError, match=r"no atomic data: give an atomic table \(atoms\), elemental"):
        load_dataset(frame, target="y")
    with pytest.raises(InputError, match=r"needs columns 'A' and 'B', or a column 'formula'.*compound, y"):
        load_dataset(pd.DataFrame({"compound": ["GaAs"], "y": [1.0]}), target="y", elemental=["X"])
    with pytest.raises(InputError, match=r"needs columns 'A' and 'B', or a column 'formula'"):
        load_dataset(frame.assign(A="Ga"), target="y", elemental=["X"])
    with pytest.raises(InputError, match=r"the target 'formula' is a site column"):
        load_dataset(frame, target="formula", elemental=["X"])
    with pytest.raises(InputError, match=r"no target column 'dE'"):
        load_dataset(frame, target="dE", elemental=["X"])


def test_config_keys_and_errors(tmp_path):
    cfg = Config.from_dict({"data": {"compounds": "c.csv", "target": "dE", "elemental": ["X", "row"],
                                     "site_rule": "as_written"}}, base_dir=tmp_path)
    assert cfg.data.dataset is None and cfg.data.atoms is None
    assert cfg.data.elemental == ["X", "row"] and cfg.data.site_rule == "as_written"
    assert cfg.data.compounds == str(tmp_path / "c.csv")
    again = Config.from_dict(cfg.to_dict())
    assert again.data == cfg.data
    assert "elemental" in cfg.to_toml() and Config().data.site_rule == "electronegativity"
    octet_plus = Config.from_dict({"data": {"elemental": ["X"]}})
    assert octet_plus.data.dataset == "octet" and octet_plus.data.elemental == ["X"]

    cases = [
        ({"elemental": ["X", "radius"]}, r"\[data\] elemental: unknown property 'radius' \(pymatgen catalogue: X, "),
        ({"elemental": ["X", "X"]}, r"\[data\] elemental lists 'X' twice"),
        ({"elemental": []}, r"\[data\] elemental lists no properties"),
        ({"elemental": "X"}, r"\[data\] elemental must be a list of strings"),
        ({"site_rule": "by_z"}, r"\[data\] site_rule = 'by_z' is not one of 'electronegativity', 'as_written'"),
        ({"compounds": "c.csv", "target": "dE"}, r"\[data\] needs a source: dataset = \"octet\", table = PATH"),
        ({"compounds": "c.csv", "elemental": ["X"]}, r"\[data\] needs a source"),
        ({"elements": ["X"]}, r"unknown key 'elements' in \[data\]"),
    ]
    for data, pattern in cases:
        with pytest.raises(ConfigError, match=pattern) as excinfo:
            Config.from_dict({"data": data})
        one_line(excinfo)


# ---------------------------------------------------------------- searches


def postfix_values(code: str, values: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate a model's postfix code with numpy (independent of the C++ Formula)."""
    binary = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
              "|-|": lambda a, b: np.abs(a - b)}
    unary = {"^2": np.square, "^3": lambda x: x ** 3, "^6": lambda x: x ** 6, "^-1": lambda x: 1.0 / x,
             "sqrt": np.sqrt, "cbrt": np.cbrt, "exp": np.exp, "exp-": lambda x: np.exp(-x), "log": np.log,
             "abs": np.abs, "sin": np.sin, "cos": np.cos, "sqrt|": lambda x: np.sqrt(np.abs(x))}
    stack: list[np.ndarray] = []
    for token in code.split():
        if token in binary:
            b, a = stack.pop(), stack.pop()
            stack.append(binary[token](a, b))
        elif token in unary:
            stack.append(unary[token](stack.pop()))
        else:
            stack.append(values[token])
    assert len(stack) == 1
    return stack[0]


def lstsq_fit(columns: list[np.ndarray], y: np.ndarray):
    design = np.column_stack([np.ones_like(y)] + columns)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    rmse = float(np.sqrt(np.mean((design @ coef - y) ** 2)))
    return coef, rmse


def pymatgen_primaries(formulas: list[str]) -> dict[str, np.ndarray]:
    """P_A / P_B over the compounds, from direct pymatgen calls and an independent site rule."""
    from pymatgen.core import Composition

    sites = []
    for f in formulas:
        elements = [e.symbol for e in Composition(f).elements]
        a, b = (elements[0], elements[0]) if len(elements) == 1 else independent_sites(*elements)
        sites.append((a, b))
    getters = {"X": lambda e: e.X, "atomic_radius": lambda e: float(e.atomic_radius),
               "ionization_energy": lambda e: float(e.ionization_energies[0]),
               "row": lambda e: float(e.row), "group": lambda e: float(e.group)}
    out = {}
    for prop in PYMATGEN_PROPS:
        for k, site in enumerate("AB"):
            out[f"{prop}_{site}"] = np.array([getters[prop](el(s[k])) for s in sites])
    return out


def rung1_space(prim: dict[str, np.ndarray], units: dict[str, str]):
    """Rung 0 and 1 of the default SISSO operators, by explicit loops, then SISSO's filters."""
    feats = dict(prim)
    names = list(prim)
    for n in names:
        x = prim[n]
        feats[f"exp({n})"] = np.exp(x)
        feats[f"({n})^2"] = x ** 2
        feats[f"({n})^3"] = x ** 3
        feats[f"sqrt({n})"] = np.sqrt(x) if (x >= 0).all() else np.full_like(x, np.nan)
        feats[f"1/({n})"] = 1.0 / x
    for a, b in itertools.combinations(names, 2):
        feats[f"{a}*{b}"] = prim[a] * prim[b]
        feats[f"{a}/{b}"] = prim[a] / prim[b]
        feats[f"{b}/{a}"] = prim[b] / prim[a]
        if units[a] == units[b]:
            feats[f"{a}+{b}"] = prim[a] + prim[b]
            feats[f"{a}-{b}"] = prim[a] - prim[b]
            feats[f"|{a}-{b}|"] = np.abs(prim[a] - prim[b])
    kept = {}
    with np.errstate(all="ignore"):
        for n, v in feats.items():
            if not np.isfinite(v).all():
                continue
            big = np.max(np.abs(v))
            if big > 1e5 or big < 1e-3 or np.ptp(v) == 0:
                continue
            kept[n] = v
    return kept


@pytest.fixture(scope="module")
def pymatgen_run(tmp_path_factory):
    path = octet_formula_csv(tmp_path_factory.mktemp("pm"))
    config = {"data": {"compounds": str(path), "target": "dE", "elemental": PYMATGEN_PROPS},
              "features": {"generator": "sisso", "rung": 1},
              "search": {"max_dim": 2},
              "validation": {"nested": False}}
    return path, fs.run(config)


def test_search_over_pymatgen_properties_without_dft_table(pymatgen_run):
    path, result = pymatgen_run
    formulas = pd.read_csv(path)["formula"].tolist()
    y = pd.read_csv(path)["dE"].to_numpy()
    prim = pymatgen_primaries(formulas)
    assert result.variables == list(prim)
    assert np.array_equal(result.target_values, y)
    best = {d: result.best(d) for d in (1, 2)}
    assert best[1] is not None and best[2] is not None
    for d, m in best.items():
        columns = [postfix_values(code, prim) for code in m.codes]
        coef, rmse = lstsq_fit(columns, y)
        assert m.intercept == pytest.approx(coef[0], rel=1e-8, abs=1e-10)
        assert m.coefficients == pytest.approx(list(coef[1:]), rel=1e-8, abs=1e-10)
        assert m.rmse == pytest.approx(rmse, rel=1e-10)
    assert best[2].rmse < best[1].rmse

    # Optimality: the whole rung-1 space (236 features before value dedup) by brute force.
    units = {f"{p}_{s}": ("angstrom" if p == "atomic_radius" else "eV" if p == "ionization_energy" else "")
             for p in PYMATGEN_PROPS for s in "AB"}
    space = rung1_space(prim, units)
    values = np.array(list(space.values()))
    assert result.feature_space["size"] == len(prim) + 236
    yc = y - y.mean()
    xc = values - values.mean(axis=1, keepdims=True)
    sxx = np.einsum("ij,ij->i", xc, xc)
    sxy = xc @ yc
    sse_1d = yc @ yc - sxy ** 2 / sxx
    best_1d = math.sqrt(sse_1d.min() / y.size)
    assert best[1].rmse == pytest.approx(best_1d, rel=1e-9)
    gram = xc @ xc.T
    i, j = np.triu_indices(len(values), 1)
    det = sxx[i] * sxx[j] - gram[i, j] ** 2
    ok = det > 1e-9 * sxx[i] * sxx[j]
    explained = (sxx[j] * sxy[i] ** 2 - 2 * gram[i, j] * sxy[i] * sxy[j] + sxx[i] * sxy[j] ** 2)[ok] / det[ok]
    best_2d = math.sqrt((yc @ yc - explained.max()) / y.size)
    assert best[2].rmse == pytest.approx(best_2d, rel=1e-7)


def test_pymatgen_run_records_data_and_predicts(pymatgen_run, tmp_path):
    path, result = pymatgen_run
    data = result.config["data"]
    assert data["elemental"] == PYMATGEN_PROPS and data["site_rule"] == "electronegativity"
    used = {v.rsplit("_", 1)[0] for v in result.variables if any(v in c.split() for m in result.models
                                                               for c in m.codes)}
    for symbol, values in result.atoms.items():
        for prop, value in values.items():
            if prop == "X":
                assert value == el(symbol).X
    assert used <= set(PYMATGEN_PROPS)
    result.to_json(tmp_path / "r.json")
    again = fs.load_result(tmp_path / "r.json")
    frame = pd.read_csv(path)
    pred = fs.predict(again, frame[["formula"]].head(5), dimension=2)
    m = result.best(2)
    prim = pymatgen_primaries(frame["formula"].head(5).tolist())
    expected = m.intercept + sum(c * postfix_values(code, prim) for c, code in zip(m.coefficients, m.codes))
    assert np.allclose(pred["pred_2D"].to_numpy(), expected, rtol=1e-10)


def test_octet_plus_pymatgen_from_config():
    base = {"features": {"generator": "sisso", "rung": 1, "primaries": ["IP_A", "IP_B", "X_A", "X_B", "rp_A",
                                                                        "E_homo_B"]},
            "search": {"max_dim": 1, "keep": 3}, "validation": {"method": "none", "nested": False}}
    result = fs.run({"data": {"dataset": "octet", "elemental": ["X", "E_homo"]}, **base})
    o = octet()
    assert "X_A" in result.variables and "E_homo_B" in result.variables and "IP_A" in result.variables
    values = {"IP_A": o.atoms.loc[o.compounds["A"], "IP"].to_numpy(),
              "IP_B": o.atoms.loc[o.compounds["B"], "IP"].to_numpy(),
              "rp_A": o.atoms.loc[o.compounds["A"], "rp"].to_numpy(),
              "X_A": np.array([el(s).X for s in o.compounds["A"]]),
              "X_B": np.array([el(s).X for s in o.compounds["B"]]),
              "E_homo_B": np.array([max(el(s).atomic_orbitals.values()) * HARTREE_TO_EV for s in o.compounds["B"]])}
    y = o.compounds["dE"].to_numpy()
    for m in result.models:
        coef, rmse = lstsq_fit([postfix_values(c, values) for c in m.codes], y)
        assert m.rmse == pytest.approx(rmse, rel=1e-10)
        assert [m.intercept, *m.coefficients] == pytest.approx(list(coef), rel=1e-8, abs=1e-10)


def test_paper_generator_puts_pymatgen_properties_in_own_classes():
    config = {"data": {"dataset": "octet", "elemental": ["X"], "properties": ["IP", "EA", "X"]},
              "features": {"method": 1}, "search": {"max_dim": 1, "keep": 2},
              "validation": {"method": "none", "nested": False}}
    result = fs.run(config)
    assert result.variables == ["IP_A", "IP_B", "EA_A", "EA_B", "X_A", "X_B"]
    o = octet()
    values = {f"{p}_{s}": o.atoms.loc[o.compounds[s], p].to_numpy() for p in ("IP", "EA") for s in "AB"}
    values.update({f"X_{s}": np.array([el(e).X for e in o.compounds[s]]) for s in "AB"})
    y = o.compounds["dE"].to_numpy()
    for m in result.models:
        _, rmse = lstsq_fit([postfix_values(c, values) for c in m.codes], y)
        assert m.rmse == pytest.approx(rmse, rel=1e-10)
    # with [features] classes the pymatgen property joins a class
    joined = fs.run({**config, "features": {"method": 1, "classes": {"energy": ["IP", "EA", "X"]}}})
    assert joined.variables == result.variables
    assert joined.n_candidates != result.n_candidates


def test_pipeline_errors_are_input_errors(tmp_path):
    comp = tmp_path / "c.csv"
    comp.write_text("A,B,y\nGa,As,0.1\nAr,O,0.2\nH,F,0.3\n")
    with pytest.raises(InputError, match=r"^pymatgen has no value of 'X' for Ar; of 'average_ionic_radius' "
                                         r"for Ar, H ") as excinfo:
        fs.run({"data": {"compounds": str(comp), "target": "y", "elemental": ["X", "average_ionic_radius"]}})
    one_line(excinfo)
    comp.write_text("formula,y\nGaAs,0.1\nGaInP2,0.2\n")
    with pytest.raises(InputError, match=r"compound row 2: formula 'GaInP2' has 3 elements"):
        fs.run({"data": {"compounds": str(comp), "target": "y", "elemental": ["X"]}})
