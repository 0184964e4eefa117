"""Tests of formulasearch.run (the whole pipeline), Config and Result I/O.

Every model the pipeline reports is re-derived independently: its formulas are
looked up by string in the numpy oracle's candidate list, re-evaluated by the
oracle, and refitted with numpy least squares; the best pairs and triples are
re-found by brute force (or an independent numpy closed form).
"""

from __future__ import annotations

import functools
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import formulasearch as fs
from formulasearch import ConfigError, InputError
from reference_numpy import (
    best_1d,
    best_2d,
    best_3d,
    load_octet,
    octet_dir,
    octet_oracle,
    ols_metrics,
    paper_candidates,
    scaled_lstsq,
    screen,
)

BEST_GEN1 = "(rp_B^3 - exp(rs_B))/rp_A^2"
OCTET_CLASSES = {"energy": ["IP", "EA"], "radius": ["rs", "rp", "rd"], "orbital": ["HOMO", "LUMO"]}


class Oracle:
    """The oracle's view of one generation: strings, values, filter mask, 1D ranking."""

    def __init__(self, matrix, names, classes, y, generation=1):
        self.names, self.y = names, y
        self.strings, self.values = paper_candidates(matrix, names, classes, generation)
        self.index = {s: i for i, s in enumerate(self.strings)}
        assert len(self.index) == len(self.strings)  # generations 1-3 have distinct strings
        self.mask = screen(self.values)
        kept = np.nonzero(self.mask)[0]
        self.ranking = [int(kept[i]) for (i,), _ in best_1d(self.values[kept], y, len(kept))]
        self.rmse_1d = np.array([r for _, r in best_1d(self.values[kept], y, len(kept))])

    def rows(self, formulas):
        return [self.index[f] for f in formulas]


@functools.lru_cache(maxsize=1)
def gen1_oracle():
    return Oracle(*octet_oracle(), generation=1)


@pytest.fixture(scope="module")
def oracle():
    return gen1_oracle()


GEN1_STRING = {"features": {"method": 1, "dedup": "string"}, "search": {"max_dim": 3}}


@pytest.fixture(scope="module")
def result():
    return fs.run(GEN1_STRING)


@pytest.fixture(scope="module")
def small_result():
    return fs.run({"features": {"method": 1, "dedup": "string"},
                   "search": {"max_dim": 3, "top_2d": 300, "top_3d": 500, "keep": 12}})


def models_of(result, dim):
    return [m for m in result.models if m.dimension == dim]


# ---------------------------------------------------------------------------
# the published generation-1 numbers


def test_generation_1_counts_are_published(result):
    assert result.n_candidates == 106_400
    assert result.n_kept == 105_993


def test_best_1d_model_is_published(result):
    best = result.best(1)
    assert best.formulas == [BEST_GEN1]
    assert abs(best.rmse - 0.11926) <= 1e-5
    assert abs(best.coefficients[0] - (-0.7507)) <= 5e-5
    assert abs(best.intercept - (-0.3170)) <= 5e-5
    assert result.target == "dE"


def test_every_number_of_every_model_equals_numpy(result, oracle):
    y = oracle.y
    dims = {m.dimension for m in result.models}
    assert dims == {1, 2, 3}
    for m in result.models:
        rows = oracle.rows(m.formulas)  # KeyError: a formula the grammar does not make
        assert len(rows) == m.dimension == len(m.coefficients)
        # the candidate numbers are generation-order indices
        assert [oracle.strings[c] for c in m.candidates] == m.formulas
        X = oracle.values[rows]
        ref = scaled_lstsq(X, y)
        plain = ols_metrics(X.T, y)
        assert ref["rank"] == m.dimension + 1
        assert m.intercept == pytest.approx(ref["intercept"], rel=1e-8)
        np.testing.assert_allclose(m.coefficients, ref["coefficients"], rtol=1e-8, atol=0)
        for key in ("rmse", "mae", "maxae", "r2"):
            assert getattr(m, key) == pytest.approx(ref[key], rel=1e-8), key
            assert getattr(m, key) == pytest.approx(plain[key], rel=1e-8), key


