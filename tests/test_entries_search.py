"""Acceptance (issue 7): a small JSON.bz2 of ComputedStructureEntries made here is loaded, structural and
elemental features are derived, and 1D/2D searches run end to end with both generators. Every feature is
recomputed here independently, and the models are checked against numpy least squares on those values."""
import json

import numpy as np
import pytest

import reference_numpy as ref
from entry_fixtures import brute_force_nearest, make_entries, write_entries
from formulasearch import Config, run
from formulasearch.errors import ConfigError, InputError
from formulasearch.data.primaries import default_classes, drop_incomplete, primaries_from_table

STRUCTURAL = ["volume_per_atom", "mean_nn_distance", "xrd_peak1"]
COMPOSITIONAL = ["X_mean", "X_diff"]


def electronegativities(composition):
    from pymatgen.core import Element

    amounts = composition.get_el_amt_dict()
    x = np.array([float(Element(s).X) for s in amounts])
    f = np.array(list(amounts.values()), float)
    return x, f / f.sum()


def independent_features(structure):
    """The five features computed here without formulasearch."""
    from pymatgen.analysis.diffraction.xrd import XRDCalculator

    volume = abs(np.linalg.det(np.array(structure.lattice.matrix))) / len(structure)
    pattern = XRDCalculator().get_pattern(structure)
    strongest = sorted(zip(-np.array(pattern.y), pattern.x))[0][1]
    x, f = electronegativities(structure.composition)
    return {"volume_per_atom": volume, "mean_nn_distance": brute_force_nearest(structure).mean(),
            "xrd_peak1": strongest, "X_mean": float(f @ x), "X_diff": float(x.max() - x.min())}


def planted(structure, noise):
    """e_form = -0.8 X_diff / sqrt(volume per atom) + noise: a formula of paper generation 1."""
    x, _ = electronegativities(structure.composition)
    volume = abs(np.linalg.det(np.array(structure.lattice.matrix))) / len(structure)
    return -0.8 * (x.max() - x.min()) / np.sqrt(volume) + noise


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    rng = np.random.default_rng(7)
    entries = make_entries(target=lambda s: planted(s, rng.normal(0, 0.02)))
    path = write_entries(tmp_path_factory.mktemp("db") / "alexandria_000.json.bz2", entries, "container")
    columns = {name: np.array([independent_features(e.structure)[name] for e in entries])
               for name in STRUCTURAL + COMPOSITIONAL}
    y = np.array([e.data["e_form"] for e in entries])
    return path, entries, columns, y


def entries_config(path, **features):
    search = {"max_dim": 2, "keep": 5}
    if features.get("generator") != "sisso":
        search["top_2d"] = 100  # the paper route's pairs pool (SIS + l0 has none: it would be refused)
    return {"data": {"entries": str(path), "target": "e_form", "structure_features": STRUCTURAL,
                     "composition_features": COMPOSITIONAL},
            "features": features, "search": search, "validation": {"method": "loo", "nested": False}}


def check_model(model, columns, y):
    """The model's formulas evaluated by numpy on the independent features, refit by lstsq: same fit."""
    values = np.vstack([ref.numpy_value(code, columns) for code in model.codes])
    fit = ref.scaled_lstsq(values, y)
    assert model.rmse == pytest.approx(fit["rmse"], rel=1e-6, abs=1e-12)
    assert model.intercept == pytest.approx(fit["intercept"], rel=1e-6, abs=1e-9)
    assert model.coefficients == pytest.approx(list(fit["coefficients"]), rel=1e-6)
    return fit["rmse"]


