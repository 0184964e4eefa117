"""FormulaRegressor and FormulaClassifier: the scikit-learn estimators around the SISSO and classification routes."""
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks  # noqa: E402

import formulasearch as fs  # noqa: E402
from formulasearch.sklearn import FormulaClassifier, FormulaRegressor  # noqa: E402
from reference_numpy import numpy_value  # noqa: E402

# Checks FormulaRegressor cannot pass by nature, with the reason; none at present.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}
SKLEARN_VERSION = tuple(int(p) for p in sklearn.__version__.split(".")[:2])
NEW_CHECKS_API = SKLEARN_VERSION >= (1, 6)  # expected_failed_checks, on_fail


@pytest.fixture(scope="module")
def octet():
    prim = fs.build_primaries(fs.datasets.octet())
    frame = prim.to_frame()
    y = frame.pop(prim.target_name)
    return prim, frame, y


@pytest.fixture(scope="module")
def planted():
    """y = 2 + 3*x1/x2 on positive data, exactly."""
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.uniform(1.0, 5.0, size=(60, 4)), columns=["x0", "x1", "x2", "x3"])
    y = 2.0 + 3.0 * X["x1"] / X["x2"]
    return X, y


# ------------------------------------------------------------------ numpy oracle of the postfix codes

def numpy_predict(reg: FormulaRegressor, X: pd.DataFrame) -> np.ndarray:
    columns = {name: np.asarray(X.iloc[:, j], dtype=float) for j, name in enumerate(reg.variable_names_)}
    out = np.full(len(X), reg.intercept_)
    for c, code in zip(reg.coef_, reg.model_.codes):
        out += c * numpy_value(code, columns)
    return out


# ------------------------------------------------------------------ scikit-learn's own checks