def test_postfix_codes_round_trip_to_the_formulas(result):
    for m in result.models:
        assert len(m.codes) == len(m.formulas)
        for code, text in zip(m.codes, m.formulas):
            f = fs.Formula.from_postfix(code, result.variables)
            assert f.to_string(result.variables) == text
            assert f.to_postfix(result.variables) == code


def test_models_sorted_by_rmse_and_keep_per_dimension(result):
    for dim in (1, 2, 3):
        ms = models_of(result, dim)
        assert len(ms) == 10  # keep = 10 by default
        rmse = [m.rmse for m in ms]
        assert rmse == sorted(rmse)
    # dimensions come in order
    dims = [m.dimension for m in result.models]
    assert dims == sorted(dims)


def test_pairwise_correlation_below_limit_in_every_model(result, oracle):
    for m in result.models:
        if m.dimension < 2:
            continue
        R = np.abs(np.corrcoef(oracle.values[oracle.rows(m.formulas)]))
        for a, b in itertools.combinations(range(m.dimension), 2):
            assert R[a, b] < 0.9, (m.formulas, R[a, b])


def test_1d_models_are_the_oracle_ranking(result, oracle):
    ms = models_of(result, 1)
    got = [oracle.index[m.formulas[0]] for m in ms]
    expected_rmse = oracle.rmse_1d[: len(ms)]
    np.testing.assert_allclose([m.rmse for m in ms], expected_rmse, rtol=1e-9)
    for p, (g, e) in enumerate(zip(got, oracle.ranking)):
        if g != e:  # exact or near ties only
            assert abs(ms[p].rmse - expected_rmse[p]) <= 1e-12
    assert set(got) <= set(oracle.ranking[: len(ms) + 5])


def closed_form_best_pairs(values, y, limit, top, block=500):
    """Best pairs of the rows of `values` by OLS RMSE, from standardised Gram blocks (numpy)."""
    Z = values - values.mean(axis=1, keepdims=True)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    t = (y - y.mean()) / np.linalg.norm(y - y.mean())
    b = Z @ t
    m = Z.shape[0]
    best_r2, best_pairs = np.empty(0), np.empty((0, 2), dtype=np.int64)
    for lo in range(0, m, block):
        hi = min(m, lo + block)
        G = Z[lo:hi] @ Z.T
        i = np.arange(lo, hi)[:, None]
        j = np.arange(m)[None, :]
        with np.errstate(all="ignore"):
            r2 = (b[lo:hi, None] ** 2 + b[None, :] ** 2 - 2 * b[lo:hi, None] * b[None, :] * G) / (1 - G * G)
        ok = (j > i) & (np.abs(G) < limit) & (1 - G * G > 1e-10)
        r2 = np.where(ok, r2, -np.inf)
        flat = np.argpartition(-r2.ravel(), min(top, r2.size - 1))[:top]
        rr, cc = np.unravel_index(flat, r2.shape)
        best_r2 = np.concatenate([best_r2, r2[rr, cc]])
        best_pairs = np.concatenate([best_pairs, np.column_stack([rr + lo, cc])])
    order = np.lexsort((best_pairs[:, 1], best_pairs[:, 0], -best_r2))[:top]
    sst = float(((y - y.mean()) ** 2).sum())
    rmse = np.sqrt((1 - best_r2[order]) * sst / y.size)
    return [tuple(int(v) for v in p) for p in best_pairs[order]], rmse


def assert_models_match(models, expected, oracle, rtol=1e-8):
    """models (sorted by rmse) vs expected [(formula tuple, rmse)], up to swaps between ties."""
    assert len(models) == len(expected)
    exp_rmse = np.array([r for _, r in expected])
    np.testing.assert_allclose([m.rmse for m in models], exp_rmse, rtol=rtol)
    got = [tuple(sorted(m.formulas)) for m in models]
    want = [tuple(sorted(f)) for f, _ in expected]
    for p, (g, w) in enumerate(zip(got, want)):
        if g != w:
            assert abs(models[p].rmse - exp_rmse[p]) <= rtol * exp_rmse[p], (p, g, w)
    for g in set(got) ^ set(want):  # only at the cut
        r = ols_metrics(oracle.values[oracle.rows(list(g))].T, oracle.y)["rmse"]
        assert abs(r - exp_rmse[-1]) <= rtol * exp_rmse[-1], g


