"""Nested CV in one sweep (issue 15): every outer fold's search from one pass of the kernels chooses the
same models as rerunning the search fold by fold (nested_mode = "refit"), on the same folds, with the
same outer-fold errors; Ctrl-C keeps the folds finished; the report says what the numbers mean."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import formulasearch as fs
from formulasearch import _core
from formulasearch.report.export import html_report, markdown_report, nested_meaning

TIE = 1e-12  # two choices whose training errors agree this closely are a tie the last bits may break either way


def both_modes(config: dict) -> tuple[fs.Result, fs.Result]:
    runs = []
    for mode in ("refit", "sweep"):
        cfg = {k: dict(v) for k, v in config.items()}
        cfg.setdefault("validation", {}).update(nested_mode=mode)
        runs.append(fs.run(cfg))
    return runs[0], runs[1]


def assert_same_choices(refit: dict, sweep: dict) -> None:
    """Per dimension and fold: the same formulas and outer-fold RMSE (1e-8 relative); a fold whose choice
    differs must be a near-tie (the two training errors within TIE), and is then reported as such."""
    assert sweep["mode"] == "sweep" and refit["mode"] == "refit", sweep.get("mode_reason")
    assert refit["folds"] == sweep["folds"] and refit["seed"] == sweep["seed"]
    assert refit["dimensions"].keys() == sweep["dimensions"].keys() and refit["dimensions"]
    for dim, a in refit["dimensions"].items():
        b = sweep["dimensions"][dim]
        assert len(a["fold_formulas"]) == len(b["fold_formulas"])
        for k, (fa, fb) in enumerate(zip(a["fold_formulas"], b["fold_formulas"])):
            if fa == fb:
                assert math.isclose(a["fold_rmse"][k], b["fold_rmse"][k], rel_tol=1e-8), (dim, k)
                assert math.isclose(a["fold_train_rmse"][k], b["fold_train_rmse"][k], rel_tol=1e-8), (dim, k)
            else:  # a near-tie flipped by the last bits: both choices must fit the training part alike
                print(f"{dim} fold {k + 1}: near-tie flipped: {fa} vs {fb}")
                ta, tb = a["fold_train_rmse"][k], b["fold_train_rmse"][k]
                assert abs(ta - tb) <= TIE * max(ta, tb), (dim, k, fa, fb, ta, tb)
    assert math.isclose(refit["baseline_rmse"], sweep["baseline_rmse"], rel_tol=1e-12)


def test_paper_route_sweep_equals_refit():
    refit, sweep = both_modes({"search": {"top_2d": 400, "top_3d": 200},
                               "validation": {"method": "none", "outer_folds": 5}})
    assert_same_choices(refit.validation["nested"], sweep.validation["nested"])
    assert set(sweep.validation["nested"]["dimensions"]) == {"1D", "2D", "3D"}
    # the printed models are the search's on all data, whichever the mode
    assert [m.formulas for m in refit.models] == [m.formulas for m in sweep.models]


def test_paper_route_4d_sweep_equals_refit():
    refit, sweep = both_modes({"data": {"properties": ["IP", "EA", "rs", "rp"]},
                               "search": {"top_2d": 200, "top_3d": 80, "top_nd": 30, "max_dim": 4, "max_pair_corr": 0.99},
                               "validation": {"method": "none", "outer_folds": 4}})
    assert_same_choices(refit.validation["nested"], sweep.validation["nested"])
    assert "4D" in sweep.validation["nested"]["dimensions"]


def test_paper_route_sweep_equals_refit_exact_2d_and_string_dedup():
    """top_2d = "all" (every kept formula of each training part, pools of different sizes) and the
    authors' string dedup; fewer properties keep the fold-by-fold reference quick."""
    refit, sweep = both_modes({"data": {"properties": ["IP", "EA", "rs"]},
                               "features": {"dedup": "string"},
                               "search": {"top_2d": "all", "top_3d": 120},
                               "validation": {"method": "none", "outer_folds": 4, "seed": 3}})
    assert_same_choices(refit.validation["nested"], sweep.validation["nested"])


