"""Validation of fixed models (against scikit-learn on the same folds), the
split-based 1D ranking, nested CV of the whole search, and refined models."""
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import LeaveOneOut, cross_val_score

import formulasearch as fs
from formulasearch import _core
from formulasearch.config import ValidationConfig
from formulasearch.validation import model_cv


@pytest.fixture(scope="module")
def octet():
    prim = fs.build_primaries(fs.datasets.octet())
    gen = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1)
    top = _core.screen(gen, prim.target, keep=50, dedup="string").indices
    return prim, gen, top


def features_of(gen, indices):
    return gen.evaluate([int(i) for i in indices])


def sklearn_folds(n, tests):
    everything = np.arange(n)
    return [(np.setdiff1d(everything, t), np.asarray(t)) for t in tests]


@pytest.mark.parametrize("dims", [[0], [0, 7], [0, 7, 23]])
def test_loo_matches_sklearn(octet, dims):
    prim, gen, top = octet
    X = features_of(gen, top[dims])
    y = prim.target
    mse = -cross_val_score(LinearRegression(), X.T, y, cv=LeaveOneOut(), scoring="neg_mean_squared_error")
    assert model_cv(X, y, ValidationConfig(method="loo")) == pytest.approx(math.sqrt(mse.mean()), rel=1e-10)


@pytest.mark.parametrize("dims", [[0], [0, 7], [0, 7, 23]])
def test_kfold_and_splits_match_sklearn_on_the_same_folds(octet, dims):
    prim, gen, top = octet
    X = features_of(gen, top[dims])
    y = prim.target
    for tests in (_core.kfold_sets(y.size, 10, 3), _core.random_splits(y.size, 50, 0.1, 5)):
        ours = np.asarray(_core.test_set_mse(X, y, tests))
        theirs = -cross_val_score(LinearRegression(), X.T, y, cv=sklearn_folds(y.size, tests),
                                  scoring="neg_mean_squared_error")
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    settings = ValidationConfig(method="splits", n_splits=50, test_fraction=0.1, seed=5)
    splits = _core.random_splits(y.size, 50, 0.1, 5)
    theirs = -cross_val_score(LinearRegression(), X.T, y, cv=sklearn_folds(y.size, splits),
                              scoring="neg_mean_squared_error")
    assert model_cv(X, y, settings) == pytest.approx(math.sqrt(theirs.mean()), rel=1e-9)


def test_fold_plans_are_seeded_partitions():
    folds = _core.kfold_sets(82, 10, 1)
    assert sorted(i for f in folds for i in f) == list(range(82))
    assert {len(f) for f in folds} <= {8, 9}
    assert folds == _core.kfold_sets(82, 10, 1) and folds != _core.kfold_sets(82, 10, 2)
    splits = _core.random_splits(82, 50, 0.1, 0)
    assert len(splits) == 50 and all(len(s) == 8 and len(set(s)) == 8 for s in splits)


def test_screening_ranked_by_splits_is_the_brute_force_ranking(octet):
    prim, gen, _ = octet
    y = prim.target
    splits = _core.random_splits(y.size, 50, 0.1, 0)
    ranked = _core.screen(gen, y, keep=10, dedup="string", rank_splits=splits)
    assert ranked.r2 is None and not ranked.score_is_r2
    # Each score is minus the mean test MSE of an explicit refit on every split.
    for i, score in zip(ranked.indices, ranked.score):
        mse = np.mean(_core.test_set_mse(features_of(gen, [i]), y, splits))
        assert -score == pytest.approx(mse, rel=1e-9)
    assert list(ranked.score) == sorted(ranked.score, reverse=True)
    # No candidate of a random sample beats the 10th by refitting.
    rng = np.random.default_rng(0)
    tenth = -ranked.score[-1]
    for i in rng.choice(len(gen), 300, replace=False):
        x = features_of(gen, [i])
        if not np.all(np.isfinite(x)) or np.std(x) < 0.05 * abs(np.mean(x)):
            continue
        assert np.mean(_core.test_set_mse(x, y, splits)) >= tenth * (1 - 1e-9)