def test_best_2d_models_equal_closed_form_over_top_5000(result, oracle):
    pool = oracle.ranking[:5000]
    pairs, rmse = closed_form_best_pairs(oracle.values[pool], oracle.y, 0.9, 10)
    expected = [((oracle.strings[pool[i]], oracle.strings[pool[j]]), r) for (i, j), r in zip(pairs, rmse)]
    assert_models_match(models_of(result, 2), expected, oracle)


def brute_force_triples(values, y, limit, top):
    """Every triple whose pairwise |r| are all below `limit`, fitted by lstsq; best `top`.

    The same rule as reference_numpy.best_3d, with the |r| test done first on a
    numpy adjacency matrix so that a 500-row pool stays cheap.
    """
    R = np.abs(np.corrcoef(values))
    ok = R < limit
    m = values.shape[0]
    results = []
    for i in range(m):
        for j in range(i + 1, m):
            if not ok[i, j]:
                continue
            for k in np.nonzero(ok[i, j + 1:] & ok[j, j + 1:])[0] + j + 1:
                fit = ols_metrics(values[[i, j, k]].T, y)
                if fit["rank"] == 4:
                    results.append(((i, j, int(k)), fit["rmse"]))
    results.sort(key=lambda t: (t[1], t[0]))
    return results[:top]


def test_small_config_equals_brute_force(small_result, oracle):
    y = oracle.y
    pool2 = oracle.ranking[:300]
    expected2 = [((oracle.strings[pool2[i]], oracle.strings[pool2[j]]), r)
                 for (i, j), r in best_2d(oracle.values[pool2], y, 12, max_pair_corr=0.9)]
    assert_models_match(models_of(small_result, 2), expected2, oracle)
    pool3 = oracle.ranking[:500]
    expected3 = [(tuple(oracle.strings[pool3[k]] for k in c), r)
                 for c, r in brute_force_triples(oracle.values[pool3], y, 0.9, 12)]
    ms3 = models_of(small_result, 3)
    assert len(ms3) == len(expected3) == 12
    assert_models_match(ms3, expected3, oracle)
    assert len(models_of(small_result, 1)) == 12


def test_brute_force_triples_agrees_with_the_oracle_on_a_small_pool(oracle):
    """The pruned brute force above is the oracle's best_3d (checked where both are cheap)."""
    rng = np.random.default_rng(3)
    pool = sorted(rng.choice(oracle.ranking[:3000], size=60, replace=False).tolist())
    a = brute_force_triples(oracle.values[pool], oracle.y, 0.9, 15)
    b = best_3d(oracle.values[pool], oracle.y, 15, max_pair_corr=0.9)
    assert len(a) == len(b) > 0
    assert [m for m, _ in a] == [m for m, _ in b]
    np.testing.assert_allclose([r for _, r in a], [r for _, r in b], rtol=1e-12)


def test_threads_setting_does_not_change_results_and_is_restored():
    from formulasearch import _core

    before = _core.max_threads()
    cfg = {"features": {"method": 2, "dedup": "value"}, "search": {"top_2d": 800, "top_3d": 150}}
    a = fs.run({**cfg, "search": {**cfg["search"], "threads": 1}})
    assert _core.max_threads() == before
    b = fs.run({**cfg, "search": {**cfg["search"], "threads": 2}})
    assert _core.max_threads() == before
    key = lambda r: [(m.formulas, m.intercept, m.coefficients, m.rmse) for m in r.models]  # noqa: E731
    assert key(a) == key(b)
    try:  # a build without OpenMP runs one thread whatever is asked
        _core.set_threads(2)
        has_openmp = _core.max_threads() == 2
    finally:
        _core.set_threads(before)
    assert a.threads == 1 and b.threads == (2 if has_openmp else 1)