def test_sisso_route_sweep_equals_refit():
    config = {"features": {"generator": "sisso", "rung": 1, "primaries": ["IP_A", "IP_B", "rs_A", "rp_A", "rp_B"]},
              "search": {"n_sis": 15, "max_dim": 3},
              "validation": {"method": "none", "outer_folds": 5}}
    refit, sweep = both_modes(config)
    assert_same_choices(refit.validation["nested"], sweep.validation["nested"])


@pytest.mark.parametrize("features, search", [
    ({"rung": 1}, {"n_sis": 20, "max_dim": 3}),
    ({"rung": 0}, {"method": "exhaustive", "max_dim": 3}),
], ids=["sis-l0-rung-1", "exhaustive-columns"])
def test_published_descriptor_table_sweep_equals_refit(features, search):
    """A published table (a subset of the specific-energy data of TorchSISSO: tests/data/README.md), 115
    molecules: molecular descriptors, several of them counts that are zero on all but a few molecules, so
    that a fold's training part often holds one nearly or wholly constant."""
    table = Path(__file__).parent / "data" / "torchsisso_specific_energy_subset.dat"
    refit, sweep = both_modes({"data": {"table": str(table)}, "features": {"generator": "sisso", **features},
                               "search": search, "validation": {"method": "none", "outer_folds": 5}})
    assert_same_choices(refit.validation["nested"], sweep.validation["nested"])
    assert set(sweep.validation["nested"]["dimensions"]) == {"1D", "2D", "3D"}


def test_sisso_stored_rungs_sweep_equals_refit():
    """rung 2 (and, below, rung 3): both drivers store the rungs below the last once, from all samples
    (their filters read no target), so every fold searches the same space and the sweep runs for
    every fold, with the choices of the fold-by-fold driver."""
    config = {"features": {"generator": "sisso", "rung": 2, "primaries": ["IP_A", "IP_B", "rs_A", "rp_B"],
                           "ops": ["+", "-", "*", "/", "^2"]},
              "search": {"n_sis": 12, "max_dim": 2}, "validation": {"method": "none", "outer_folds": 4}}
    refit, sweep = both_modes(config)
    assert_same_choices(refit.validation["nested"], sweep.validation["nested"])


def test_sisso_training_part_searches_the_space_stored_from_all_samples():
    """Written out: fold k's choice is the search on its training part over the stored rungs of all the
    samples; with a rung-1 feature that is non-finite on one held-out compound only, so that the
    training part's own filters would store another rung (the case the stored lists settle)."""
    from formulasearch.data.datasets import octet
    from formulasearch.data.primaries import build_primaries
    from formulasearch.search.route import search
    from formulasearch.search.sisso import SissoRoute, build_space

    prim = build_primaries(octet(), None)
    config = {"features": {"generator": "sisso", "rung": 2, "primaries": ["EA_A", "EA_B", "rs_A", "rp_B"],
                           "ops": ["+", "-", "/", "log"]},
              "search": {"n_sis": 10, "max_dim": 2}, "validation": {"method": "none", "outer_folds": 4}}
    result = fs.run(config)
    nested = result.validation["nested"]
    assert nested["mode"] == "sweep", nested.get("mode_reason")
    cfg = fs.Config.from_dict(config)
    stored = build_space(cfg, prim)[2].stored
    folds = _core.kfold_sets(prim.n_samples, 4, cfg.validation.seed)
    differs = 0
    for k, test in enumerate(folds):
        train = np.setdiff1d(np.arange(prim.n_samples), test)
        inner = fs.Config.from_dict(config)
        inner.search.keep = 1
        inner.validation.nested = False
        own = build_space(inner, prim.subset(train))[2].stored
        differs += own != stored
        models = search(SissoRoute(inner, prim.subset(train), stored_rungs=stored)).models
        for dim, row in nested["dimensions"].items():
            best = min((m for m in models if m.dimension == int(dim[0])), key=lambda m: m.rmse)
            assert row["fold_formulas"][k] == best.formulas, (dim, k)
    assert differs > 0  # the training parts' own filters would have stored other features


