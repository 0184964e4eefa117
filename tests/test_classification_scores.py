"""Classification that holds up on overlapping data (issue 14): the accuracy score (threshold
sweep, SVM-normal separator) against brute-force numpy sweeps and scikit-learn's LinearSVC,
class weights against scikit-learn, the pruned logistic search against the full one, triples,
planted boundaries recovered through the whole route, and what each classifier reports
(confusion matrix, threshold) in the summary and the report."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import formulasearch as fs
from formulasearch import _core, run
from formulasearch.config import Config
from formulasearch.data.datasets import octet
from formulasearch.data.primaries import build_primaries
from formulasearch.errors import ConfigError, InputError
from formulasearch.validation import cv_accuracy, stratified_folds

sklearn_svm = pytest.importorskip("sklearn.svm")
sklearn_lm = pytest.importorskip("sklearn.linear_model")


# --------------------------------------------------------------------------
# independent references


def class_weights(labels: np.ndarray, balanced: bool) -> np.ndarray:
    sizes = np.bincount(labels)
    return labels.size / (sizes.size * sizes) if balanced else np.ones(sizes.size)


def brute_stump(x: np.ndarray, positive: np.ndarray, labels: np.ndarray, balanced: bool):
    """The best threshold of one binary problem by trying every midpoint between distinct values, both
    directions: (error, -margin, tie2) lowest, then the lowest threshold, positive-above first."""
    w = class_weights(labels, balanced)[labels]
    std = x.std()
    values = np.unique(x)
    best = None
    for lo, hi in zip(values[:-1], values[1:]):
        t = lo + 0.5 * (hi - lo)
        for above in (True, False):
            pred = (x > t) if above else (x <= t)
            wrong = pred != positive
            error = np.sum(w[wrong]) / np.sum(w)
            balanced_error = 0.5 * (np.mean(wrong[positive]) + np.mean(wrong[~positive]))
            tie2 = np.mean(wrong) if balanced else balanced_error
            key = (error, -0.5 * (hi - lo) / std, tie2)
            if best is None or better(key, best[0]):
                best = (key, t, above)
    return best


def better(key: tuple, than: tuple) -> bool:
    """Lexicographically lower, fields equal within rounding (margins: 1e-9 relative, as the core)."""
    tol = [1e-12, 1e-9 * abs(than[1]), 1e-12]
    for i, (a, b) in enumerate(zip(key, than)):
        if a < b - tol[i]:
            return True
        if a > b + tol[i]:
            return False
    return False


def brute_accuracy_1d(x: np.ndarray, labels: np.ndarray, balanced: bool = False) -> tuple[float, float]:
    """Training accuracy and balanced accuracy of the one-vs-rest stumps (two classes: one stump),
    each sample going to the class whose stump puts it farthest on its side."""
    n_classes = int(labels.max()) + 1
    problems = [1] if n_classes == 2 else list(range(n_classes))
    scores = []
    for k in problems:
        _, t, above = brute_stump(x, labels == k, labels, balanced)
        scores.append((x - t) if above else (t - x))
    scores = np.array(scores)
    pred = (scores[0] > 0).astype(int) if n_classes == 2 else scores.argmax(axis=0)
    per_class = [np.mean(pred[labels == k] == k) for k in range(n_classes)]
    return float(np.mean(pred == labels)), float(np.mean(per_class))


def noisy_classes(n: int, n_classes: int, seed: int, ties: bool = False, minority: float | None = None):
    rng = np.random.default_rng(seed)
    if minority is None:
        labels = rng.integers(0, n_classes, size=n)
    else:
        labels = (rng.random(n) < minority).astype(int)
    labels[:n_classes] = np.arange(n_classes)  # every class present
    x = rng.normal(size=(2, n)) + 0.9 * np.vstack([labels, (labels == 1) * 1.0 - (labels == 2)])
    if ties:
        x = np.round(x * 3) / 3
    return np.ascontiguousarray(x * [[2.0], [0.5]] + [[1.0], [-3.0]]), labels.astype(np.int32)


# --------------------------------------------------------------------------
# the accuracy score's separators


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("balanced", [False, True])
def test_stump_accuracy_equals_a_brute_force_threshold_sweep(seed, n_classes, balanced):
    # Tied values (two classes: with three, a sample can tie between two classes' scores, which rounding breaks).
    x, labels = noisy_classes(60 + 7 * seed, n_classes, seed, ties=n_classes == 2 and seed % 2 == 0,
                              minority=0.25 if n_classes == 2 and seed > 2 else None)
    fit = _core.fit_accuracy_separator(x[:1], labels, class_weight="balanced" if balanced else "none")
    accuracy, balanced_accuracy = brute_accuracy_1d(x[0], labels, balanced)
    assert fit.accuracy == pytest.approx(accuracy, abs=1e-12)
    assert fit.balanced_accuracy == pytest.approx(balanced_accuracy, abs=1e-12)
    assert np.mean(fit.predict(x[:1]) == labels) == pytest.approx(accuracy, abs=1e-12)
    if n_classes == 2:
        key, t, above = brute_stump(x[0], labels == 1, labels, balanced)
        assert fit.key == pytest.approx(key, abs=1e-12)  # error, minus the margin, tie2
        assert -fit.intercept[0] / fit.coefficients[0, 0] == pytest.approx(t, rel=1e-12)
        assert (fit.coefficients[0, 0] > 0) == above
        assert fit.margin == pytest.approx(-key[1], rel=1e-12)


def test_screening_by_accuracy_ranks_every_formula_as_the_brute_force_sweep():
    prim = build_primaries(octet(), ["rs", "rp", "IP"])
    gen = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1, "paper")
    labels = (prim.target >= 0).astype(np.int32)
    scr = _core.screen_classes(gen, labels, score="accuracy", keep=40, variance_filter=0.0, dedup="string")
    values = gen.evaluate(scr.indices)
    for row, error, tie in zip(values, scr.value, scr.tie):
        key, _, _ = brute_stump(row, labels == 1, labels, False)
        assert (error, tie) == pytest.approx(key[:2], abs=1e-12)
    keys = list(zip(scr.value, scr.tie, scr.tie2))
    assert keys == sorted(keys)
    # Nothing outside the kept list is better: every generated formula, swept by numpy.
    everything = gen.evaluate(list(range(len(gen))))
    usable = [r for i, r in enumerate(everything)
              if gen.generated(i) and np.all(np.isfinite(r)) and r.std() > 0 and abs(r.std() / r.mean()) >= 0.0]
    best = min(brute_stump(r, labels == 1, labels, False)[0][0] for r in usable)
    assert scr.value[0] == pytest.approx(best, abs=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("class_weight", ["none", "balanced"])
def test_svm_agrees_with_scikit_learn_linear_svc(n_classes, class_weight):
    for seed in range(3):
        x, labels = noisy_classes(80, n_classes, 10 + seed, minority=0.3 if n_classes == 2 else None)
        for c in (0.1, 1.0):
            fit = _core.fit_linear_svm(x, labels, c=c, class_weight=class_weight)
            # Each sample weighs its class weight in every one-vs-rest problem: scikit-learn's sample_weight
            # (its class_weight weighs only the positive class of each problem beyond two classes).
            ref = sklearn_svm.LinearSVC(C=c, loss="squared_hinge", dual=False, tol=1e-12, max_iter=100000,
                                        intercept_scaling=1.0).fit(
                x.T, labels, sample_weight=class_weights(labels, class_weight == "balanced")[labels])
            assert fit.converged
            assert np.allclose(fit.coefficients, ref.coef_, rtol=1e-5, atol=1e-6)
            assert np.allclose(fit.intercept, ref.intercept_, rtol=1e-5, atol=1e-6)


def test_two_formula_separator_finds_a_planted_line_and_is_no_worse_than_either_formula():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 200))
    d = 0.8 * x[0] - 0.6 * x[1] + 0.1
    keep = np.abs(d) > 0.05  # a gap around the line
    x, labels = np.ascontiguousarray(x[:, keep] * [[3.0], [0.2]]), (d[keep] > 0).astype(np.int32)
    fit = _core.fit_accuracy_separator(x, labels)
    assert fit.accuracy == 1.0 and fit.margin > 0
    # The separator's normal is the planted one (in the standardised units of each formula).
    normal = fit.coefficients[0] * x.std(axis=1)
    planted = np.array([0.8, -0.6]) * x.std(axis=1) / [3.0, 0.2]
    cos = normal @ planted / np.linalg.norm(normal) / np.linalg.norm(planted)
    assert cos > 0.99
    # Overlapping classes: never below the better single formula's stump.
    for seed in range(5):
        y, lab = noisy_classes(90, 2, seed)
        pair = _core.fit_accuracy_separator(y, lab).accuracy
        singles = [_core.fit_accuracy_separator(y[[j]], lab).accuracy for j in (0, 1)]
        assert pair >= max(singles) - 1e-12


# --------------------------------------------------------------------------
# class weights


def test_balanced_logistic_agrees_with_scikit_learn():
    l2 = 1e-2
    for n_classes in (2, 3):
        x, labels = noisy_classes(90, n_classes, 3, minority=0.2 if n_classes == 2 else None)
        fit = _core.fit_logistic(x, labels, l2=l2, class_weight="balanced")
        z, mean, std = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True), x.mean(axis=1), x.std(axis=1)
        problems = [1] if n_classes == 2 else list(range(n_classes))
        w = class_weights(labels, True)[labels]
        for k, positive in enumerate(problems):
            t = (labels == positive).astype(int)
            ref = sklearn_lm.LogisticRegression(C=1 / (l2 * labels.size), tol=1e-12, max_iter=10000).fit(
                z.T, t, sample_weight=w)
            coef = ref.coef_[0] / std
            assert np.allclose(fit.coefficients[k], coef, rtol=1e-5, atol=1e-7)
            assert fit.intercept[k] == pytest.approx(ref.intercept_[0] - coef @ mean, rel=1e-5, abs=1e-7)


def test_balanced_weights_favour_the_minority_class():
    x, labels = noisy_classes(300, 2, 5, minority=0.12)
    plain = _core.fit_accuracy_separator(x[:1], labels)
    balanced = _core.fit_accuracy_separator(x[:1], labels, class_weight="balanced")
    assert balanced.balanced_accuracy >= plain.balanced_accuracy
    assert plain.accuracy >= balanced.accuracy
    assert balanced.key[0] == pytest.approx(1 - balanced.balanced_accuracy, abs=1e-12)


# --------------------------------------------------------------------------
# the searches: fast logistic = full logistic; triples; accuracy pairs


def test_pruned_logistic_search_returns_the_same_models_as_fitting_every_set():
    rng = np.random.default_rng(11)
    n, m = 150, 45
    labels = (rng.random(n) < 0.45).astype(np.int32)
    values = np.ascontiguousarray(rng.normal(size=(m, n)) + 0.5 * rng.normal(size=(m, 1)) * labels)
    for weight in ("none", "balanced"):
        for kernel in (_core.search_class_pairs, _core.search_class_triples):
            fast = kernel(values, labels, score="logistic", keep=10, class_weight=weight)
            slow = kernel(values, labels, score="logistic", keep=10, class_weight=weight, prune=False)
            assert slow.n_fitted == slow.n_scored and fast.n_fitted < fast.n_scored
            assert np.array_equal(fast.members, slow.members)
            assert np.array_equal(fast.value, slow.value)
            for members, loss in zip(fast.members[:3], fast.value[:3]):  # and the losses are the direct fits'
                assert loss == pytest.approx(
                    _core.fit_logistic(values[members], labels, class_weight=weight).loss, rel=1e-10)
    prim = build_primaries(octet(), ["rs", "rp", "IP"])
    gen = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1, "paper")
    octet_labels = (prim.target >= 0).astype(np.int32)
    fast = _core.screen_classes(gen, octet_labels, score="logistic", keep=30, block=256)
    slow = _core.screen_classes(gen, octet_labels, score="logistic", keep=30, block=256, prune=False)
    assert np.array_equal(fast.indices, slow.indices) and np.array_equal(fast.value, slow.value)


@pytest.mark.parametrize("score", ["logistic", "accuracy"])
def test_triple_search_equals_brute_force(score):
    x, labels = noisy_classes(50, 2, 21)
    rng = np.random.default_rng(2)
    values = np.ascontiguousarray(np.vstack([x, rng.normal(size=(6, 50)) + 0.4 * labels]))
    m = values.shape[0]
    brute = []
    for triple in itertools.combinations(range(m), 3):
        if score == "accuracy":
            key = _core.fit_accuracy_separator(values[list(triple)], labels).key
        else:
            key = (_core.fit_logistic(values[list(triple)], labels).loss,)
        brute.append((key, triple))
    brute.sort()
    found = _core.search_class_triples(values, labels, score=score, keep=8)
    assert found.dim == 3 and found.n_combinations == len(brute) and found.members.shape == (8, 3)
    for (key, triple), members, value in zip(brute, found.members.tolist(), found.value):
        assert value == pytest.approx(key[0], abs=1e-10)
        if score == "accuracy":
            assert tuple(members) == triple
    with pytest.raises(ValueError, match="triples need"):
        _core.search_class_triples(values, labels, score="overlap")


def test_accuracy_pair_search_keys_are_the_separator_fits():
    x, labels = noisy_classes(70, 3, 8)
    rng = np.random.default_rng(3)
    values = np.ascontiguousarray(np.vstack([x, rng.normal(size=(5, 70)) + 0.3 * labels]))
    found = _core.search_class_pairs(values, labels, score="accuracy", keep=21)
    keys = [tuple(_core.fit_accuracy_separator(values[[a, b]], labels).key) for a, b in found.members]
    assert keys == [tuple(k) for k in zip(found.value, found.tie, found.tie2)]
    assert keys == sorted(keys)


# --------------------------------------------------------------------------
# planted boundaries through the whole route (FormulaClassifier = [search] task = "classification")


def planted_table(n: int, noise: float, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(0.5, 2.0, size=(n, 4)), columns=["a", "b", "c", "d"])
    f = X["a"] * X["b"] / X["c"]
    labels = (f > np.median(f)).to_numpy().astype(int)
    flip = rng.random(n) < noise
    labels[flip] = 1 - labels[flip]
    return X, labels, f.to_numpy()


def monotone_in(g: np.ndarray, f: np.ndarray) -> bool:
    """g orders the samples as f does (or in reverse): the same thresholds separate them."""
    order = np.argsort(g, kind="stable")
    steps = np.diff(f[order])
    return bool(np.all(steps >= -1e-12) or np.all(steps <= 1e-12))


@pytest.mark.parametrize("noise", [0.05, 0.1])
def test_accuracy_score_recovers_a_planted_1d_boundary_in_overlapping_classes(noise):
    X, labels, f = planted_table(300, noise, seed=int(noise * 100))
    clf = fs.FormulaClassifier(criterion="accuracy", max_dim=1, rung=2, ops=["*", "/"], n_sis=20).fit(X, labels)
    g = clf.transform_formulas(X)[:, 0]
    assert monotone_in(g, f), clf.formulas_
    c = clf.model_.classification
    assert c["separator"] == "accuracy" and c["accuracy"] >= 1 - noise - 0.05
    assert np.array(c["confusion"]).sum() == labels.size
    assert np.trace(np.array(c["confusion"])) == round(c["accuracy"] * labels.size)
    assert clf.score(X, labels) == pytest.approx(c["accuracy"])
    # The decision threshold is where the prediction changes along the formula.
    t, above = c["threshold"], c["above"]
    assert np.all(clf.predict(X)[g > t] == int(above)) and np.all(clf.predict(X)[g < t] != int(above))


def test_accuracy_score_recovers_a_planted_2d_linear_boundary():
    rng = np.random.default_rng(9)
    X = pd.DataFrame(rng.uniform(0.5, 2.0, size=(400, 4)), columns=["a", "b", "c", "d"])
    f1, f2 = (X["a"] * X["b"]).to_numpy(), (X["c"] / X["d"]).to_numpy()
    d = (f1 - f1.mean()) / f1.std() - (f2 - f2.mean()) / f2.std()
    labels = (d > 0).astype(int)
    flip = rng.random(labels.size) < 0.03
    labels[flip] = 1 - labels[flip]
    clf = fs.FormulaClassifier(criterion="accuracy", max_dim=2, rung=1, ops=["*", "/"], n_sis=30).fit(X, labels)
    values = clf.transform_formulas(X).T
    r = np.abs(np.corrcoef(np.vstack([values, f1, f2]))[:2, 2:])
    assert (r[0, 0] > 0.9999 and r[1, 1] > 0.9999) or (r[0, 1] > 0.9999 and r[1, 0] > 0.9999), clf.formulas_
    assert clf.model_.classification["accuracy"] >= 0.95


def test_three_formula_classifiers_and_what_they_report():
    prim = build_primaries(octet(), ["rs", "rp"])
    for score in ("accuracy", "logistic"):
        r = run({"search": {"task": "classification", "keep": 2},
                 "classification": {"score": score, "max_dim": 3, "top_2d": 30, "top_3d": 12, "cv_folds": 5}},
                primaries=prim)
        best = r.best(3)
        assert best is not None and best.dimension == 3 and "overlap_count" not in best.classification
        assert best.classification["separator"] == ("accuracy" if score == "accuracy" else "logistic")
        assert 0 <= best.classification["cv_accuracy"] <= 1
        text = r.summary()
        assert "3D classifiers" in text and "confusion matrix" in text
        fig = fs.plots.decision_map(r, primaries=prim)  # draws the best 2D classifier
        assert "2D" in fig.axes[0].get_title()


# --------------------------------------------------------------------------
# the octet, reports, CV, settings


@pytest.fixture(scope="module")
def octet_accuracy():
    return run({"search": {"task": "classification", "keep": 3},
                "classification": {"score": "accuracy", "top_2d": 500, "cv_folds": 10}})


def test_octet_accuracy_score_separates_the_classes(octet_accuracy):
    r = octet_accuracy
    labels = np.array(r.class_labels)
    prim = build_primaries(octet(), None)
    matrix = np.ascontiguousarray(prim.matrix[[prim.names.index(v) for v in r.variables]])
    for d in (1, 2):
        best = r.best(d)
        c = best.classification
        values = best.values(r.variables, matrix)
        assert c["accuracy"] == pytest.approx(brute_accuracy_1d(values[0], labels)[0] if d == 1 else c["accuracy"])
        predicted = (best.intercept + np.asarray(best.coefficients) @ values > 0).astype(int)
        assert np.mean(predicted == labels) == pytest.approx(c["accuracy"])
        assert c["confusion"] == [[int(np.sum((labels == a) & (predicted == b))) for b in (0, 1)] for a in (0, 1)]
    assert r.best(2).classification["accuracy"] == 1.0
    # CV accuracy: the accuracy separator refit on each fold's training part.
    best = r.best(2)
    folds = stratified_folds(labels, 10, 0)
    values = best.values(r.variables, matrix)
    assert best.classification["cv_accuracy"] == pytest.approx(cv_accuracy(values, labels, folds, 1e-3, "accuracy"))
    manual = sum(int(np.sum(np.asarray(_core.fit_accuracy_separator(
        np.ascontiguousarray(values[:, np.setdiff1d(np.arange(labels.size), f)]),
        labels[np.setdiff1d(np.arange(labels.size), f)]).predict(np.ascontiguousarray(values[:, f]))) == labels[f]))
        for f in folds) / labels.size
    assert best.classification["cv_accuracy"] == pytest.approx(manual)


def test_summary_and_report_show_the_confusion_matrix_and_threshold(octet_accuracy, tmp_path):
    from formulasearch.report import export

    text = octet_accuracy.summary()
    assert "ranked by training accuracy" in text and "bal-acc" in text
    assert "predicts" in text and "(predicted)" in text and "separator: the accuracy separator" in text
    export(octet_accuracy, tmp_path / "report.md", figures=False)
    report = (tmp_path / "report.md").read_text()
    assert "| rank | overlap | size | log-loss | accuracy | balanced acc. | threshold | confusion (rows: true) |" in report
    assert "41 0 / 0 41" in report
    table = octet_accuracy.table()
    assert {"balanced_accuracy", "threshold", "separator"} <= set(table.columns)


def test_settings_that_do_not_apply_are_refused():
    base = {"search": {"task": "classification"}}
    with pytest.raises(ConfigError, match="top_3d"):
        Config.from_dict({**base, "classification": {"top_3d": 50}})
    with pytest.raises(ConfigError, match="top_2d"):
        Config.from_dict({**base, "classification": {"max_dim": 1, "top_2d": 50}})
    with pytest.raises(ConfigError, match="max_dim = 3 needs"):
        Config.from_dict({**base, "classification": {"max_dim": 3, "score": "overlap"}})
    with pytest.raises(ConfigError, match="class_weight"):
        Config.from_dict({**base, "classification": {"class_weight": "auto"}})
    with pytest.raises(ConfigError, match="class_weight"):
        Config.from_dict({"classification": {"class_weight": "balanced"}})  # regression
    cfg = Config.from_dict({**base, "classification": {"score": "accuracy", "class_weight": "balanced", "max_dim": 3,
                                                       "top_3d": 50}})
    assert cfg.classification.top_3d == 50
    with pytest.raises(ValueError, match="class_weight"):
        fs.FormulaClassifier(class_weight="auto").fit(np.random.default_rng(0).normal(size=(20, 2)), [0, 1] * 10)
    with pytest.raises(ValueError, match="criterion"):
        fs.FormulaClassifier(criterion="margin").fit(np.random.default_rng(0).normal(size=(20, 2)), [0, 1] * 10)


def test_class_weight_table_names_classes_and_reaches_every_fit():
    prim = build_primaries(octet(), ["rs", "rp"])
    base = {"search": {"task": "classification", "keep": 2}}
    heavy = run({**base, "classification": {"score": "accuracy", "max_dim": 1, "cv_folds": 5,
                                            "class_weight": {"zincblende": 3.0}}}, primaries=prim)
    c = heavy.best(1).classification
    assert c["class_weight"] == [1.0, 3.0]
    labels = np.array(heavy.class_labels)
    values = heavy.best(1).values(heavy.variables, np.ascontiguousarray(prim.rows(heavy.variables)))
    direct = _core.fit_accuracy_separator(values, labels.astype(np.int32), class_weight=[1.0, 3.0])
    assert c["accuracy"] == pytest.approx(direct.accuracy) and heavy.best(1).intercept == pytest.approx(direct.intercept[0])
    folds = stratified_folds(labels, 5, 0)
    assert c["cv_accuracy"] == pytest.approx(cv_accuracy(values, labels, folds, 1e-3, "accuracy", [1.0, 3.0]))
    with pytest.raises(InputError, match="not a class"):
        run({**base, "classification": {"class_weight": {"wurtzite": 2.0}}}, primaries=prim)
    with pytest.raises(ConfigError, match="positive"):
        Config.from_dict({**base, "classification": {"class_weight": {"rocksalt": -1.0}}})