def test_default_value_dedup_accounts_for_the_published_kept_count():
    r = fs.run({"search": {"max_dim": 1}})
    assert r.n_candidates == 106_400
    dropped = r.screening["n_value_duplicates"]
    assert dropped > 0
    assert r.n_kept + dropped == 105_993
    assert any("value duplicates" in msg for msg in r.messages)
    assert r.best(1).formulas == [BEST_GEN1]
    assert {m.dimension for m in r.models} == {1}


# ---------------------------------------------------------------------------
# save / load


def test_json_round_trip(result, tmp_path):
    path = tmp_path / "out.json"
    result.to_json(path)
    raw = json.loads(path.read_text())
    assert {"config", "n_candidates", "n_kept", "models"} <= set(raw)
    assert raw["n_candidates"] == 106_400 and raw["n_kept"] == 105_993
    assert len(raw["models"]) == len(result.models)
    for m in raw["models"]:
        assert {"dimension", "formulas", "intercept", "coefficients", "rmse", "mae", "maxae", "r2"} <= set(m)
    assert raw["config"]["features"]["method"] == 1
    loaded = fs.load_result(path)
    assert loaded.n_candidates == result.n_candidates and loaded.n_kept == result.n_kept
    assert len(loaded.models) == len(result.models)
    for a, b in zip(loaded.models, result.models):
        assert a.dimension == b.dimension
        assert a.formulas == b.formulas
        assert a.intercept == b.intercept
        assert list(a.coefficients) == list(b.coefficients)
        assert (a.rmse, a.mae, a.maxae, a.r2) == (b.rmse, b.mae, b.maxae, b.r2)
    assert loaded.config == result.config
    assert [m.codes for m in loaded.models] == [m.codes for m in result.models]
    assert [m.candidates for m in loaded.models] == [m.candidates for m in result.models]
    assert loaded.variables == result.variables and loaded.target == result.target
    assert loaded.screening == result.screening and loaded.messages == result.messages
    assert loaded.best(1).formulas == [BEST_GEN1]
    # the saved config reruns to the same search
    again = fs.run(loaded.config)
    assert [m.formulas for m in again.models] == [m.formulas for m in result.models]


def test_result_table(result):
    t = result.table(2)
    assert len(t) == 10
    assert list(t["rmse"]) == [m.rmse for m in models_of(result, 2)]
    assert list(t["formula_1"]) == [m.formulas[0] for m in models_of(result, 2)]


# ---------------------------------------------------------------------------
# no model found, TOML, config validation


def test_no_qualifying_triple_gives_message_not_exception():
    r = fs.run({"features": {"method": 1, "dedup": "string"},
                "search": {"max_dim": 3, "top_3d": 20, "max_pair_corr": 0.05}})
    assert models_of(r, 3) == []
    assert any(msg.startswith("3D") for msg in r.messages), r.messages
    assert len(models_of(r, 1)) == 10
    assert r.best(3) is None


def test_run_accepts_a_toml_path(tmp_path):
    path = tmp_path / "job.toml"
    path.write_text('[features]\nmethod = 2\ndedup = "string"\n\n[search]\nmax_dim = 1\nkeep = 3\n')
    for arg in (str(path), path):
        r = fs.run(arg)
        assert r.n_candidates == 67_840
        assert r.n_kept == 67_821
        assert len(r.models) == 3
    assert fs.Config.from_toml(path).features.method == 2


def test_config_round_trip_through_toml(tmp_path):
    cfg = fs.Config.from_dict({"features": {"method": 3, "variant": "classes"}, "search": {"max_pair_corr": 0.8}})
    path = tmp_path / "c.toml"
    cfg.to_toml(path)
    back = fs.Config.from_toml(path)
    assert back.to_dict() == cfg.to_dict()


