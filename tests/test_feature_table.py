"""The user's own tables: CSV and SISSO train.dat, unit headers, compositions of any size, the given features as
they are (rung = 0), and the exhaustive search of the SISSO generator; checked against numpy brute force and
independent computations."""
from __future__ import annotations

import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import formulasearch as fs
from formulasearch.data.feature_table import read_feature_table, variable_names
from formulasearch.data.units import parse_unit

DATA = Path(__file__).parent / "data"
FAST = {"validation": {"nested": False}}


def _lstsq_rmse(columns: list[np.ndarray], y: np.ndarray) -> float:
    X = np.column_stack([np.ones(y.size), *columns])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(np.sqrt(np.mean((y - X @ coef) ** 2)))


def _brute_best(values: np.ndarray, y: np.ndarray, d: int) -> float:
    return min(_lstsq_rmse([values[i] for i in combo], y) for combo in itertools.combinations(range(len(values)), d))


# --------------------------------------------------------------------------- reading


def test_sisso_train_dat_with_a_planted_formula(tmp_path):
    rng = np.random.default_rng(1)
    n = 40
    f = rng.uniform(0.5, 2.0, size=(4, n))
    y = 1.5 + 2.0 * f[0] / f[1] ** 2
    lines = ["materials property feature1 feature2 feature3 feature4"]
    lines += [f"sample{i + 1} {y[i]:.15g} " + " ".join(f"{v:.15g}" for v in f[:, i]) for i in range(n)]
    path = tmp_path / "train.dat"
    path.write_text("\n".join(lines) + "\n")
    table = read_feature_table(path)
    assert table.format == "sisso" and table.target == "property" and table.labels[0] == "sample1"
    assert table.features == ["feature1", "feature2", "feature3", "feature4"]
    r = fs.run({"data": {"table": str(path)}, "features": {"generator": "sisso", "rung": 2, "ops": ["/", "^2"]},
                "search": {"max_dim": 1, "n_sis": 50}, **FAST})
    best = r.best(1)
    assert best.rmse < 1e-10 * np.std(y)
    values = best.values(r.variables, np.vstack(f))
    np.testing.assert_allclose(best.intercept + best.coefficients[0] * values[0], y, rtol=1e-10)
    assert any("SISSO train.dat" in m for m in r.messages)


def test_csv_with_unit_headers_reads_units_and_finds_the_planted_formula(tmp_path):
    rng = np.random.default_rng(2)
    n = 50
    ip, ea, r_s = rng.uniform(5, 10, n), rng.uniform(0.5, 3, n), rng.uniform(0.5, 2, n)
    y = 0.3 + (ip - ea) / r_s ** 2
    frame = pd.DataFrame({"name": [f"c{i}" for i in range(n)], "IP (eV)": ip, "EA (eV)": ea,
                          "r_s (angstrom)": r_s, "count": rng.integers(1, 5, n), "dE (eV)": y})
    path = tmp_path / "samples.csv"
    frame.to_csv(path, index=False)
    table = read_feature_table(path, target="dE")
    assert table.units == {"dE": "eV", "IP": "eV", "EA": "eV", "r_s": "angstrom", "count": "1"}
    assert table.labels[:2] == ["c0", "c1"] and "name" not in table.features
    r = fs.run({"data": {"table": str(path), "target": "dE (eV)"},
                "features": {"generator": "sisso", "rung": 2, "ops": ["-", "/", "^2"], "strict_units": True},
                "search": {"max_dim": 1, "n_sis": 100}, **FAST})
    best = r.best(1)
    assert best.rmse < 1e-9
    assert parse_unit(best.units[0]) == {"eV": 1, "angstrom": -2}


def test_headers_that_are_formulas_keep_their_names():
    names = variable_names(["|IP(A)-EA(B)|/r_p(A)^2", "IP(A)", "exp", "1st", "IP(A)"])
    assert names == ["IP_A_EA_B_r_p_A_2", "IP_A", "exp_", "x_1st", "IP_A_2"]
    assert all(n.isidentifier() for n in names)