def test_acceptance_paper_generator_end_to_end(database):
    path, entries, columns, y = database
    result = run(entries_config(path, generator="paper", method=1, dedup="string"))
    assert len(result.labels) == len(entries) and result.target_values == pytest.approx(list(y))
    assert result.messages[0].startswith(f"entries: {len(entries)} read from 1 file(s)")
    assert result.config["data"]["entries"] == str(path)
    # class order: [angstrom^3], [angstrom], [deg], X (the elemental property)
    assert result.variables == ["volume_per_atom", "mean_nn_distance", "xrd_peak1", "X_mean", "X_diff"]
    for model in result.models:
        check_model(model, columns, y)

    # 1D: brute force over every generation-1 candidate of the independent features (numpy)
    matrix = np.vstack([columns[n] for n in result.variables])
    classes = [[0], [1], [2], [3, 4]]
    strings, values = ref.paper_candidates(matrix, result.variables, classes, 1)
    assert result.n_candidates == len(strings)
    kept = np.flatnonzero(ref.screen(values, 0.05))
    best = ref.best_1d(values[kept], y, 50)
    best_1d = min(m.rmse for m in result.models if m.dimension == 1)
    assert best_1d == pytest.approx(best[0][1], rel=1e-9)
    assert best[1][1] > best[0][1] * (1 + 1e-6)  # a unique winner, so its formula must be the same
    assert result.best(1).formulas == [strings[kept[best[0][0][0]]]]
    assert best_1d < 0.03  # generation 1 has X_diff/sqrt(V) only inside sums: close to the planted law, to the noise

    # 2D: at least as good as the best pair (|r| < 0.9) among the 50 best 1D formulas, by numpy lstsq
    pool = values[kept][[i for (i,), _ in best]]
    best_pair = ref.best_2d(pool, y, 1, max_pair_corr=0.9)[0][1]
    best_2d = min(m.rmse for m in result.models if m.dimension == 2)
    assert best_2d <= best_pair * (1 + 1e-9) and best_2d <= best_1d
    assert all(m.cv_rmse is not None and m.cv_rmse >= m.rmse for m in result.models)


def test_acceptance_sisso_generator_end_to_end(database):
    path, entries, columns, y = database
    result = run(entries_config(path, generator="sisso", rung=2, ops=["/", "sqrt", "-"]))
    assert result.variables == ["volume_per_atom", "mean_nn_distance", "xrd_peak1", "X_mean", "X_diff"]
    for model in result.models:
        check_model(model, columns, y)
    planted_rmse = ref.scaled_lstsq(columns["X_diff"] / np.sqrt(columns["volume_per_atom"]), y)["rmse"]
    best_1d = result.best(1)
    assert best_1d.rmse <= planted_rmse * (1 + 1e-9)
    for name in result.variables:  # every primary alone is in the space
        assert best_1d.rmse <= ref.scaled_lstsq(columns[name], y)["rmse"] * (1 + 1e-9)
    assert result.best(2).rmse <= best_1d.rmse
    assert result.best(1).units and all(u is not None for u in result.best(1).units)


def test_config_file_and_cli_run_entries(database, tmp_path):
    from formulasearch.cli import main

    path, entries, _, _ = database
    toml = tmp_path / "entries.toml"
    toml.write_text(f"""[data]
entries = "{path.name}"
target = "e_form"
entry_filter = {{ n_elements = 2, max_sites = 8 }}
structure_features = ["volume_per_atom", "mean_coordination"]
composition_features = ["X_mean", "X_diff", "atomic_radius_mean"]

[search]
max_dim = 1

[validation]
nested = false
""")
    (tmp_path / path.name).write_bytes(path.read_bytes())  # a path relative to the config file
    out = tmp_path / "result.json"
    assert main(["run", str(toml), "-o", str(out), "-q"]) == 0
    saved = json.loads(out.read_text())
    assert len(saved["labels"]) == sum(len(e.composition.elements) == 2 and len(e.structure) <= 8 for e in entries)
    assert any("left out: 4 by n_elements" in m for m in saved["messages"])
    new = write_entries(tmp_path / "new.json", entries[:2])
    predictions = tmp_path / "pred.csv"
    assert main(["predict", str(out), str(new), "-o", str(predictions)]) == 0
    import pandas as pd

    table = pd.read_csv(predictions)
    assert list(table["formula"]) == [e.composition.reduced_formula for e in entries[:2]] and "pred_1D" in table


def test_incomplete_samples_are_dropped_and_counted_or_rejected(tmp_path):
    from pymatgen.core import Lattice, Structure
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    entries = make_entries(with_ternaries=False)
    argon = Structure(Lattice.cubic(4.1), ["Ar", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])  # no Pauling X of Ar
    entries.append(ComputedStructureEntry(argon, -1.0, data={"e_form": 0.5}))
    path = write_entries(tmp_path / "with_argon.json", entries)
    cfg = {"data": {"entries": str(path), "target": "e_form", "composition_features": ["X_diff"],
                    "structure_features": ["volume_per_atom"]},
           "search": {"max_dim": 1}, "validation": {"nested": False}}
    result = run(cfg)
    assert len(result.labels) == len(entries) - 1 and "ClAr" not in result.labels
    assert any(m.startswith("1 of 21 entries dropped") for m in result.messages)
    cfg["data"]["missing"] = "error"
    with pytest.raises(InputError, match="column 'X_diff' must be a finite number .*sample 'ClAr' \\(row 21\\) has NaN"):
        run(cfg)