@parametrize_with_checks([FormulaRegressor(), FormulaRegressor(max_dim=1), FormulaRegressor(max_dim=3, dimension=2)],
                         **({"expected_failed_checks": lambda est: EXPECTED_FAILED_CHECKS} if NEW_CHECKS_API else {}))
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.skipif(not NEW_CHECKS_API, reason="check_estimator(on_fail=...) needs scikit-learn >= 1.6")
def test_check_estimator_passes_with_no_expected_failures():
    results = check_estimator(FormulaRegressor(ops=["+", "-", "*", "/", "log", "sqrt"], validation="loo"),
                              expected_failed_checks=EXPECTED_FAILED_CHECKS, on_fail=None)
    failed = [(r["check_name"], r["exception"]) for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 40


# ------------------------------------------------------------------ the planted formula

def test_planted_formula_found_exactly(planted):
    X, y = planted
    reg = FormulaRegressor(max_dim=1).fit(X, y)
    assert reg.formulas_ == ["x1/x2"]
    assert reg.coef_ == pytest.approx([3.0], rel=1e-10)
    assert reg.intercept_ == pytest.approx(2.0, rel=1e-10)
    assert reg.model_.rmse < 1e-10
    assert reg.score(X, y) == pytest.approx(1.0, abs=1e-12)
    # The default (highest dimension) still carries it, with a second term of no weight.
    reg2 = FormulaRegressor().fit(X, y)
    assert reg2.dimension_ == 2 and "x1/x2" in reg2.formulas_
    assert np.sqrt(np.mean((reg2.predict(X) - y) ** 2)) < 1e-10
    assert reg2.result_.best(1).formulas == ["x1/x2"]
    # New data: the formula generalises exactly.
    X_new = pd.DataFrame(np.random.default_rng(8).uniform(1.0, 5.0, size=(20, 4)), columns=X.columns)
    assert reg.predict(X_new) == pytest.approx(2.0 + 3.0 * X_new["x1"] / X_new["x2"], rel=1e-12)


def test_planted_formula_from_array(planted):
    X, y = planted
    reg = FormulaRegressor(max_dim=1).fit(X.to_numpy(), y.to_numpy())
    assert reg.formulas_ == ["x1/x2"] and reg.variable_names_ == ["x0", "x1", "x2", "x3"]
    assert not hasattr(reg, "feature_names_in_")
    assert reg.n_features_in_ == 4


def test_dimension_selects_the_model(planted):
    X, y = planted
    reg = FormulaRegressor(max_dim=3, dimension=1).fit(X, y)
    assert reg.dimension_ == 1 and reg.model_ is reg.result_.best(1)
    assert {m.dimension for m in reg.result_.models} == {1, 2, 3}
    with pytest.raises(ValueError, match="dimension"):
        FormulaRegressor(max_dim=2, dimension=3).fit(X, y)


# ------------------------------------------------------------------ octet: predictions, CV, grid search

def test_octet_fit_attributes_and_numpy_predictions(octet):
    prim, X, y = octet
    reg = FormulaRegressor().fit(X, y)
    assert list(reg.feature_names_in_) == prim.names and reg.n_features_in_ == 14
    assert reg.model_ is reg.result_.best(2)
    assert reg.formulas_ == reg.model_.formulas and len(reg.coef_) == 2
    assert reg.intercept_ == reg.model_.intercept
    pred = reg.predict(X)
    assert pred == pytest.approx(numpy_predict(reg, X), rel=1e-12, abs=1e-12)
    # predict reproduces the search's own fit: same RMSE as the model's.
    assert np.sqrt(np.mean((pred - y) ** 2)) == pytest.approx(reg.model_.rmse, rel=1e-9)
    assert reg.score(X, y) == pytest.approx(reg.model_.r2, rel=1e-9)
    assert reg.transform_formulas(X).shape == (len(X), 2)
    # Default: no per-model validation, no nested CV (speed).
    assert reg.result_.validation["method"] == "none" and "nested" not in reg.result_.validation


def test_octet_with_units_matches_run(octet):
    prim, X, y = octet
    reg = FormulaRegressor(units=dict(zip(prim.names, prim.units))).fit(X, y)
    direct = fs.run({"features": {"generator": "sisso", "rung": 1},
                     "search": {"max_dim": 2, "n_sis": 100},
                     "validation": {"method": "none", "nested": False}}, primaries=prim)
    assert reg.formulas_ == direct.best(2).formulas
    assert reg.coef_ == pytest.approx(direct.best(2).coefficients, rel=1e-10)


def test_cross_val_score_equals_manual_folds(octet):
    _, X, y = octet
    scores = cross_val_score(FormulaRegressor(), X, y, cv=5)
    manual = []
    for train, test in KFold(5).split(X):
        reg = FormulaRegressor().fit(X.iloc[train], y.iloc[train])
        manual.append(reg.score(X.iloc[test], y.iloc[test]))
    assert scores == pytest.approx(manual, rel=1e-12)
    assert np.all(np.isfinite(scores))
    # The primary matrix (variables x samples) transposed works the same.
    prim = fs.build_primaries(fs.datasets.octet())
    assert cross_val_score(FormulaRegressor(), prim.matrix.T, prim.target, cv=5) == pytest.approx(scores, rel=1e-12)


def test_grid_search_over_max_dim_and_rung():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.uniform(1.0, 3.0, size=(40, 3)), columns=["a", "b", "c"])
    y = 1.0 + 0.5 * (X["a"] - X["b"]) ** 2  # rung 2; rung 1 and two terms cannot make it
    search = GridSearchCV(FormulaRegressor(ops=["-", "/", "^2"]), {"max_dim": [1, 2], "rung": [1, 2]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["rung"] == 2
    assert search.best_score_ == pytest.approx(1.0, abs=1e-10)
    best = search.best_estimator_
    assert best.result_.best(1).formulas == ["(a - b)^2"]
    assert best.score(X, y) == pytest.approx(1.0, abs=1e-10)
    assert len(search.cv_results_["params"]) == 4


def test_numpy_integer_parameters_from_grids(planted):
    X, y = planted
    reg = FormulaRegressor(max_dim=np.int64(1), n_sis=np.int32(50)).fit(X, y)
    assert reg.formulas_ == ["x1/x2"]


# ------------------------------------------------------------------ pipelines

def test_pipeline_runs(octet):
    _, X, y = octet
    pipe = make_pipeline(StandardScaler(), FormulaRegressor(min_abs=0.0))
    pipe.fit(X, y)
    assert np.all(np.isfinite(pipe.predict(X)))
    assert pipe.score(X, y) > 0.5


@pytest.mark.skipif(SKLEARN_VERSION < (1, 2), reason="set_output needs scikit-learn >= 1.2")
def test_pipeline_identity_transformer_keeps_formulas(planted):
    X, y = planted
    pipe = Pipeline([("id", FunctionTransformer(feature_names_out="one-to-one")),
                     ("reg", FormulaRegressor(max_dim=1))]).set_output(transform="pandas")
    pipe.fit(X, y)
    assert list(pipe[-1].feature_names_in_) == list(X.columns)
    assert pipe[-1].formulas_ == ["x1/x2"]
    assert pipe.predict(X) == pytest.approx(FormulaRegressor(max_dim=1).fit(X, y).predict(X), rel=1e-14)


# ------------------------------------------------------------------ parameters, clone, pickle

def test_get_set_params_clone_round_trip():
    params = dict(ops=["+", "/"], rung=2, max_dim=3, n_sis=20, n_residual=2, max_complexity=2, dimension=2,
                  units={"x0": "m"}, strict_units=False, threads=1, keep=5, max_abs=1e6, min_abs=0.0,
                  validation="loo", nested=False, task_column=None)
    reg = FormulaRegressor(**params)
    assert {k: reg.get_params()[k] for k in params} == params
    twin = clone(reg)
    assert twin is not reg and twin.get_params() == reg.get_params()
    assert twin.set_params(max_dim=1, dimension=None) is twin
    assert twin.max_dim == 1 and twin.dimension is None and reg.max_dim == 3
    assert set(FormulaRegressor().get_params()) == set(params)
    assert "max_dim=3" in repr(reg)


def test_clone_of_fitted_is_unfitted_and_pickle_keeps_predictions(planted):
    X, y = planted
    reg = FormulaRegressor(max_dim=1).fit(X, y)
    with pytest.raises(NotFittedError):
        clone(reg).predict(X)
    again = pickle.loads(pickle.dumps(reg))
    assert again.formulas_ == reg.formulas_
    assert again.predict(X) == pytest.approx(reg.predict(X), rel=0, abs=0)


# ------------------------------------------------------------------ names, units, degenerate data

def test_column_names_are_sanitised():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(1, 2, size=(30, 4)), columns=["band gap (eV)", "exp", "2nd", "band_gap_eV"])
    y = 1.0 + 2.0 * X["band gap (eV)"] / X["exp"]
    reg = FormulaRegressor(max_dim=1).fit(X, y)
    # "band gap (eV)" is the column "band gap" in eV (a unit header); the others are then dimensionless
    assert reg.units_ == {"band gap": "eV", "exp": "1", "2nd": "1", "band_gap_eV": "1"}
    assert reg.variable_names_ == ["band_gap", "exp_", "x_2nd", "band_gap_eV"]
    assert list(reg.feature_names_in_) == list(X.columns)
    assert reg.formulas_ == ["[band gap]/[exp]"]  # printed by the headers; the codes use the variable names
    assert reg.model_.codes == ["band_gap exp_ /"]
    assert reg.predict(X) == pytest.approx(y, rel=1e-12)


def test_units_and_strict_units():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.uniform(1, 2, size=(30, 3)), columns=["E1", "E2", "r"])
    y = X["E1"] + X["r"]  # adds an energy to a length: not a formula with units
    reg = FormulaRegressor(max_dim=1, units={"E1": "eV", "E2": "eV", "r": "angstrom"}).fit(X, y)
    assert reg.formulas_ != ["E1 + r"]
    assert FormulaRegressor(max_dim=1).fit(X, y).formulas_ == ["E1 + r"]
    with pytest.raises(ValueError, match="not a column"):
        FormulaRegressor(units={"nosuch": "eV"}).fit(X, y)
    with pytest.raises(ValueError, match="strict_units"):
        FormulaRegressor(strict_units=True, units={"E1": "eV"}).fit(X, y)