# --------------------------------------------------------------------------- compositions


def test_composition_features_of_1_to_5_elements_against_pymatgen(tmp_path):
    from pymatgen.core import Composition, Element

    formulas = ["Si", "GaAs", "Fe2O3", "BaTiO3", "Cu2ZnSnS4", "LiMnNiCoO2"]
    frame = pd.DataFrame({"formula": formulas, "y": np.arange(len(formulas), dtype=float)})
    path = tmp_path / "comps.csv"
    frame.to_csv(path, index=False)
    table = read_feature_table(path, target="y")
    prim, _ = fs.data.feature_table.table_primaries(table, ["X_mean", "X_std", "X_max", "X_min", "X_diff",
                                                             "n_elements"])
    got = pd.DataFrame(prim.matrix.T, columns=prim.names)
    for i, text in enumerate(formulas):
        amounts = Composition(text).get_el_amt_dict()
        f = np.array(list(amounts.values()), dtype=float)
        f /= f.sum()
        x = np.array([Element(s).X for s in amounts])
        mean = float(f @ x)
        assert got["X_mean"][i] == pytest.approx(mean, rel=1e-12)
        assert got["X_std"][i] == pytest.approx(math.sqrt(float(f @ (x - mean) ** 2)), rel=1e-12, abs=1e-15)
        assert got["X_max"][i] == x.max() and got["X_min"][i] == x.min()
        assert got["X_diff"][i] == pytest.approx(x.max() - x.min())
        assert got["n_elements"][i] == len(amounts)
    assert sorted(set(got["n_elements"])) == [1, 2, 3, 4, 5]


