"""Tests of formulasearch.prediction: predictions for new compounds from saved models."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import formulasearch as fs
from formulasearch.prediction import formula_sites, predict
from reference_numpy import close, load_octet, numpy_value, octet_dir, scaled_lstsq

PAPER = {"features": {"method": 1}, "search": {"max_dim": 3}}
SISSO = {"features": {"generator": "sisso", "rung": 1, "ops": ["+", "/", "^2"]}, "search": {"max_dim": 2, "n_sis": 50}}


@pytest.fixture(scope="module")
def octet_csv():
    """(compounds DataFrame, {variable: values}, y) read from the octet CSVs by the oracle."""
    matrix, names, _, y, _ = load_octet(octet_dir())
    compounds = pd.read_csv(os.path.join(octet_dir(), "compounds.csv"))
    return compounds, dict(zip(names, matrix)), y


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Results of the paper and SISSO runs, written to JSON and read back: {name: (Result, path)}."""
    folder = tmp_path_factory.mktemp("results")
    out = {}
    for name, cfg in (("paper", PAPER), ("sisso", SISSO)):
        path = folder / f"{name}.json"
        fs.run(cfg).to_json(path)
        out[name] = (fs.load_result(path), path)
    return out


# --------------------------------------------------------------------------
# (a) the training compounds give back the fitted values