def test_sisso_fold_by_fold_searches_the_space_stored_from_all_samples(monkeypatch):
    """nested_mode = "refit": every training part's search is given the stored rungs of all the samples
    (as the sweep searches them), and chooses as the sweep does, on a case where its own filters would
    store other features."""
    from formulasearch.search import sisso

    config = {"features": {"generator": "sisso", "rung": 2, "primaries": ["EA_A", "EA_B", "rs_A", "rp_B"],
                           "ops": ["+", "-", "/", "log"]},
              "search": {"n_sis": 10, "max_dim": 2}, "validation": {"method": "none", "outer_folds": 4}}
    given = []
    original = sisso.SissoRoute.__init__

    def spy(self, cfg, prim, progress=None, lap=None, stored_rungs=None):
        given.append((prim.n_samples, stored_rungs))
        original(self, cfg, prim, progress, lap, stored_rungs)

    monkeypatch.setattr(sisso.SissoRoute, "__init__", spy)
    refit, sweep = both_modes(config)
    monkeypatch.undo()
    everything = sisso.build_space(fs.Config.from_dict(config), octet_primaries())[2].stored
    inner = [stored for n, stored in given if n < given[0][0]]
    assert len(inner) == 4 and all(stored == everything for stored in inner)
    assert_same_choices(refit.validation["nested"], sweep.validation["nested"])


def octet_primaries():
    from formulasearch.data.datasets import octet
    from formulasearch.data.primaries import build_primaries

    return build_primaries(octet(), None)


def test_sisso_exhaustive_sweep_equals_refit():
    config = {"features": {"generator": "sisso", "rung": 1, "primaries": ["IP_A", "IP_B", "rs_A", "rp_A", "rp_B"]},
              "search": {"method": "exhaustive", "top_2d": "all", "top_3d": 40, "max_dim": 3},
              "validation": {"method": "none", "outer_folds": 4}}
    refit, sweep = both_modes(config)
    assert_same_choices(refit.validation["nested"], sweep.validation["nested"])


def test_classification_keeps_the_fold_by_fold_driver():
    """Classification's separation scores are not sums of per-fold terms: its nested CV still reruns the
    search on each stratified fold's training part. Checked against that procedure written out here."""
    from formulasearch.data.datasets import octet
    from formulasearch.data.primaries import build_primaries
    from formulasearch.results import best_of_dimension
    from formulasearch.search.classification import predict
    from formulasearch.validation import stratified_folds

    config = {"search": {"task": "classification"},
              "classification": {"nested": True, "outer_folds": 3, "top_2d": 30, "max_dim": 2, "seed": 4}}
    result = fs.run(config)
    nested = result.validation["nested"]
    assert nested["mode"] == "refit" and "classification" in nested["mode_reason"]
    assert nested["folds_completed"] == 3 and "interrupted" not in nested
    prim = build_primaries(octet(), None)
    labels = np.asarray(result.class_labels, dtype=np.int32)
    correct, chosen = 0, []
    for test in stratified_folds(labels, 3, 4 + 1):
        train = np.setdiff1d(np.arange(labels.size), test)
        inner = {"search": {"task": "classification", "keep": 1},
                 "classification": {"nested": False, "outer_folds": 3, "top_2d": 30, "max_dim": 2, "seed": 4}}
        best = best_of_dimension(fs.run(inner, primaries=prim.subset(train)).models)
        values = best.values(result.variables, prim.rows(result.variables))
        fit = _core.fit_logistic(np.ascontiguousarray(values[:, train]), labels[train], l2=result.config[
            "classification"]["l2"])
        correct += int(np.sum(predict(fit.intercept, fit.coefficients, values[:, test]) == labels[test]))
        chosen.append(" | ".join(best.formulas))
    assert nested["correct"] == correct and nested["n_samples"] == labels.size
    assert nested["accuracy"] == correct / labels.size
    assert sorted(f for f, _ in nested["most_selected"]) == sorted(set(chosen))


class StopAt:
    """A progress callback that presses Ctrl-C once `stage` reports `done` or more (remembering the
    count it stopped at), and records every stage."""

    def __init__(self, stage: str, done: int):
        self.stage, self.done, self.seen, self.stopped_at = stage, done, [], None

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.seen.append((stage, done, total))
        if stage == self.stage and done >= self.done and self.stopped_at is None:
            self.stopped_at = done
            raise KeyboardInterrupt


@pytest.mark.parametrize("mode, stage, threads", [("refit", "nested CV", 0), ("sweep", "nested triples", 1),
                                                   ("sweep", "nested triples", 0)])