def test_bad_settings_are_clear_value_errors(planted):
    X, y = planted
    for params, match in [({"max_dim": 7}, "max_dim"), ({"ops": ["nosuch"]}, "nosuch"), ({"rung": 1.5}, "rung"),
                          ({"n_sis": 0}, "n_sis"), ({"validation": "x"}, "validation")]:
        with pytest.raises(ValueError, match=match):
            FormulaRegressor(**params).fit(X, y)


def test_degenerate_data():
    rng = np.random.default_rng(2)
    # Fewer than 3 samples: sklearn's message.
    with pytest.raises(ValueError, match="minimum of 3 is required"):
        FormulaRegressor().fit(rng.normal(size=(2, 3)), [1.0, 2.0])
    # A constant target: the exact constant model.
    reg = FormulaRegressor().fit(rng.normal(size=(10, 3)), np.full(10, 4.5))
    assert reg.formulas_ == [] and reg.intercept_ == 4.5 and reg.dimension_ == 0
    assert reg.predict(rng.normal(size=(4, 3))) == pytest.approx([4.5] * 4)
    # Constant columns are left out; the rest is searched.
    X = np.c_[np.ones(20), rng.uniform(1, 2, 20)]
    y = 1.0 / X[:, 1]
    reg = FormulaRegressor(max_dim=1).fit(X, y)
    assert reg.formulas_ == ["x1^-1"] and any("constant columns" in m for m in reg.result_.messages)
    # Every column constant: the mean.
    reg = FormulaRegressor().fit(np.ones((10, 2)), np.arange(10.0))
    assert reg.formulas_ == [] and reg.intercept_ == pytest.approx(4.5)
    # One feature; many features; negative values with log/sqrt.
    assert FormulaRegressor().fit(rng.normal(size=(15, 1)), rng.normal(size=15)).n_features_in_ == 1
    assert len(FormulaRegressor().fit(rng.normal(size=(12, 150)), rng.normal(size=12)).formulas_) == 2
    reg = FormulaRegressor(ops=["log", "sqrt"]).fit(-rng.uniform(1, 2, size=(15, 2)), rng.normal(size=15))
    assert all("log" not in f and "sqrt" not in f for f in reg.formulas_)