def test_entry_config_errors(tmp_path):
    base = {"entries": "db.json.bz2", "target": "e_form", "structure_features": ["density"]}
    Config.from_dict({"data": base})
    for change, message in [({"target": None}, "needs a target"),
                            ({"structure_features": None}, "needs features"),
                            ({"structure_features": ["volume"]}, "unknown structure feature 'volume'"),
                            ({"composition_features": ["X_median"]}, "not a composition feature"),
                            ({"entry_filter": {"n_element": 2}}, "unknown entry filter 'n_element'"),
                            ({"entry_filter": {"n_elements": "2"}}, "positive integer"),
                            ({"structure_options": {"symprec": 0.1, "tol": 1}}, "unknown structure option 'tol'"),
                            ({"missing": "fill"}, "missing = 'fill'"),
                            ({"entry_filter": {"chemsys": 12}}, "chemsys must be"),
                            ({"structure_options": {"xrd_wavelength": "Cu"}}, "unknown xrd_wavelength"),
                            ({"entry_workers": -1}, "entry_workers must be >= 0"),
                            ({"entry_workers": 1.5}, "entry_workers must be an integer"),
                            ({"compounds": "c.csv"}, "source of its own")]:
        data = {k: v for k, v in {**base, **change}.items() if v is not None}
        with pytest.raises(ConfigError, match=message):
            Config.from_dict({"data": data})
    with pytest.raises(InputError, match="not found"):
        run({"data": base, "search": {"max_dim": 1}})


def test_primaries_from_table_classes_units_and_checks():
    import pandas as pd

    frame = pd.DataFrame({"formula": ["A", "B", "B"], "id": ["1", "2", "3"], "X_mean": [1.0, 2.0, 3.0],
                          "X_diff": [0.5, 0.1, 0.2], "mean_nn_distance": [2.0, 2.5, 3.0],
                          "atomic_radius_mean": [1.0, 1.1, 1.3], "n_sites": [2, 4, 8], "y": [0.1, 0.2, 0.4]})
    units = {"mean_nn_distance": "angstrom", "atomic_radius_mean": "angstrom"}
    features = ["mean_nn_distance", "X_mean", "n_sites", "X_diff", "atomic_radius_mean"]
    assert default_classes(features, units) == {"[angstrom]": ["mean_nn_distance"], "X": ["X_mean", "X_diff"],
                                                "n_sites": ["n_sites"], "atomic_radius": ["atomic_radius_mean"]}
    prim = primaries_from_table(frame, features, "y", units=units)
    assert prim.names == ["mean_nn_distance", "X_mean", "X_diff", "n_sites", "atomic_radius_mean"]
    assert prim.classes == [[0], [1, 2], [3], [4]] and prim.labels == ["A 1", "B 2", "B 3"]
    assert np.array_equal(prim.matrix[2], frame["X_diff"]) and prim.units[0] == "angstrom" and prim.units[1] == ""
    custom = primaries_from_table(frame, ["X_mean", "X_diff"], "y", classes={"all": ["X_diff", "X_mean"]})
    assert custom.names == ["X_diff", "X_mean"] and custom.classes == [[0, 1]]
    with pytest.raises(InputError, match="'X_mean' is in none"):
        primaries_from_table(frame, ["X_mean", "X_diff"], "y", classes={"a": ["X_diff"]})
    with pytest.raises(InputError, match="no column 'gap'"):
        primaries_from_table(frame, ["X_mean"], "gap")
    frame.loc[1, "X_mean"] = np.nan
    with pytest.raises(InputError, match="'X_mean' must be a finite number .*'B 2' \\(row 2\\)"):
        primaries_from_table(frame, ["X_mean"], "y")
    kept, dropped = drop_incomplete(frame, ["X_mean", "y"])
    assert dropped == 1 and list(kept["id"]) == ["1", "3"]