def test_published_band_gap_table_runs_end_to_end_from_the_command_line(tmp_path):
    """Zhuo et al. 2018 experimental band gaps (a subset; tests/data/README.md): compositions only."""
    (tmp_path / "job.toml").write_text(
        f'[data]\ntable = "{DATA / "expt_gap_zhuo2018_subset.csv"}"\ntarget = "Eg"\n'
        '[search]\nmax_dim = 2\ntop_2d = 300\n[validation]\nouter_folds = 3\n')
    out = subprocess.run([sys.executable, "-m", "formulasearch.cli", "run", "job.toml", "-q"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "default composition features" in out.stdout and "samples named by 'material_id'" in out.stdout
    assert "the mean predictor (no formula): RMSE" in out.stdout
    assert "the mean predictor: outer-fold RMSE" in out.stdout
    y = pd.read_csv(DATA / "expt_gap_zhuo2018_subset.csv")["Eg"].to_numpy()
    assert f"RMSE {np.std(y):.5f}" in out.stdout  # the mean predictor, recomputed here


def test_constant_columns_are_named_not_dropped(tmp_path):
    """TorchSISSO's descriptor table (tests/data/README.md): on its first 10 molecules 4 of the 14 columns
    are constant (counts of groups none of them has); the run says which, and still uses every column."""
    lines = (DATA / "torchsisso_specific_energy_subset.dat").read_text().splitlines()
    path = tmp_path / "first10.dat"
    path.write_text("\n".join(lines[:11]) + "\n")
    frame = pd.read_csv(path, sep="\t")
    expected = [c for c in frame.columns[2:] if frame[c].nunique() == 1]
    assert len(expected) == 4
    prim, messages = fs.data.feature_table.table_primaries(read_feature_table(path, target="Target"))
    note = [m for m in messages if "constant over the samples" in m]
    assert len(note) == 1 and note[0].startswith("4 of 14 feature columns") and repr(expected[0]) in note[0]
    assert len(prim.names) == 14 and prim.matrix.shape == (14, 10)
    whole = read_feature_table(DATA / "torchsisso_specific_energy_subset.dat", target="Target")
    assert not any("constant over the samples" in m for m in fs.data.feature_table.table_primaries(whole)[1])


def test_missing_elemental_value_is_dropped_and_counted(tmp_path):
    """pymatgen has no outermost p orbital energy for Li and H (formulasearch.elements): LiH has no E_p_mean."""
    frame = pd.DataFrame({"formula": ["NaCl", "LiH", "GaAs", "KBr"], "y": [1.0, 2.0, 3.0, 4.0]})
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    missing = fs.data.elements.elemental_table(["Li", "H"], ["E_p"], allow_missing=True)
    assert missing["E_p"].isna().all()  # the premise, from the catalogue itself
    prim, messages = fs.data.feature_table.table_primaries(read_feature_table(path, target="y"), ["E_p_mean"])
    assert prim.labels == ["1", "3", "4"] and prim.n_samples == 3
    assert any("1 of 4 samples dropped" in m for m in messages)


# --------------------------------------------------------------------------- the given features (rung 0)


@pytest.fixture(scope="module")
def given_table(tmp_path_factory):
    rng = np.random.default_rng(3)
    n, m = 30, 12
    X = rng.normal(size=(m, n))
    y = 1.0 + X[2] - 0.5 * X[7] + 0.3 * X[9] + 0.2 * rng.normal(size=n)
    frame = pd.DataFrame(X.T, columns=[f"f{j}" for j in range(m)])
    frame["target"] = y
    path = tmp_path_factory.mktemp("given") / "given.csv"
    frame.to_csv(path, index=False)
    return path, X, y


@pytest.mark.parametrize("method", ["sis-l0", "exhaustive"])
def test_rung_0_equals_numpy_brute_force_1d_2d_3d(given_table, method):
    path, X, y = given_table
    search = {"method": method, "max_dim": 3}
    search.update({"n_sis": X.shape[0]} if method == "sis-l0" else {"top_2d": "all", "top_3d": X.shape[0]})
    r = fs.run({"data": {"table": str(path), "target": "target"}, "features": {"generator": "sisso", "rung": 0},
                "search": search, **FAST})
    assert r.n_candidates == X.shape[0]
    for d in (1, 2, 3):
        assert r.best(d).rmse == pytest.approx(_brute_best(X, y, d), rel=1e-9), d


def test_ops_empty_is_rung_0(given_table):
    path, X, y = given_table
    r = fs.run({"data": {"table": str(path), "target": "target"}, "features": {"generator": "sisso", "ops": []},
                "search": {"max_dim": 2, "n_sis": 20}, **FAST})
    assert r.n_candidates == X.shape[0]
    assert r.best(2).rmse == pytest.approx(_brute_best(X, y, 2), rel=1e-9)


def test_thousands_of_formula_columns_built_outside_the_package(tmp_path):
    """A feature table whose headers are formulas (as users build with their own scripts): kept as names."""
    prim = fs.build_primaries(fs.datasets.octet())
    v = dict(zip(prim.names, prim.matrix))
    rng = np.random.default_rng(4)
    columns = {}
    props = ["IP", "EA", "rs", "rp", "rd", "HOMO", "LUMO"]
    for a, b, c in itertools.product(props, props, props):
        for s1, s2 in (("A", "B"), ("B", "A")):
            if len(columns) >= 2500:
                break
            header = f"|{a}({s1})-{b}({s2})|/{c}({s1})^2"
            columns[header] = np.abs(v[f"{a}_{s1}"] - v[f"{b}_{s2}"]) / v[f"{c}_{s1}"] ** 2
    frame = pd.DataFrame(columns)
    frame.insert(0, "compound", prim.labels)
    frame["dE (eV)"] = prim.target
    path = tmp_path / "features.csv"
    frame.to_csv(path, index=False)
    r = fs.run({"data": {"table": str(path), "target": "dE"}, "features": {"generator": "sisso", "rung": 0},
                "search": {"max_dim": 2, "n_sis": 50}, **FAST})
    assert r.n_candidates == len(columns)
    best = r.best(1)
    header = best.formulas[0].strip("[]")
    assert header in columns  # the formula reads as the column's header
    assert r.headers[best.codes[0]] == header
    values = np.vstack(list(columns.values()))
    kept = [row for row in values if np.std(row) > 0 and 1e-3 <= np.abs(row).max() <= 1e5]  # the SISSO filters
    want = min(_lstsq_rmse([row], prim.target) for row in kept)
    assert best.rmse == pytest.approx(want, rel=1e-9)
    again = fs.load_result(_saved(r, tmp_path))
    pred = fs.predict(again, pd.read_csv(path).head(5), dimension=1)
    np.testing.assert_allclose(pred["pred_1D"], best.intercept + best.coefficients[0] * columns[header][:5],
                               rtol=1e-12)


def _saved(result, tmp_path):
    path = tmp_path / "result.json"
    result.to_json(path)
    return path


# --------------------------------------------------------------------------- no silent substitutes


def test_sisso_exhaustive_is_the_exact_search_over_all_kept_features():
    r = fs.run({"features": {"generator": "sisso", "rung": 1, "ops": ["+", "-", "/"], "primaries":
                             ["IP_A", "IP_B", "EA_A", "EA_B", "rs_A", "rs_B"]},
                "search": {"method": "exhaustive", "max_dim": 2, "top_2d": "all"}, **FAST})
    assert r.search_stats["2D"]["candidates"] == r.n_kept
    assert r.search_stats["2D"]["combinations"] == math.comb(r.n_kept, 2)


@pytest.mark.parametrize("raw, key", [
    ({"search": {"n_sis": 10}}, "n_sis"),
    ({"features": {"generator": "sisso"}, "search": {"top_3d": 10}}, "top_3d"),
    ({"features": {"generator": "sisso", "method": 2}}, "method"),
    ({"features": {"rung": 1}}, "rung"),
    ({"search": {"task": "classification"}, "validation": {"k": 5}}, "k"),
    ({"classification": {"top_2d": 10}}, "top_2d"),
    ({"data": {"structure_features": ["density"]}}, "structure_features"),
])
def test_settings_that_do_not_apply_are_refused(raw, key):
    with pytest.raises(fs.ConfigError, match=f"{key} does not apply"):
        fs.Config.from_dict(raw)


def test_few_samples_are_warned_about(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.5], "b": [0.3, 0.1, 0.7], "y": [1.0, 4.0, 2.0]})
    path = tmp_path / "three.csv"
    frame.to_csv(path, index=False)
    r = fs.run({"data": {"table": str(path), "target": "y"}, "search": {"max_dim": 1},
                "validation": {"nested": False, "method": "none"}})
    assert any("few samples for this search" in m for m in r.messages)
    octet = fs.run({"search": {"max_dim": 1}, **FAST})
    assert not any("few samples" in m for m in octet.messages)