def test_no_usable_feature_falls_back_to_a_line_with_a_warning():
    rng = np.random.default_rng(4)
    X = 1e-9 * rng.normal(size=(20, 2))  # every feature below min_abs
    y = 3.0 + 2e9 * X[:, 1]
    with pytest.warns(UserWarning, match="no formula could be fitted"):
        reg = FormulaRegressor(ops=["+"]).fit(X, y)
    assert reg.formulas_ == ["x1"] and reg.model_.notes == {"fallback": True}
    assert reg.predict(X) == pytest.approx(y, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert FormulaRegressor(ops=["+"], min_abs=0.0).fit(X, y).formulas_[0] in ("x1", "x0 + x1", "x1 + x0")


def test_undefined_predictions_warn(planted):
    X, y = planted
    reg = FormulaRegressor(max_dim=1).fit(X, y)
    X_bad = X.copy()
    X_bad.loc[0, "x2"] = 0.0
    with pytest.warns(RuntimeWarning, match="not defined"):
        pred = reg.predict(X_bad)
    assert not np.isfinite(pred[0]) and np.all(np.isfinite(pred[1:]))


def test_lazy_export():
    assert fs.FormulaRegressor is FormulaRegressor
    with pytest.raises(AttributeError):
        fs.NoSuchThing  # noqa: B018


# ================================================================== FormulaClassifier

# Ranked by domain overlap, the best pair of formulas for sklearn's three Gaussian blobs is
# (exp(x1), x1): its one-vs-rest logistic separators reach 0.78 training accuracy, below the
# check's 0.83. criterion="logistic" ranks by the separator's own loss and passes (0.94).
OVERLAP_EXPECTED_FAILED_CHECKS = {
    "check_classifiers_train": "the pair with the least domain overlap on 3 blobs separates them one-vs-rest "
                               "at 0.78 training accuracy, below the check's 0.83 (criterion='logistic': 0.94)",
}
# Ranked by training accuracy, the separator keeps every region free of class 0 for the other
# classes even at class weights 1000 : 0.0001: on the check's noisy blobs 84% (two classes) and
# 68% (three) of the held-out samples are predicted as class 0, below the check's 87%.
ACCURACY_EXPECTED_FAILED_CHECKS = {
    "check_class_weight_classifiers": "the accuracy separator keeps the regions free of class 0 for the other "
                                      "classes at weights 1000 : 0.0001 (84% of held-out samples predicted 0, "
                                      "below the check's 87%)",
}
OCTET_COLUMNS = ["rs_A", "rs_B", "rp_A", "rp_B", "IP_A", "IP_B"]


def classifier_expected_failures(estimator):
    return {"overlap": OVERLAP_EXPECTED_FAILED_CHECKS, "accuracy": ACCURACY_EXPECTED_FAILED_CHECKS}.get(
        estimator.criterion, {})


@pytest.fixture(scope="module")
def octet_classes():
    """A few octet primaries as X; y the more stable structure (dE < 0: rocksalt)."""
    prim = fs.build_primaries(fs.datasets.octet(), None)
    X = pd.DataFrame(prim.matrix[[prim.names.index(c) for c in OCTET_COLUMNS]].T, columns=OCTET_COLUMNS)
    y = np.where(prim.target < 0, "rocksalt", "zincblende")
    return X, y, np.asarray(prim.target, dtype=float)


def numpy_formula_values(clf: FormulaClassifier, X: pd.DataFrame) -> np.ndarray:
    """Values of clf's formulas (formulas x samples) by the independent postfix evaluator."""
    columns = {name: np.asarray(X.iloc[:, j], dtype=float) for j, name in enumerate(clf.variable_names_)}
    return np.array([numpy_value(code, columns) for code in clf.model_.codes])


@parametrize_with_checks([FormulaClassifier(), FormulaClassifier(criterion="logistic"),
                          FormulaClassifier(criterion="accuracy")],
                         **({"expected_failed_checks": classifier_expected_failures} if NEW_CHECKS_API else {}))
def test_classifier_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.skipif(not NEW_CHECKS_API, reason="check_estimator(on_fail=...) needs scikit-learn >= 1.6")
def test_classifier_check_estimator_fails_only_the_expected_check():
    # Without the expected failures: the overlap ranking fails check_classifiers_train alone.
    results = check_estimator(FormulaClassifier(), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed == set(OVERLAP_EXPECTED_FAILED_CHECKS)
    results = check_estimator(FormulaClassifier(criterion="logistic"), on_fail=None)
    assert not [r["check_name"] for r in results if r["status"] == "failed"]
    assert sum(r["status"] == "passed" for r in results) >= 40
    results = check_estimator(FormulaClassifier(criterion="accuracy"), on_fail=None)
    assert {r["check_name"] for r in results if r["status"] == "failed"} == set(ACCURACY_EXPECTED_FAILED_CHECKS)


def test_classifier_class_weight_dict_and_balanced_reach_the_search(octet_classes):
    X, y, _ = octet_classes
    X = X[["rs_A", "rs_B", "rp_A"]]
    heavy = FormulaClassifier(max_dim=1, criterion="accuracy", class_weight={"rocksalt": 5.0}).fit(X, y)
    assert heavy.result_.config["classification"]["class_weight"] == {"rocksalt": 5.0}
    assert heavy.model_.classification["class_weight"] == [5.0, 1.0]
    balanced = FormulaClassifier(max_dim=1, criterion="accuracy", class_weight="balanced").fit(X, y)
    assert balanced.model_.classification["class_weight"] == "balanced"
    plain = FormulaClassifier(max_dim=1, criterion="accuracy").fit(X, y)
    assert "class_weight" not in plain.model_.classification
    # The weight moves the threshold towards fewer rocksalt errors, never more.
    wrong = lambda clf: int(np.sum((clf.predict(X) != y) & (y == "rocksalt")))  # noqa: E731
    assert wrong(heavy) <= wrong(plain)
    with pytest.raises(ValueError, match="class_weight"):
        FormulaClassifier(class_weight=[1, 2]).fit(X, y)


@pytest.mark.parametrize("max_dim", [1, 2])
def test_classifier_octet_predictions_match_numpy(octet_classes, max_dim):
    X, y, _ = octet_classes
    clf = FormulaClassifier(max_dim=max_dim).fit(X, y)
    assert list(clf.classes_) == ["rocksalt", "zincblende"] and clf.result_.classes == ["rocksalt", "zincblende"]
    assert list(clf.feature_names_in_) == OCTET_COLUMNS and clf.n_features_in_ == len(OCTET_COLUMNS)
    assert clf.model_ is clf.result_.best(max_dim) and clf.dimension_ == max_dim
    assert clf.formulas_ == clf.model_.formulas
    assert clf.coef_.shape == (1, max_dim) and clf.intercept_.shape == (1,)
    assert clf.intercept_[0] == clf.model_.intercept and list(clf.coef_[0]) == clf.model_.coefficients
    values = numpy_formula_values(clf, X)
    scores = clf.intercept_[0] + clf.coef_[0] @ values
    expected = np.where(scores > 0, "zincblende", "rocksalt")
    assert np.array_equal(clf.predict(X), expected)
    assert clf.decision_function(X) == pytest.approx(scores, rel=1e-10, abs=1e-10)
    assert clf.transform_formulas(X) == pytest.approx(values.T, rel=1e-12, abs=1e-12)
    accuracy = float(np.mean(expected == y))
    assert clf.score(X, y) == accuracy == clf.model_.classification["accuracy"]
    if max_dim == 1:  # one formula does not separate the octet: the accuracy test is not vacuous
        assert 0.5 < accuracy < 1.0
    # Probabilities: the sigmoid of the numpy scores; their mean log-loss is the core's training loss.
    proba = clf.predict_proba(X)
    assert proba[:, 1] == pytest.approx(1 / (1 + np.exp(-scores)), rel=1e-9, abs=1e-12)
    assert proba.sum(axis=1) == pytest.approx(np.ones(len(y)), abs=1e-12)
    truth = (y == "zincblende").astype(int)
    log_loss = -np.mean(np.log(proba[np.arange(len(y)), truth]))
    assert log_loss == pytest.approx(clf.model_.classification["log_loss"], rel=1e-8)


def test_classifier_matches_the_classification_route(octet_classes):
    """fit is formulasearch.run with task = "classification" on the same primaries."""
    X, y, target = octet_classes
    clf = FormulaClassifier().fit(X, y)
    prim = fs.Primaries(matrix=np.ascontiguousarray(X.to_numpy().T), names=OCTET_COLUMNS,
                        classes=[[k] for k in range(len(OCTET_COLUMNS))], class_names=OCTET_COLUMNS,
                        units=[""] * len(OCTET_COLUMNS), target=target, target_name="dE",
                        labels=[str(i) for i in range(len(y))])
    direct = fs.run({"features": {"generator": "sisso", "rung": 1},
                     "search": {"task": "classification", "keep": 10},
                     "classification": {"classes": "sign", "max_dim": 2, "top_2d": 100, "cv_folds": 5}},
                    primaries=prim)
    assert [m.formulas for m in clf.result_.models] == [m.formulas for m in direct.models]
    assert list(clf.coef_[0]) == pytest.approx(direct.best(2).coefficients, rel=1e-12)
    assert clf.model_.classification["cv_accuracy"] == direct.best(2).classification["cv_accuracy"]


def test_classifier_label_types_give_the_same_classifier(octet_classes):
    X, y, _ = octet_classes
    rocksalt = y == "rocksalt"
    reference = FormulaClassifier(max_dim=1).fit(X, y)
    for labels, names in [(np.where(rocksalt, 3, 7), [3, 7]), (~rocksalt, [False, True]),
                          (list(np.where(rocksalt, "RS", "ZB")), ["RS", "ZB"])]:
        clf = FormulaClassifier(max_dim=1).fit(X, labels)
        assert list(clf.classes_) == names and clf.result_.classes == [str(n) for n in names]
        assert clf.formulas_ == reference.formulas_
        assert clf.coef_ == pytest.approx(reference.coef_, rel=1e-12)
        predicted = clf.predict(X)
        assert np.array_equal(predicted == names[0], reference.predict(X) == "rocksalt")
        assert clf.score(X, labels) == reference.score(X, y)


def test_classifier_three_classes(octet_classes):
    X, _, target = octet_classes
    low, high = np.quantile(target, [1 / 3, 2 / 3])
    y = np.where(target < low, "low", np.where(target < high, "mid", "high"))
    clf = FormulaClassifier().fit(X, y)
    assert list(clf.classes_) == ["high", "low", "mid"]
    assert clf.coef_.shape == (3, clf.dimension_) and clf.intercept_.shape == (3,)
    scores = clf.intercept_[:, None] + clf.coef_ @ numpy_formula_values(clf, X)  # one-vs-rest, classes x samples
    expected = clf.classes_[np.argmax(scores, axis=0)]
    assert np.array_equal(clf.predict(X), expected)
    assert clf.decision_function(X) == pytest.approx(scores.T, rel=1e-10, abs=1e-10)
    assert clf.score(X, y) == float(np.mean(expected == y)) == clf.model_.classification["accuracy"]
    assert clf.score(X, y) > 0.5  # far better than the 1/3 of a guess
    sigmoid = 1 / (1 + np.exp(-scores))
    assert clf.predict_proba(X) == pytest.approx((sigmoid / sigmoid.sum(axis=0)).T, rel=1e-9, abs=1e-12)
    assert np.array_equal(clf.classes_[np.argmax(clf.predict_proba(X), axis=1)], expected)


def test_classifier_clone_and_cross_val_score(octet_classes):
    X, y, _ = octet_classes
    clf = FormulaClassifier(max_dim=1, criterion="logistic", n_sis=20)
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == clf.get_params()
    folds = StratifiedKFold(4, shuffle=True, random_state=0)
    scores = cross_val_score(clf, X, y, cv=folds)
    manual = [FormulaClassifier(max_dim=1, criterion="logistic", n_sis=20).fit(X.iloc[train], y[train])
              .score(X.iloc[test], y[test]) for train, test in folds.split(X, y)]
    assert scores == pytest.approx(manual, rel=0, abs=0)
    assert np.all(scores > 0.5)
    fitted = clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clone(fitted).predict(X)
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(again.predict(X), fitted.predict(X))


def test_classifier_errors_are_clear(octet_classes):
    X, y, target = octet_classes
    with pytest.raises(ValueError, match="only one class"):
        FormulaClassifier().fit(X, np.full(len(y), "rocksalt"))
    lonely = y.copy()
    lonely[0] = "wurtzite"
    with pytest.raises(ValueError, match="'wurtzite' has 1 sample; each class needs at least 2"):
        FormulaClassifier().fit(X, lonely)
    with_nan = X.copy()
    with_nan.iloc[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FormulaClassifier().fit(with_nan, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        FormulaClassifier().fit(X, target)  # a continuous target is for FormulaRegressor
    for params, match in [({"criterion": "gini"}, "criterion"), ({"max_dim": 3}, "max_dim"),
                          ({"max_dim": 1, "dimension": 2}, "dimension"), ({"n_sis": 1}, "top_2d"),
                          ({"l2": 0.0}, "l2")]:
        with pytest.raises(ValueError, match=match):
            FormulaClassifier(**params).fit(X, y)


def test_classifier_without_a_usable_column_predicts_the_largest_class():
    X = np.ones((9, 2))
    y = np.array(["a"] * 3 + ["b"] * 6)
    with pytest.warns(UserWarning, match="every column is constant"):
        clf = FormulaClassifier().fit(X, y)
    assert clf.formulas_ == [] and clf.dimension_ == 0 and clf.coef_.shape == (1, 0)
    assert clf.intercept_ == pytest.approx([np.log(2.0)])
    assert list(clf.predict(np.zeros((3, 2)))) == ["b"] * 3
    assert clf.score(X, y) == pytest.approx(6 / 9)


def test_classifier_lazy_export():
    assert fs.FormulaClassifier is FormulaClassifier
