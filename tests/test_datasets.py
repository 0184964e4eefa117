"""Tests of formulasearch.data.datasets: the built-in octet table and load_dataset checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import formulasearch.data.datasets as datasets_module
from formulasearch.data.datasets import Dataset, load_dataset, octet
from formulasearch.errors import ConfigError, FormulaSearchError, InputError

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "octet82"
PACKAGE_JSON = Path(datasets_module.__file__).resolve().parent / "octet82.json"

needs_shared = pytest.mark.skipif(
    not (SHARED / "compounds.csv").exists(), reason="shared octet82 CSVs not available"
)

# pandas < 3 needs round_trip to parse floats exactly like Python's float().
CSV_KW = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


ATOMS_CSV = """symbol,Z,IP,EA,rs,rp
Ga,31,-5.818,-0.108,0.994,1.33
As,33,-9.262,-1.839,0.847,1.043
In,49,-5.537,-0.256,1.134,1.498
P,15,-9.751,-1.92,0.826,0.966
"""

COMPOUNDS_CSV = """A,B,dE
Ga,As,0.271
Ga,P,0.341
In,As,0.122
In,P,0.17
"""

CLASSES = {"energy": ["IP", "EA"], "radius": ["rs", "rp"]}


@pytest.fixture()
def small(tmp_path):
    return write(tmp_path, "compounds.csv", COMPOUNDS_CSV), write(tmp_path, "atoms.csv", ATOMS_CSV)


def single_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.strip() == message and message
    return message


# ---------------------------------------------------------------- errors


def test_error_hierarchy():
    assert issubclass(InputError, FormulaSearchError) and issubclass(InputError, ValueError)
    assert issubclass(ConfigError, FormulaSearchError) and issubclass(ConfigError, ValueError)
    assert not issubclass(InputError, ConfigError)


# ---------------------------------------------------------------- octet


def test_octet_sizes_and_target():
    ds = octet()
    assert isinstance(ds, Dataset)
    assert len(ds.compounds) == 82
    assert len(ds.atoms) == 34
    assert ds.target == "dE"
    assert ds.atoms.index.name == "symbol"
    assert list(ds.compounds.columns) == ["A", "B", "dE", "a0_RS", "a0_ZB"]
    assert list(ds.atoms.columns) == ["Z", "IP", "EA", "HOMO", "LUMO", "rs", "rp", "rd"]
    # every element of the atomic table is used by some compound
    used = set(ds.compounds["A"]) | set(ds.compounds["B"])
    assert used == set(ds.atoms.index)


def test_octet_published_facts():
    ds = octet()
    dE = ds.compounds.set_index(ds.compounds["A"] + ds.compounds["B"])["dE"]
    assert (dE > 0).sum() == 41
    assert (dE < 0).sum() == 41
    assert dE.min() == -0.381
    assert sorted(dE[dE == dE.min()].index) == ["BaTe", "SrTe"]
    assert dE.max() == 2.638
    assert list(dE[dE == dE.max()].index) == ["CC"]
    elemental = ds.compounds[ds.compounds["A"] == ds.compounds["B"]]
    assert sorted(elemental["A"]) == ["C", "Ge", "Si", "Sn"]
    # atomic numbers are facts of the periodic table
    assert ds.atoms.loc["Ga", "Z"] == 31 and ds.atoms.loc["As", "Z"] == 33
    assert ds.atoms.loc["Ba", "Z"] == 56 and ds.atoms.loc["Li", "Z"] == 3
    # IP is stored with the source's sign convention: negative for every element
    assert (ds.atoms["IP"] < 0).all()
    # radii are positive lengths in angstrom
    assert (ds.atoms[["rs", "rp", "rd"]] > 0).all().all()


def test_octet_classes_properties_units_citation():
    ds = octet()
    assert ds.classes == {"energy": ["IP", "EA"], "radius": ["rs", "rp", "rd"], "orbital": ["HOMO", "LUMO"]}
    assert list(ds.classes) == ["energy", "radius", "orbital"]
    assert ds.properties == ["IP", "EA", "rs", "rp", "rd", "HOMO", "LUMO"]
    for col in ("dE", "IP", "EA", "HOMO", "LUMO"):
        assert ds.units[col] == "eV"
    for col in ("rs", "rp", "rd", "a0_RS", "a0_ZB"):
        assert ds.units[col] == "angstrom"
    assert ds.units["Z"] == ""
    assert "Ghiringhelli" in ds.citation
    assert "Phys. Rev. Lett. 114, 105503 (2015)" in ds.citation
    assert "2202.07372" in ds.citation
    assert ds.name == "octet"


def test_octet_dtypes():
    ds = octet()
    assert ds.compounds["dE"].dtype == np.float64
    for prop in ds.properties:
        assert ds.atoms[prop].dtype == np.float64


def test_octet_returns_fresh_tables():
    first = octet()
    first.compounds.loc[0, "dE"] = 99.0
    first.atoms.loc["Ga", "rp"] = -1.0
    first.classes["energy"].append("rd")
    second = octet()
    assert second.compounds.loc[0, "dE"] == -0.059
    assert second.atoms.loc["Ga", "rp"] == 1.33
    assert second.classes["energy"] == ["IP", "EA"]


def test_package_json_layout():
    raw = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    assert raw["target"] == "dE"
    assert "105503" in raw["citation"]["text"]
    assert "2202.07372" in raw["citation"]["note"]
    assert len(raw["atoms"]["rows"]) == 34
    assert len(raw["compounds"]["rows"]) == 82
    for block in ("atoms", "compounds"):
        for column in raw[block]["columns"]:
            assert set(column) == {"name", "unit", "description"}
            assert column["description"]


@needs_shared
def test_octet_equals_shared_csvs():
    compounds = pd.read_csv(SHARED / "compounds.csv", **CSV_KW)
    atoms = pd.read_csv(SHARED / "atoms.csv", **CSV_KW).set_index("symbol")
    ds = octet()
    assert list(ds.compounds["A"]) == list(compounds["A"])
    assert list(ds.compounds["B"]) == list(compounds["B"])
    for col in ("dE", "a0_RS", "a0_ZB"):
        assert ds.compounds[col].tolist() == compounds[col].tolist(), col
    assert list(ds.atoms.index) == list(atoms.index)
    for col in atoms.columns:
        assert ds.atoms[col].tolist() == atoms[col].tolist(), col


@needs_shared
def test_package_json_has_the_same_digits_as_the_csvs():
    raw = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    for block, name in (("atoms", "atoms.csv"), ("compounds", "compounds.csv")):
        lines = (SHARED / name).read_text(encoding="utf-8").splitlines()
        assert lines[0] == ",".join(c["name"] for c in raw[block]["columns"])
        rebuilt = [
            ",".join(v if isinstance(v, str) else repr(v) for v in row) for row in raw[block]["rows"]
        ]
        assert rebuilt == lines[1:], name


# ---------------------------------------------------------------- load_dataset


def test_load_from_csv(small):
    comp, atoms = small
    ds = load_dataset(comp, atoms, "dE", classes=CLASSES, units={"dE": "eV", "rp": "angstrom"})
    assert ds.name == "custom" and ds.citation == ""
    assert list(ds.compounds["A"] + ds.compounds["B"]) == ["GaAs", "GaP", "InAs", "InP"]
    assert ds.compounds["dE"].tolist() == [0.271, 0.341, 0.122, 0.17]
    assert ds.atoms.loc["In", "rp"] == 1.498
    assert ds.units["dE"] == "eV" and ds.units["rp"] == "angstrom" and ds.units["rs"] == ""
    assert ds.properties == ["IP", "EA", "rs", "rp"]


def test_load_with_str_path_and_dataframes(small, tmp_path):
    comp, atoms = small
    from_str = load_dataset(str(comp), str(atoms), "dE")
    frame_atoms = pd.read_csv(atoms).set_index("symbol")
    frame_comp = pd.read_csv(comp)
    before = frame_comp.copy()
    from_frames = load_dataset(frame_comp, frame_atoms, "dE", name="mine")
    pd.testing.assert_frame_equal(frame_comp, before)  # inputs are not modified
    assert from_frames.name == "mine"
    assert from_frames.atoms.loc["Ga", "IP"] == from_str.atoms.loc["Ga", "IP"] == -5.818


def test_properties_without_classes_skip_z_and_text(tmp_path, small):
    comp, _ = small
    atoms = write(tmp_path, "a.csv", "symbol,name,Z,rp,IP\nGa,gallium,31,1.33,-5.818\n"
                  "As,arsenic,33,1.043,-9.262\nIn,indium,49,1.498,-5.537\nP,phosphorus,15,0.966,-9.751\n")
    ds = load_dataset(comp, atoms, "dE")
    assert ds.classes == {}
    assert ds.properties == ["rp", "IP"]
    ds2 = load_dataset(comp, atoms, "dE", classes={"e": ["IP"]})
    assert ds2.properties == ["IP", "rp"]


def test_octet_tables_round_trip_through_csv(tmp_path):
    ref = octet()
    comp = tmp_path / "c.csv"
    atoms = tmp_path / "a.csv"
    ref.compounds.to_csv(comp, index=False)
    ref.atoms.to_csv(atoms)
    ds = load_dataset(comp, atoms, "dE", classes=ref.classes)
    for col in ref.compounds.columns:
        assert ds.compounds[col].tolist() == ref.compounds[col].tolist()
    for col in ref.atoms.columns:
        assert ds.atoms[col].tolist() == ref.atoms[col].tolist()
    assert ds.properties == ref.properties


def test_whitespace_around_cells_is_ignored(tmp_path):
    comp = write(tmp_path, "c.csv", "A, B, dE\nGa, As, 0.271\n")
    atoms = write(tmp_path, "a.csv", "symbol, rp\nGa, 1.33\nAs, 1.043\n")
    ds = load_dataset(comp, atoms, "dE")
    assert ds.compounds["A"].tolist() == ["Ga"] and ds.compounds["B"].tolist() == ["As"]
    assert ds.atoms.loc["As", "rp"] == 1.043


# ---------------------------------------------------------------- bad input


def test_file_not_found(tmp_path, small):
    _, atoms = small
    with pytest.raises(InputError, match=r"compounds file not found: .*nope\.csv") as excinfo:
        load_dataset(tmp_path / "nope.csv", atoms, "dE")
    single_line_error(excinfo)


def test_directory_instead_of_file(tmp_path, small):
    comp, _ = small
    with pytest.raises(InputError, match="atoms file .* is a directory"):
        load_dataset(comp, tmp_path, "dE")


def test_unreadable_csv_ragged_row(tmp_path, small):
    _, atoms = small
    bad = write(tmp_path, "bad.csv", "A,B,dE\nGa,As,0.271\nGa,P,0.341,7,8\n")
    with pytest.raises(InputError, match=r"compounds file .*bad\.csv.* is not a readable CSV") as excinfo:
        load_dataset(bad, atoms, "dE")
    single_line_error(excinfo)


def test_unreadable_csv_binary(tmp_path, small):
    comp, _ = small
    bad = tmp_path / "atoms.bin"
    bad.write_bytes(b"\xff\xfe\x00\x81symbol\x00\x9c,rp\n\x90\x91,1\n")
    with pytest.raises(InputError, match=r"atoms file .*atoms\.bin.* not a readable CSV"):
        load_dataset(comp, bad, "dE")


def test_empty_file(tmp_path, small):
    comp, _ = small
    with pytest.raises(InputError, match=r"atoms file .*empty\.csv.* is empty"):
        load_dataset(comp, write(tmp_path, "empty.csv", ""), "dE")


def test_wrong_table_type(small):
    comp, _ = small
    with pytest.raises(InputError, match="path to a CSV file or a pandas DataFrame, not dict"):
        load_dataset(comp, {"Ga": 1}, "dE")


def test_missing_site_columns(tmp_path, small):
    _, atoms = small
    comp = write(tmp_path, "c.csv", "cation,anion,dE\nGa,As,0.271\n")
    with pytest.raises(
        InputError, match=r"binary AB compounds: the compounds table needs columns 'A' and 'B'.*cation, anion, dE"
    ) as excinfo:
        load_dataset(comp, atoms, "dE")
    single_line_error(excinfo)


def test_missing_target_lists_columns(small):
    comp, atoms = small
    with pytest.raises(InputError, match=r"no target column 'Egap' \(columns: A, B, dE\)"):
        load_dataset(comp, atoms, "Egap")


def test_site_column_as_target(small):
    comp, atoms = small
    with pytest.raises(InputError, match="target 'A' is a site column"):
        load_dataset(comp, atoms, "A")


def test_nan_target_names_rows(tmp_path, small):
    _, atoms = small
    comp = write(tmp_path, "c.csv", "A,B,dE\nGa,As,0.271\nGa,P,\nIn,As,0.122\nIn,P,nan\n")
    with pytest.raises(
        InputError, match=r"target 'dE'.*compound 'GaP' \(row 2\) has empty; compound 'InP' \(row 4\)"
    ) as excinfo:
        load_dataset(comp, atoms, "dE")
    single_line_error(excinfo)


def test_non_numeric_target_names_row_and_value(tmp_path, small):
    _, atoms = small
    comp = write(tmp_path, "c.csv", "A,B,dE\nGa,As,0.271\nGa,P,big\n")
    with pytest.raises(InputError, match=r"compound 'GaP' \(row 2\) has 'big'"):
        load_dataset(comp, atoms, "dE")


def test_infinite_target(small):
    comp, atoms = small
    frame = pd.read_csv(comp)
    frame.loc[2, "dE"] = np.inf
    with pytest.raises(InputError, match=r"compound 'InAs' \(row 3\) has inf"):
        load_dataset(frame, atoms, "dE")


def test_empty_compounds_table(tmp_path, small):
    _, atoms = small
    comp = write(tmp_path, "c.csv", "A,B,dE\n")
    with pytest.raises(InputError, match="compounds file .* is empty: it has a header but no compound rows"):
        load_dataset(comp, atoms, "dE")


def test_empty_atoms_table(tmp_path, small):
    comp, _ = small
    atoms = write(tmp_path, "a.csv", "symbol,rp\n")
    with pytest.raises(InputError, match="atoms file .* is empty: it has a header but no element rows"):
        load_dataset(comp, atoms, "dE")


def test_empty_site_cell(tmp_path, small):
    _, atoms = small
    comp = write(tmp_path, "c.csv", "A,B,dE\nGa,As,0.271\nIn,,0.17\n")
    with pytest.raises(InputError, match=r"compound row 2: the element on site 'B' is empty \(site 'A' is 'In'\)"):
        load_dataset(comp, atoms, "dE")


def test_unknown_element_names_element_and_compound():
    ds = octet()
    comp = ds.compounds.copy()
    comp.loc[4, "A"] = "Xx"
    comp.loc[4, "B"] = "As"
    with pytest.raises(
        InputError,
        match=r"^compound 'XxAs' \(row 5\): element 'Xx' is not in the atomic table \(known: Li, Be, B, .*\(34 in all\)\)",
    ) as excinfo:
        load_dataset(comp, ds.atoms, "dE")
    message = single_line_error(excinfo)
    assert len(message) < 300  # the list of known elements is shortened


def test_unknown_element_on_site_b_and_count_of_others(tmp_path, small):
    _, atoms = small
    comp = write(tmp_path, "c.csv", "A,B,dE\nGa,As,0.271\nGa,Sb,0.158\nIn,Sb,0.08\n")
    with pytest.raises(
        InputError, match=r"compound 'GaSb' \(row 2\): element 'Sb' is not.*1 more compound"
    ):
        load_dataset(comp, atoms, "dE")


def test_unknown_element_case_hint(tmp_path, small):
    _, atoms = small
    comp = write(tmp_path, "c.csv", "A,B,dE\nga,As,0.271\n")
    with pytest.raises(InputError, match=r"element 'ga' is not .*did you mean 'Ga'\?"):
        load_dataset(comp, atoms, "dE")


def test_duplicate_symbols(tmp_path, small):
    comp, _ = small
    atoms = write(tmp_path, "a.csv", "symbol,rp\nGa,1.33\nAs,1.043\nIn,1.498\nP,0.966\nGa,1.4\n")
    with pytest.raises(InputError, match=r"element 'Ga' twice \(rows 1 and 5\)") as excinfo:
        load_dataset(comp, atoms, "dE")
    single_line_error(excinfo)


def test_missing_symbol_column(tmp_path, small):
    comp, _ = small
    atoms = write(tmp_path, "a.csv", "element,rp\nGa,1.33\n")
    with pytest.raises(InputError, match=r"needs a 'symbol' column .*columns: element, rp"):
        load_dataset(comp, atoms, "dE")


def test_empty_symbol(tmp_path, small):
    comp, _ = small
    atoms = write(tmp_path, "a.csv", "symbol,rp\nGa,1.33\n,1.0\n")
    with pytest.raises(InputError, match=r"atomic table row 2: the element symbol is empty"):
        load_dataset(comp, atoms, "dE")


def test_class_names_unknown_property(small):
    comp, atoms = small
    with pytest.raises(
        InputError, match=r"class 'radius' names 'rd', which is not a column of the atomic table \(columns: Z, IP"
    ) as excinfo:
        load_dataset(comp, atoms, "dE", classes={"energy": ["IP"], "radius": ["rs", "rd"]})
    single_line_error(excinfo)


def test_property_in_two_classes(small):
    comp, atoms = small
    with pytest.raises(InputError, match=r"property 'rs' is listed in two classes, 'radius' and 'other'"):
        load_dataset(comp, atoms, "dE", classes={"radius": ["rs", "rp"], "other": ["rs"]})


def test_property_twice_in_one_class(small):
    comp, atoms = small
    with pytest.raises(InputError, match=r"property 'rp' is listed twice in class 'radius'"):
        load_dataset(comp, atoms, "dE", classes={"radius": ["rp", "rp"]})


def test_empty_class_and_bad_classes_type(small):
    comp, atoms = small
    with pytest.raises(InputError, match=r"class 'radius' lists no properties"):
        load_dataset(comp, atoms, "dE", classes={"radius": []})
    with pytest.raises(InputError, match="must map a class name"):
        load_dataset(comp, atoms, "dE", classes=[["IP", "EA"]])


def test_non_numeric_property_in_class(tmp_path, small):
    comp, _ = small
    atoms = write(tmp_path, "a.csv", "symbol,rp,rd\nGa,1.33,2.163\nAs,1.043,2.023\nIn,1.498,big\nP,0.966,1.771\n")
    with pytest.raises(
        InputError, match=r"property 'rd' of the atomic table must be numeric: element 'In' has 'big'"
    ) as excinfo:
        load_dataset(comp, atoms, "dE", classes={"radius": ["rp", "rd"]})
    single_line_error(excinfo)
    # the same column is fine while it is not used, and it is not a property
    ds = load_dataset(comp, atoms, "dE", classes={"radius": ["rp"]})
    assert ds.properties == ["rp"]


def test_unit_for_unknown_column(small):
    comp, atoms = small
    with pytest.raises(InputError, match=r"unit is given for 'rd', which is not a column"):
        load_dataset(comp, atoms, "dE", units={"rd": "angstrom"})