# --------------------------------------------------------------------------- bad input: one line, exit 2


def _cli_error(tmp_path, text: str, data: str) -> str:
    (tmp_path / "t.csv").write_text(text)
    (tmp_path / "job.toml").write_text(f'[data]\ntable = "t.csv"\n{data}\n[validation]\nnested = false\n')
    out = subprocess.run([sys.executable, "-m", "formulasearch.cli", "run", "job.toml", "-q"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("formulasearch: error: "), out.stderr
    return lines[0]


@pytest.mark.parametrize("text, data, expected", [
    ("name,y\na,1\nb,2\nc,3\n", 'target = "y"', "no numeric feature"),
    ("a,b\n1,2\n3,4\n5,6\n", 'target = "y"', "no target column 'y'"),
    ("a,b,y\n1,2,1\nx,4,2\n5,6,3\n", 'target = "y"', "column 'a' must be numeric"),
    ("a,a,y\n1,2,1\n3,4,2\n5,6,3\n", 'target = "y"', "two columns named 'a'"),
    ("formula,y\nNaCl,1\nQqZz2,2\nGaAs,3\n", 'target = "y"\ncomposition_features = ["X_mean"]',
     "cannot read the formula 'QqZz2'"),
    ("formula,y\nNaCl,1\nLiH,2\nGaAs,3\nKBr,4\n", 'target = "y"\ncomposition_features = ["E_p_mean"]\n'
     'missing = "error"', "no value of E_p for Li"),
])
def test_bad_tables_get_one_line_and_exit_2(tmp_path, text, data, expected):
    assert expected in _cli_error(tmp_path, text, data)


# --------------------------------------------------------------------------- the scikit-learn estimators


def _unit_frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"IP (eV)": rng.uniform(5, 10, n), " EA ( eV ) ": rng.uniform(0.5, 3, n),
                      "r_s (angstrom)": rng.uniform(0.5, 2, n), "count": rng.integers(1, 5, n).astype(float)})
    y = (X["IP (eV)"] - X[" EA ( eV ) "]) / X["r_s (angstrom)"] ** 2
    return X, y.to_numpy()