@pytest.mark.parametrize("run", ["paper", "sisso"])
def test_training_compounds_reproduce_fitted_values(saved, octet_csv, run):
    result, _ = saved[run]
    compounds, columns, y = octet_csv
    dims = sorted({m.dimension for m in result.models})
    assert dims == ([1, 2, 3] if run == "paper" else [1, 2])
    table = predict(result, compounds[["A", "B"]])
    assert list(table.columns) == ["A", "B"] + [f"pred_{d}D" for d in dims]
    assert table["A"].tolist() == compounds["A"].tolist() and table["B"].tolist() == compounds["B"].tolist()
    for d in dims:
        m = result.best(d)
        values = np.vstack([numpy_value(code, columns) for code in m.codes])
        by_model = m.intercept + np.asarray(m.coefficients) @ values
        refit = scaled_lstsq(values, y)
        fitted = refit["intercept"] + refit["coefficients"] @ values
        pred = table[f"pred_{d}D"].to_numpy()
        assert close(pred, by_model), (d, m.codes)
        assert close(pred, fitted), (d, m.codes)
        assert np.sqrt(np.mean((y - pred) ** 2)) == pytest.approx(m.rmse, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("run", ["paper", "sisso"])
def test_every_model_by_index_and_dimension(saved, octet_csv, run):
    result, path = saved[run]
    compounds, columns, y = octet_csv
    indices = list(range(len(result.models)))
    table = predict(str(path), compounds[["A", "B"]], model=indices)  # the results path works too
    assert len(table.columns) == 2 + len(indices)
    rank = {}
    for i, m in enumerate(result.models):
        rank[m.dimension] = rank.get(m.dimension, 0) + 1
        column = f"pred_{m.dimension}D" + ("" if rank[m.dimension] == 1 else f"_{rank[m.dimension]}")
        values = np.vstack([numpy_value(code, columns) for code in m.codes])
        refit = scaled_lstsq(values, y)
        assert close(table[column], refit["intercept"] + refit["coefficients"] @ values), (i, m.codes)
    for d in {m.dimension for m in result.models}:
        one = predict(result, compounds[["A", "B"]], dimension=d)
        assert list(one.columns) == ["A", "B", f"pred_{d}D"]
        assert np.array_equal(one[f"pred_{d}D"], table[f"pred_{d}D"])


def test_readable_strings_are_not_used(saved, octet_csv):
    result, _ = saved["paper"]
    compounds = octet_csv[0][["A", "B"]]
    before = predict(result, compounds)
    for m in result.models:
        m.formulas = ["not a formula"] * len(m.formulas)
    assert before.equals(predict(result, compounds))


def test_custom_dataset_atoms_are_reread_from_the_config(tmp_path):
    atoms = pd.DataFrame({"symbol": ["Ga", "As", "In", "P", "Al", "Sb"],
                          "IP": [-5.818, -9.262, -5.537, -9.751, -5.78, -8.468],
                          "rs": [0.994, 0.847, 1.134, 0.826, 1.091, 1.0],
                          "rp": [1.33, 1.043, 1.498, 0.966, 1.384, 1.232]})
    comp = pd.DataFrame({"A": ["Ga", "Ga", "In", "In", "Al", "Al", "Al", "Ga", "In"],
                         "B": ["As", "P", "As", "P", "As", "P", "Sb", "Sb", "Sb"],
                         "dE": [0.274, 0.341, 0.122, 0.17, 0.213, 0.219, 0.156, 0.154, 0.078]})
    atoms.to_csv(tmp_path / "atoms.csv", index=False)
    comp.to_csv(tmp_path / "compounds.csv", index=False)
    result = fs.run({"data": {"compounds": str(tmp_path / "compounds.csv"), "atoms": str(tmp_path / "atoms.csv"),
                              "target": "dE"}, "features": {"dedup": "string"},
                     "search": {"max_dim": 2, "top_2d": "all", "keep": 3}})
    result.to_json(tmp_path / "r.json")
    loaded = fs.load_result(tmp_path / "r.json")
    table = predict(loaded, comp[["A", "B"]])
    assert list(table.columns) == ["A", "B", "pred_1D", "pred_2D"]
    table_of = atoms.set_index("symbol")
    columns = {f"{p}_{s}": table_of.loc[comp[s], p].to_numpy() for p in ("IP", "rs", "rp") for s in "AB"}
    for d in (1, 2):
        m = loaded.best(d)
        values = np.vstack([numpy_value(code, columns) for code in m.codes])
        assert close(table[f"pred_{d}D"], m.intercept + np.asarray(m.coefficients) @ values)
    # An explicit atomic table wins; one missing an unused property is fine.
    used = {tok for d in (1, 2) for code in loaded.best(d).codes for tok in code.split()}
    unused = [p for p in ("IP", "rs", "rp") if not ({f"{p}_A", f"{p}_B"} & used)]
    explicit = atoms.drop(columns=unused)
    assert table.equals(predict(loaded, comp[["A", "B"]], atoms=explicit))


# --------------------------------------------------------------------------
# (b) formulas


def test_formula_strings_and_site_columns_agree(saved):
    result, _ = saved["paper"]
    by_formula = predict(result, pd.DataFrame({"formula": ["GaAs", "AsGa", "Ga2As2", "C"]}))
    by_sites = predict(result, pd.DataFrame({"A": ["Ga", "C"], "B": ["As", "C"]}))
    assert list(by_formula.columns) == ["A", "B", "formula", "pred_1D", "pred_2D", "pred_3D"]
    assert by_formula["formula"].tolist() == ["GaAs", "AsGa", "Ga2As2", "C"]
    assert by_formula[["A", "B"]].values.tolist() == [["Ga", "As"]] * 3 + [["C", "C"]]
    preds = ["pred_1D", "pred_2D", "pred_3D"]
    for row in (0, 1, 2):
        assert by_formula.loc[row, preds].tolist() == by_sites.loc[0, preds].tolist()
    assert by_formula.loc[3, preds].tolist() == by_sites.loc[1, preds].tolist()


def test_formula_csv_and_site_rule(saved, tmp_path):
    result, _ = saved["paper"]
    (tmp_path / "new.csv").write_text("formula\nGaN\n MgO\nAsGa\n")
    table = predict(result, tmp_path / "new.csv")
    assert table[["A", "B"]].values.tolist() == [["Ga", "N"], ["Mg", "O"], ["Ga", "As"]]
    written = predict(result, tmp_path / "new.csv", site_rule="as_written")
    assert written[["A", "B"]].values.tolist() == [["Ga", "N"], ["Mg", "O"], ["As", "Ga"]]


def test_formula_sites_rule():
    assert formula_sites("GaAs") == formula_sites("AsGa") == ("Ga", "As")
    assert formula_sites("NaCl") == ("Na", "Cl")
    assert formula_sites("C") == formula_sites("C2") == ("C", "C")
    assert formula_sites("AsGa", site_rule="as_written") == ("As", "Ga")
    # The octet table puts Ge on site A of GeSi although Si is less electronegative.
    assert formula_sites("GeSi") == ("Si", "Ge")
    assert formula_sites("GeSi", site_rule="as_written") == ("Ge", "Si")


# --------------------------------------------------------------------------
# (c) errors


@pytest.mark.parametrize("formula, fragments", [
    ("UO", ["'U'", "'UO'", "no atomic data"]),
    ("FeO", ["'Fe'", "'FeO'"]),
    ("GaAsN", ["GaAsN", "3 elements"]),
    ("MgO2", ["MgO2", "1:1"]),
    ("gaas", ["gaas"]),
    ("Xx", ["Xx", "not a chemical element"]),
    ("NeO", ["Ne", "electronegativity"]),
])
def test_bad_formulas(saved, formula, fragments):
    result, _ = saved["paper"]
    with pytest.raises(fs.InputError) as err:
        predict(result, pd.DataFrame({"formula": ["GaAs", formula]}))
    message = str(err.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_site_columns_errors(saved):
    result, _ = saved["paper"]
    with pytest.raises(fs.InputError, match=r"compound 'GaXq' \(row 2\): element 'Xq' has no atomic data"):
        predict(result, pd.DataFrame({"A": ["Ga", "Ga"], "B": ["As", "Xq"]}))
    with pytest.raises(fs.InputError, match="columns 'A' and 'B' or a column 'formula'"):
        predict(result, pd.DataFrame({"compound": ["GaAs"]}))
    with pytest.raises(fs.InputError, match="no 4D model"):
        predict(result, pd.DataFrame({"A": ["Ga"], "B": ["As"]}), dimension=4)
    with pytest.raises(fs.InputError, match="does not exist"):
        predict(result, pd.DataFrame({"A": ["Ga"], "B": ["As"]}), model=len(result.models))
    with pytest.raises(fs.InputError, match="not both"):
        predict(result, pd.DataFrame({"A": ["Ga"], "B": ["As"]}), dimension=1, model=0)


def test_missing_value_of_a_used_property(saved):
    result, _ = saved["paper"]
    atoms = fs.datasets.octet().atoms.copy()
    used = {tok for code in result.best(1).codes for tok in code.split()}
    used_prop = sorted(v.rpartition("_")[0] for v in result.variables if v in used)[0]
    unused_props = [p for p in ("IP", "EA", "rs", "rp", "rd", "HOMO", "LUMO")
                    if not ({f"{p}_A", f"{p}_B"} & used)]
    atoms.loc["As", unused_props[0]] = np.nan
    table = predict(result, pd.DataFrame({"A": ["Ga"], "B": ["As"]}), atoms=atoms, dimension=1)
    assert np.isfinite(table["pred_1D"]).all()
    atoms.loc["As", used_prop] = np.nan
    expected = rf"compound 'GaAs' \(row 1\): element 'As' has no value of property '{used_prop}'"
    with pytest.raises(fs.InputError, match=expected):
        predict(result, pd.DataFrame({"A": ["Ga"], "B": ["As"]}), atoms=atoms, dimension=1)


def test_pymatgen_is_imported_only_for_formulas():
    code = textwrap.dedent("""
        import sys
        import pandas as pd
        import formulasearch as fs
        from formulasearch.prediction import predict
        r = fs.run({"search": {"max_dim": 1, "keep": 2}})
        predict(r, pd.DataFrame({"A": ["Ga"], "B": ["As"]}))
        assert "pymatgen" not in sys.modules
        predict(r, pd.DataFrame({"formula": ["GaAs"]}))
        assert "pymatgen" in sys.modules
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------
# (d) the command line


def _env():
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    return env


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "formulasearch.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=_env(), timeout=300)


def assert_clean_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip("\n").splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("formulasearch: error:"), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_cli_predict(saved, tmp_path):
    result, path = saved["paper"]
    (tmp_path / "new.csv").write_text("formula\nGaN\nMgO\nC\n")
    out = tmp_path / "pred.csv"
    proc = cli("predict", path, tmp_path / "new.csv", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "pred_1D" in proc.stdout and "GaN" in proc.stdout and "pred_3D" in proc.stdout
    options = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    written = pd.read_csv(out, **options)
    expected = predict(result, pd.DataFrame({"formula": ["GaN", "MgO", "C"]}))
    assert list(written.columns) == list(expected.columns)
    for column in ("pred_1D", "pred_2D", "pred_3D"):
        assert np.array_equal(written[column].to_numpy(), expected[column].to_numpy())

    (tmp_path / "sites.csv").write_text("A,B\nGa,N\n")
    proc = cli("predict", path, tmp_path / "sites.csv", "--dimension", "2")
    assert proc.returncode == 0, proc.stderr
    assert "pred_2D" in proc.stdout and "pred_1D" not in proc.stdout


def test_cli_predict_bad_input(saved, tmp_path):
    _, path = saved["paper"]
    (tmp_path / "ternary.csv").write_text("formula\nGaAsN\n")
    assert_clean_error(cli("predict", path, tmp_path / "ternary.csv"), "GaAsN")
    (tmp_path / "uo.csv").write_text("A,B\nU,O\n")
    assert_clean_error(cli("predict", path, tmp_path / "uo.csv"), "'U'", "'UO'")
    assert_clean_error(cli("predict", path, tmp_path / "missing.csv"), "missing.csv")
    assert_clean_error(cli("predict", path, tmp_path / "uo.csv", "--dimension", "7"), "no 7D model")
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert_clean_error(cli("predict", tmp_path / "bad.json", tmp_path / "uo.csv"), "results")


def test_pymatgen_only_results_predict_elements_outside_the_training_set(tmp_path):
    """A model on pymatgen properties alone can predict any element pymatgen
    knows: the values are looked up there (checked against pymatgen directly)."""
    from pymatgen.core import Element

    data = fs.datasets.octet()
    csv = tmp_path / "compounds.csv"
    data.compounds[["A", "B", "dE"]].to_csv(csv, index=False)
    result = fs.run({"data": {"compounds": str(csv), "target": "dE", "elemental": ["X", "row"]},
                                "features": {"generator": "sisso", "rung": 1, "ops": ["+", "*", "/"]},
                                "search": {"max_dim": 1, "n_sis": 20}, "validation": {"nested": False}})
    assert "Ti" not in result.atoms
    pred = fs.predict(result, pd.DataFrame({"A": ["Ti"], "B": ["O"]}), dimension=1)
    model = result.best(1)
    values = {"X_A": Element("Ti").X, "X_B": Element("O").X, "row_A": Element("Ti").row, "row_B": Element("O").row}
    matrix = np.array([[values[v]] for v in result.variables], dtype=float)
    x = fs.Formula.from_postfix(model.codes[0], result.variables).evaluate(matrix)
    assert pred["pred_1D"].iloc[0] == pytest.approx(model.intercept + model.coefficients[0] * x[0], rel=1e-12)