def test_prediction_for_new_structures_and_training_values(database, tmp_path):
    from formulasearch.prediction import descriptor_values, fitted, predict, predict_entries

    path, entries, columns, y = database
    result = run(entries_config(path, generator="paper", method=1))
    saved = tmp_path / "result.json"
    result.to_json(saved)
    # new structures: a file the models never saw, features read with the training settings
    new = make_entries(with_ternaries=True, seed=3)[::5]
    new_path = write_entries(tmp_path / "new.json.gz", new, "lines")
    table = predict_entries(saved, new_path)
    assert list(table["id"]) == [e.data["mat_id"] for e in new]
    best = result.best(1)
    new_columns = {n: np.array([independent_features(e.structure)[n] for e in new]) for n in result.variables}
    expected = best.intercept + best.coefficients[0] * ref.numpy_value(best.codes[0], new_columns)
    assert np.allclose(table["pred_1D"], expected, rtol=1e-9)
    # the training samples: re-read from the entries file the config names
    train = best.intercept + best.coefficients[0] * ref.numpy_value(best.codes[0], columns)
    assert np.allclose(fitted(result, 0), train, rtol=1e-9)
    assert descriptor_values(result, 0).shape == (1, len(entries))
    with pytest.raises(InputError, match="trained on DFT entries .*predict_entries"):
        predict(result, ["GaAs"])


def test_classification_of_crystal_systems_from_entry_files(database):
    """Entries feed the classification route too: cubic vs hexagonal (wurtzite) from composition and
    volume features. Classes and overlap counts are recomputed here from the entries themselves."""
    path, entries, columns, _ = database
    result = run({"data": {"entries": str(path), "target": "crystal_system",
                           "structure_features": ["crystal_system", "volume_per_atom"],
                           "composition_features": COMPOSITIONAL, "properties": ["volume_per_atom", *COMPOSITIONAL]},
                  "features": {"generator": "sisso", "ops": ["/", "-", "*"], "rung": 1},
                  "search": {"task": "classification", "keep": 3},
                  "classification": {"classes": "values", "names": ["hexagonal", "cubic"], "cv_folds": 4,
                                     "top_2d": 50}})
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    hexagonal = [SpacegroupAnalyzer(e.structure, symprec=0.1).get_crystal_system() == "hexagonal" for e in entries]
    assert result.class_labels == [0 if h else 1 for h in hexagonal]
    assert result.classes == ["hexagonal", "cubic"] and sum(hexagonal) == 4
    labels = np.array(result.class_labels)

    def overlap_1d(x):
        inside = set()
        for c in (0, 1):
            lo, hi = x[labels == c].min(), x[labels == c].max()
            inside |= set(np.flatnonzero((labels != c) & (x >= lo) & (x <= hi)).tolist())
        return len(inside)

    for model in result.models:
        values = np.vstack([ref.numpy_value(code, columns) for code in model.codes])
        if model.dimension == 1:
            assert model.classification["overlap_count"] == overlap_1d(values[0])
    # The rung-0 primaries are candidates of the space: the best 1D formula is at least as good as each.
    best = result.best(1).classification["overlap_count"]
    assert best <= min(overlap_1d(columns[name]) for name in ["volume_per_atom", *COMPOSITIONAL])
    assert 0 <= result.best(2).classification["cv_accuracy"] <= 1


def test_entry_workers_reach_the_loader_and_change_nothing(database, monkeypatch):
    """[data] entry_workers is passed to load_entries; the search result is that of one process."""
    from formulasearch.data import entries as entries_module

    path, entries, _, _ = database
    asked, load = [], entries_module.load_entries

    def recording(*args, **kwargs):
        asked.append(kwargs.get("workers"))
        return load(*args, **kwargs)

    monkeypatch.setattr(entries_module, "load_entries", recording)
    results = {}
    for workers in (1, 2):
        cfg = entries_config(path, generator="paper", method=1)
        cfg["data"]["entry_workers"] = workers
        cfg["search"]["max_dim"] = 1
        results[workers] = run(cfg)
    assert asked == [1, 2]
    assert results[2].config["data"]["entry_workers"] == 2
    serial, parallel = (r.best(1) for r in (results[1], results[2]))
    assert parallel.codes == serial.codes and parallel.rmse == serial.rmse
    assert results[2].messages[0] == results[1].messages[0]  # the loader's summary: same counts