def test_regressor_reads_units_from_headers():
    pytest.importorskip("sklearn")
    X, y = _unit_frame()
    reg = fs.FormulaRegressor(rung=2, ops=["-", "/", "^2"], max_dim=1, strict_units=True).fit(X, y)
    assert reg.units_ == {"IP": "eV", "EA": "eV", "r_s": "angstrom", "count": "1"}  # count: dimensionless
    assert reg.formulas_ == ["(IP - EA)/r_s^2"]
    assert parse_unit(reg.result_.best(1).units[0]) == {"eV": 1, "angstrom": -2}
    np.testing.assert_allclose(reg.predict(X), y, rtol=1e-9)


def test_explicit_units_win_over_headers():
    pytest.importorskip("sklearn")
    X, y = _unit_frame()
    reg = fs.FormulaRegressor(rung=1, ops=["/"], max_dim=1, units={"IP (eV)": "J", "count": "1"}).fit(X, y)
    assert reg.units_["IP (eV)"] == "J" and reg.units_["count"] == "1" and reg.units_["EA ( eV )"] == ""


def test_estimators_search_the_given_columns_with_rung_0(given_table):
    pytest.importorskip("sklearn")
    _, X, y = given_table
    frame = pd.DataFrame(X.T, columns=[f"f{j}" for j in range(X.shape[0])])
    reg = fs.FormulaRegressor(rung=0, max_dim=2, n_sis=X.shape[0]).fit(frame, y)
    assert reg.result_.n_candidates == X.shape[0]
    assert np.sqrt(np.mean((reg.predict(frame) - y) ** 2)) == pytest.approx(_brute_best(X, y, 2), rel=1e-9)
    labels = np.where(y > np.median(y), "high", "low")
    clf = fs.FormulaClassifier(rung=0, max_dim=1).fit(frame, labels)
    assert all(f in frame.columns for f in clf.formulas_)


def test_classification_from_a_table_and_prediction_on_new_samples(tmp_path):
    rng = np.random.default_rng(5)
    n = 80
    a, b, c = rng.uniform(0.5, 2.0, (3, n))
    label = (a / b > 1.0).astype(float)  # a planted boundary in one formula
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(n)], "a": a, "b": b, "c": c, "phase": label})
    path = tmp_path / "phases.csv"
    frame.iloc[:60].to_csv(path, index=False)
    r = fs.run({"data": {"table": str(path), "target": "phase"},
                "features": {"generator": "sisso", "rung": 1, "ops": ["/", "-"]},
                "search": {"task": "classification"}, "classification": {"classes": "values", "max_dim": 1}})
    best = r.best(1)
    assert best.classification["overlap_count"] == 0
    assert r.classes == ["0", "1"]
    new = fs.predict(r, frame.iloc[60:].drop(columns="phase"))
    assert list(new["id"]) == list(frame["id"].iloc[60:])
    predicted = new[new.columns[-1]].astype(float).to_numpy()
    assert np.mean(predicted == label[60:]) >= 0.9  # new samples, the separator learned on the first 60