@pytest.mark.parametrize(
    "raw",
    [
        {"search": {"max_dimension": 2}},  # unknown key
        {"features": {"methd": 1}},  # unknown key
        {"serch": {"max_dim": 2}},  # unknown table
        {"search": {"keep": "10"}},  # wrong type
        {"search": {"keep": 2.5}},  # wrong type
        {"search": {"max_pair_corr": "high"}},  # wrong type
        {"features": {"method": "1"}},  # wrong type
        {"features": {"method": True}},  # wrong type (bool is not an int)
        {"data": {"properties": "IP"}},  # wrong type
        {"features": {"method": 5}},
        {"features": {"method": 0}},
        {"features": {"variant": "both"}},
        {"features": {"dedup": "none"}},
        {"search": {"max_dim": 7}},
        {"search": {"max_pair_corr": 1.5}},
        {"search": {"max_pair_corr": 0}},
        {"search": {"keep": 0}},
        {"search": {"threads": -1}},
        {"features": {"variance_filter": -0.1}},
        {"features": {"generator": "genetic"}},
        {"data": {"dataset": "perovskites"}},
        {"data": {"compounds": "c.csv"}},  # atoms and target missing
        {"search": []},  # a table must be a table
    ],
)
def test_bad_config_raises_config_error(raw):
    with pytest.raises(ConfigError):
        fs.Config.from_dict(raw)
    with pytest.raises(ConfigError):
        fs.run(raw)


def test_config_errors_are_one_line_and_name_the_culprit():
    with pytest.raises(ConfigError, match="max_dimension") as exc:
        fs.run({"search": {"max_dimension": 2}})
    assert "\n" not in str(exc.value)
    with pytest.raises(ConfigError, match="serch"):
        fs.run({"serch": {}})


def test_missing_toml_file_raises_config_error(tmp_path):
    with pytest.raises(ConfigError):
        fs.run(tmp_path / "nope.toml")