def test_every_kept_model_reports_its_cv_error():
    result = fs.run({"search": {"max_dim": 2, "top_2d": 300, "keep": 3},
                     "validation": {"method": "kfold", "k": 5, "nested": False}})
    prim = fs.build_primaries(fs.datasets.octet())
    y = prim.target
    folds = _core.kfold_sets(y.size, 5, 0)
    for m in result.models:
        X = np.vstack([fs.Formula.from_postfix(c, result.variables).evaluate(prim.matrix) for c in m.codes])
        mse = -cross_val_score(LinearRegression(), X.T, y, cv=sklearn_folds(y.size, folds),
                               scoring="neg_mean_squared_error")
        sizes = np.array([len(f) for f in folds])
        assert m.cv_method == "kfold"
        assert m.cv_rmse == pytest.approx(math.sqrt(mse @ sizes / sizes.sum()), rel=1e-9)
        assert m.cv_rmse > m.rmse  # out of sample is worse than in sample here


def test_nested_cv_redoes_the_search_in_each_fold():
    config = {"search": {"max_dim": 2, "top_2d": 200, "keep": 2}, "validation": {"outer_folds": 5, "seed": 2}}
    result = fs.run(config)
    report = result.validation["nested"]
    assert report["folds"] == 5 and set(report["dimensions"]) == {"1D", "2D"}
    # Fold 1 by hand: the search on its training part, the best 1D model scored on its test part.
    prim = fs.build_primaries(fs.datasets.octet())
    test = np.asarray(_core.kfold_sets(prim.target.size, 5, 2)[0])
    train = np.setdiff1d(np.arange(prim.target.size), test)
    sub = fs.datasets.octet()
    train_data = fs.load_dataset(sub.compounds.iloc[train].reset_index(drop=True), sub.atoms, "dE", sub.classes)
    inner = fs.run({**config, "validation": {"method": "none", "nested": False}}, dataset=train_data).best(1)
    x = fs.Formula.from_postfix(inner.codes[0], inner_vars := list(prim.names)).evaluate(prim.matrix)[test]
    rmse = math.sqrt(np.mean((prim.target[test] - inner.intercept - inner.coefficients[0] * x) ** 2))
    assert report["dimensions"]["1D"]["fold_rmse"][0] == pytest.approx(rmse, rel=1e-9)
    counts = sum(c for _, c in report["dimensions"]["1D"]["most_selected"])
    assert counts <= 5 and inner_vars
    assert "Nested CV" in result.summary()


def test_nested_cv_of_the_default_search_reports_every_dimension():
    result = fs.run()
    nested = result.validation["nested"]
    assert nested["folds"] == 10
    for d in ("1D", "2D", "3D"):
        rep = nested["dimensions"][d]
        assert len(rep["fold_rmse"]) == 10 and rep["std_rmse"] > 0
        assert rep["mean_rmse"] == pytest.approx(np.mean(rep["fold_rmse"]))
        assert rep["most_selected"][0][1] >= 1


def test_refined_models_are_added_and_predict_their_fitted_values(tmp_path):
    result = fs.run({"features": {"dedup": "string"}, "search": {"max_dim": 1, "keep": 1},
                     "refine": {"enabled": True, "max_coefficients": 2}, "validation": {"nested": False}})
    refined = [m for m in result.models if m.refined_from is not None]
    assert len(refined) == 1 and refined[0].refined_from == 0
    assert refined[0].rmse <= 0.1180 < result.models[0].rmse  # the acceptance
    assert refined[0].cv_rmse is not None and "cv_rmse_unrefined" in refined[0].notes
    path = tmp_path / "r.json"
    result.to_json(path)
    again = fs.load_result(path)
    compounds = fs.datasets.octet().compounds[["A", "B"]]
    pred = fs.predict(again, compounds, model=[len(again.models) - 1])
    prim = fs.build_primaries(fs.datasets.octet())
    x = fs.Formula.from_postfix(refined[0].codes[0], result.variables).evaluate(prim.matrix)
    fitted = refined[0].intercept + refined[0].coefficients[0] * x
    np.testing.assert_allclose(pred.iloc[:, -1].to_numpy(), fitted, rtol=1e-12)
    assert math.sqrt(np.mean((prim.target - fitted) ** 2)) == pytest.approx(refined[0].rmse, rel=1e-10)


@pytest.mark.parametrize("raw", [{"validation": {"method": "bootstrap"}}, {"validation": {"k": 1}},
                                 {"validation": {"test_fraction": 1.5}}, {"refine": {"lower": 3, "upper": 1}},
                                 {"refine": {"models": "some"}}, {"validation": {"rank_1d": "loo"}}])
def test_bad_validation_and_refine_settings(raw):
    with pytest.raises(fs.ConfigError):
        fs.Config.from_dict(raw)