def test_ctrl_c_keeps_the_folds_finished(mode, stage, threads):
    stop = StopAt(stage, 2)
    r = fs.run({"search": {"top_2d": 200, "top_3d": 100, "threads": threads},
                "validation": {"method": "none", "outer_folds": 5, "nested_mode": mode}}, progress=stop)
    nested = r.validation["nested"]
    # The folds finished are those reported, except that in the sweep on several threads the folds
    # other threads took before Ctrl-C finish too (no fold starts after it).
    k = nested["folds_completed"]
    assert stop.stopped_at is not None
    assert k == stop.stopped_at == 2 if threads == 1 or mode == "refit" else stop.stopped_at <= k <= 5
    assert r.interrupted and nested["interrupted"]
    # Every finished fold has its 1D model; a 2D (3D) one where its top_2d (top_3d) holds a valid pair
    # (triple): on these small pools, not every fold's does (fold by fold alike).
    dims = nested["dimensions"]
    assert dims["1D"]["folds_with_model"] == k
    assert all(rep["folds_with_model"] <= k for rep in dims.values())
    assert f"{k} of 5 outer folds" in nested["notes"][0]
    assert any("nested CV" in m for m in r.messages)
    assert r.models and f"interrupted (Ctrl-C): {k} of 5" in r.summary()
    assert f"Interrupted: {k} of 5 outer folds finished" in nested_meaning(nested)


def test_progress_shows_each_fold_of_the_sweep():
    seen = StopAt("never", -1)
    r = fs.run({"search": {"top_2d": 200, "top_3d": 100}, "validation": {"method": "none", "outer_folds": 4}},
               progress=seen)
    stages = {s for s, _, _ in seen.seen}
    assert {"nested screening", "nested pairs", "nested triples", "nested CV"} <= stages
    assert ("nested CV", 0, 4) in seen.seen and ("nested CV", 4, 4) in seen.seen
    waves = [d for s, d, _ in seen.seen if s == "nested triples"]  # folds done, as the calling thread sees them
    assert waves == sorted(waves) and waves[-1] == 4
    assert r.validation["nested"]["seconds"] > 0


def test_report_says_what_nested_cv_means(tmp_path):
    r = fs.run({"search": {"max_dim": 1}, "validation": {"method": "none", "outer_folds": 3}})
    text = "error to expect from running this search on new data"
    assert text in r.summary()
    assert text in html_report(r, figures=False)
    assert text in markdown_report(r)


def test_screen_folds_matches_screening_each_training_part():
    """The core's fold screening against screen() over each training part (SampleView), directly."""
    rng = np.random.default_rng(0)
    from formulasearch.data.datasets import octet
    from formulasearch.data.primaries import build_primaries

    prim = build_primaries(octet(), ["IP", "EA", "rs"])
    y = np.ascontiguousarray(prim.target, dtype=float)
    source = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1, "paper")
    folds = _core.kfold_sets(y.size, 6, int(rng.integers(100)))
    swept = _core.screen_folds(source, folds, y, keep=300, variance_filter=0.05, dedup="value")
    for k, test in enumerate(folds):
        train = np.setdiff1d(np.arange(y.size), test)
        alone = _core.screen(_core.SampleView(source, train.tolist()), y[train], keep=300, variance_filter=0.05,
                             dedup="value")
        assert np.array_equal(np.asarray(swept[k].indices), np.asarray(alone.indices))
        assert np.allclose(swept[k].score, alone.score, rtol=1e-11, atol=0)


def test_progress_shows_each_fold_of_the_sis_l0_sweep():
    """SIS + l0: a report after each fold's l0 step of each dimension (a 3D step over thousands of features
    takes seconds per fold)."""
    seen = StopAt("never", -1)
    fs.run({"features": {"generator": "sisso", "rung": 1, "primaries": ["IP_A", "IP_B", "rs_A", "rp_A", "rp_B"]},
            "search": {"n_sis": 15, "max_dim": 3}, "validation": {"method": "none", "outer_folds": 4}}, progress=seen)
    steps = [(d, t) for s, d, t in seen.seen if s == "nested SIS + l0"]
    assert steps == [(d, 12) for d in range(1, 13)]