def test_invalid_toml_raises_config_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[search\nmax_dim = 2\n")
    with pytest.raises(ConfigError):
        fs.run(path)


def test_config_defaults():
    cfg = fs.Config.from_dict({})
    assert cfg.features.method == 1 and cfg.features.dedup == "value"
    assert cfg.search.max_dim == 3 and cfg.search.top_2d == 5000 and cfg.search.top_3d == 1000
    assert cfg.search.max_pair_corr == 0.9 and cfg.search.keep == 10
    assert fs.Config.from_dict({"search": {"max_pair_corr": 1}}).search.max_pair_corr == 1.0


# ---------------------------------------------------------------------------
# custom data from CSV files


def write_subset(folder: Path, rows) -> tuple[Path, Path]:
    comp = pd.read_csv(Path(octet_dir()) / "compounds.csv")
    atoms = pd.read_csv(Path(octet_dir()) / "atoms.csv")
    comp = comp.iloc[rows].reset_index(drop=True)
    used = set(comp["A"]) | set(comp["B"])
    atoms = atoms[atoms["symbol"].isin(used)].reset_index(drop=True)
    folder.mkdir(parents=True, exist_ok=True)
    # copy the original lines (no float re-formatting)
    src_c = (Path(octet_dir()) / "compounds.csv").read_text().splitlines()
    src_a = (Path(octet_dir()) / "atoms.csv").read_text().splitlines()
    c_path, a_path = folder / "compounds.csv", folder / "atoms.csv"
    c_path.write_text("\n".join([src_c[0]] + [src_c[r + 1] for r in rows]) + "\n")
    keep_a = [line for line in src_a[1:] if line.split(",")[0] in used]
    a_path.write_text("\n".join([src_a[0]] + keep_a) + "\n")
    assert len(keep_a) == len(atoms)
    return c_path, a_path


def test_custom_csv_data_gives_the_oracle_winner(tmp_path):
    rows = list(range(0, 82, 2))  # 41 compounds
    c_path, a_path = write_subset(tmp_path / "data", rows)
    cfg = {
        "data": {"compounds": str(c_path), "atoms": str(a_path), "target": "dE"},
        "features": {"method": 1, "dedup": "string", "classes": OCTET_CLASSES},
        "search": {"max_dim": 2, "top_2d": 150, "keep": 5},
    }
    r = fs.run(cfg)
    matrix, names, classes, y, _ = load_octet(str(tmp_path / "data"))
    assert y.size == 41 and r.variables == names
    o = Oracle(np.ascontiguousarray(matrix), names, classes, y)
    assert r.n_candidates == 106_400
    assert r.n_kept == int(o.mask.sum())
    best = r.best(1)
    assert best.formulas == [o.strings[o.ranking[0]]]
    assert best.rmse == pytest.approx(o.rmse_1d[0], rel=1e-9)
    fit = scaled_lstsq(o.values[o.ranking[0]], y)
    assert best.intercept == pytest.approx(fit["intercept"], rel=1e-8)
    assert best.coefficients[0] == pytest.approx(fit["coefficients"][0], rel=1e-8)
    # and the pairs over the top-150 pool by brute force
    pool = o.ranking[:150]
    expected = [((o.strings[pool[i]], o.strings[pool[j]]), rm)
                for (i, j), rm in best_2d(o.values[pool], y, 5, max_pair_corr=0.9)]
    assert_models_match(models_of(r, 2), expected, o)


def test_custom_csv_data_through_a_toml_with_relative_paths(tmp_path):
    rows = list(range(1, 82, 3))
    write_subset(tmp_path / "data", rows)
    toml = tmp_path / "job.toml"
    toml.write_text(
        '[data]\ncompounds = "data/compounds.csv"\natoms = "data/atoms.csv"\ntarget = "dE"\n'
        'properties = ["IP", "EA", "rs", "rp"]\n\n'
        '[features]\nmethod = 1\ndedup = "string"\n\n'
        '[features.classes]\nenergy = ["IP", "EA"]\nradius = ["rs", "rp"]\n\n'
        '[search]\nmax_dim = 1\nkeep = 3\n'
    )
    r = fs.run(toml)
    matrix, names, classes, y, _ = load_octet(str(tmp_path / "data"), class_props=(("IP", "EA"), ("rs", "rp")))
    o = Oracle(np.ascontiguousarray(matrix), names, classes, y)
    assert r.variables == names
    assert r.n_candidates == len(o.strings)
    assert r.n_kept == int(o.mask.sum())
    assert [m.formulas[0] for m in r.models][:1] == [o.strings[o.ranking[0]]]
    assert r.best(1).rmse == pytest.approx(o.rmse_1d[0], rel=1e-9)


def test_another_target_of_the_octet_table():
    """[data] target = "a0_RS" fits the rock-salt lattice constant instead of dE."""
    r = fs.run({"data": {"target": "a0_RS"}, "features": {"dedup": "string"}, "search": {"max_dim": 1, "keep": 3}})
    matrix, names, classes, _ = octet_oracle()
    y = pd.read_csv(Path(octet_dir()) / "compounds.csv")["a0_RS"].to_numpy(dtype=float)
    o = Oracle(matrix, names, classes, y)
    assert r.target == "a0_RS"
    assert r.best(1).formulas == [o.strings[o.ranking[0]]]
    assert r.best(1).rmse == pytest.approx(o.rmse_1d[0], rel=1e-9)
    assert r.n_kept == 105_993  # the filters do not look at the target


def test_class_naming_a_missing_property_is_an_input_error():
    with pytest.raises(InputError, match="XX"):
        fs.run({"features": {"classes": {"energy": ["IP", "XX"]}}, "search": {"max_dim": 1}})


def test_unknown_property_is_an_input_error():
    with pytest.raises(InputError, match="nope"):
        fs.run({"data": {"properties": ["IP", "nope"]}, "search": {"max_dim": 1}})


def test_missing_data_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        fs.run({"data": {"compounds": str(tmp_path / "none.csv"), "atoms": str(tmp_path / "none2.csv"),
                         "target": "dE"}})


def test_unknown_element_is_an_input_error(tmp_path):
    c_path, a_path = write_subset(tmp_path / "data", list(range(10)))
    c_path.write_text(c_path.read_text() + "Xx,Cl,0.1,1.0,1.0\n")
    with pytest.raises(InputError, match="Xx"):
        fs.run({"data": {"compounds": str(c_path), "atoms": str(a_path), "target": "dE"},
                "features": {"classes": OCTET_CLASSES}, "search": {"max_dim": 1}})
