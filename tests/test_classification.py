"""Classification: the C++ scores against independent scipy / sklearn / brute-force
computations, the searches against brute force, thread-count independence, and
the route end to end (octet sign(dE), config, CLI, JSON, decision map)."""
from __future__ import annotations

import itertools
import json
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.spatial import ConvexHull, Delaunay, HalfspaceIntersection

import formulasearch as fs
from formulasearch import _core, load_result, plots, run
from formulasearch.validation import stratified_folds
from formulasearch.cli import main as cli_main
from formulasearch.config import Config
from formulasearch.data.datasets import octet
from formulasearch.errors import ConfigError, InputError
from formulasearch.data.primaries import build_primaries
from formulasearch.search.sisso import build_space

sklearn_lm = pytest.importorskip("sklearn.linear_model")


# --------------------------------------------------------------------------
# independent references


def standardised(values: np.ndarray) -> np.ndarray:
    values = np.atleast_2d(values)
    return (values - values.mean(axis=1, keepdims=True)) / values.std(axis=1, keepdims=True)


def overlap_members_1d(x: np.ndarray, labels: np.ndarray) -> set[int]:
    out = set()
    for c in np.unique(labels):
        lo, hi = x[labels == c].min(), x[labels == c].max()
        out |= {int(s) for s in np.flatnonzero((labels != c) & (x >= lo) & (x <= hi))}
    return out


def overlap_size_1d(x: np.ndarray, labels: np.ndarray) -> float:
    """Summed pairwise interval overlap / range; with none, minus the smallest gap / range."""
    bounds = [(x[labels == c].min(), x[labels == c].max()) for c in np.unique(labels)]
    ov = [min(a[1], b[1]) - max(a[0], b[0]) for a, b in itertools.combinations(bounds, 2)]
    span = x.max() - x.min()
    return sum(max(o, 0) for o in ov) / span if max(ov) >= 0 else max(ov) / span


def overlap_members_2d(z: np.ndarray, labels: np.ndarray) -> set[int]:
    """Samples inside another class's hull by scipy's Delaunay triangulation (z standardised, 2 x n)."""
    out = set()
    for c in np.unique(labels):
        tri = Delaunay(z[:, labels == c].T)
        others = np.flatnonzero(labels != c)
        out |= {int(s) for s in others[tri.find_simplex(z[:, others].T) >= 0]}
    return out


def hull_intersection_area(a: np.ndarray, b: np.ndarray) -> float:
    """Area of the intersection of two point sets' hulls by scipy's halfspace intersection."""
    halfspaces = np.vstack([ConvexHull(a).equations, ConvexHull(b).equations])
    norm = np.linalg.norm(halfspaces[:, :2], axis=1)
    # Chebyshev centre: the deepest interior point, found by a linear program.
    res = linprog([0, 0, -1], A_ub=np.column_stack([halfspaces[:, :2], norm]), b_ub=-halfspaces[:, 2],
                  bounds=[(None, None), (None, None), (0, None)])
    if res.status != 0 or res.x[2] <= 1e-12:
        return 0.0
    return ConvexHull(HalfspaceIntersection(halfspaces, res.x[:2]).intersections).volume


def random_classes(n: int, n_classes: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % n_classes
    x = rng.normal(size=(2, n)) + shift * np.vstack([np.cos(labels * 2.1), np.sin(labels * 2.1)])
    return np.ascontiguousarray(x * [[3.0], [0.2]] + [[5.0], [-1.0]]), labels.astype(np.int32)


# --------------------------------------------------------------------------
# the scores


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_classes", [2, 3])
def test_overlap_1d_matches_brute_force(seed, n_classes):
    x, labels = random_classes(30, n_classes, shift=1.5 + seed, seed=seed)
    count, size = _core.overlap_score(x[:1], labels)
    members = overlap_members_1d(x[0], labels)
    assert count == len(members)
    assert set(_core.overlap_members(x[:1], labels)) == members
    assert size == pytest.approx(overlap_size_1d(x[0], labels), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n_classes", [2, 3])
def test_overlap_2d_count_and_area_match_scipy(seed, n_classes):
    x, labels = random_classes(40, n_classes, shift=0.8 + 0.5 * seed, seed=seed)
    count, size = _core.overlap_score(x, labels)
    z = standardised(x)
    members = overlap_members_2d(z, labels)
    assert count == len(members)
    assert set(_core.overlap_members(x, labels)) == members
    area = sum(hull_intersection_area(z[:, labels == a].T, z[:, labels == b].T)
               for a, b in itertools.combinations(range(n_classes), 2))
    if area > 0:
        assert size == pytest.approx(area, rel=1e-9)
    else:
        assert size <= 0


def test_separated_classes_score_minus_the_hull_distance_twice_the_svm_margin():
    from sklearn.svm import SVC

    rng = np.random.default_rng(3)
    for _ in range(5):
        x, labels = random_classes(30, 2, shift=6.0, seed=int(rng.integers(1000)))
        count, size = _core.overlap_score(x, labels)
        assert count == 0 and size < 0
        svm = SVC(kernel="linear", C=1e10, tol=1e-10).fit(standardised(x).T, labels)
        assert -size == pytest.approx(2 / np.linalg.norm(svm.coef_), rel=1e-4)


def test_degenerate_domains_collinear_and_single_points():
    # Class 0 on a line, class 1 two points; one point of class 1 lies on class 0's segment.
    x = np.array([[0.0, 1.0, 2.0, 3.0, 1.5, 1.5], [0.0, 1.0, 2.0, 3.0, 1.5, 5.0]])
    labels = np.array([0, 0, 0, 0, 1, 1], dtype=np.int32)
    count, _ = _core.overlap_score(x, labels)
    assert count == 1 and _core.overlap_members(x, labels) == [4]


def test_logistic_matches_sklearn_binary_and_one_vs_rest():
    l2 = 1e-2
    for n_classes in (2, 3):
        x, labels = random_classes(60, n_classes, shift=1.5, seed=n_classes)
        fit = _core.fit_logistic(x, labels, l2=l2)
        assert fit.converged
        z, mean, std = standardised(x), x.mean(axis=1), x.std(axis=1)
        problems = [1] if n_classes == 2 else list(range(n_classes))
        losses = []
        for k, positive in enumerate(problems):
            t = (labels == positive).astype(int)
            ref = sklearn_lm.LogisticRegression(C=1 / (l2 * labels.size), tol=1e-12, max_iter=10000).fit(z.T, t)
            coef = ref.coef_[0] / std
            assert np.allclose(fit.coefficients[k], coef, rtol=1e-5, atol=1e-7)
            assert fit.intercept[k] == pytest.approx(ref.intercept_[0] - coef @ mean, rel=1e-5, abs=1e-7)
            p = ref.predict_proba(z.T)[:, 1]
            losses.append(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))
        assert fit.loss == pytest.approx(np.mean(losses), rel=1e-6)
        scores = np.array(fit.intercept)[:, None] + np.array(fit.coefficients) @ x
        pred = (scores[0] > 0).astype(int) if n_classes == 2 else scores.argmax(axis=0)
        assert fit.accuracy == pytest.approx(np.mean(pred == labels))


# --------------------------------------------------------------------------
# the searches


def test_pair_search_equals_brute_force():
    rng = np.random.default_rng(7)
    n, m = 36, 22
    labels = (np.arange(n) % 2).astype(np.int32)
    values = rng.normal(size=(m, n)) + 0.7 * rng.normal(size=(m, 1)) * labels
    values = np.ascontiguousarray(values)
    brute = []
    for i, j in itertools.combinations(range(m), 2):
        z = standardised(values[[i, j]])
        brute.append((len(overlap_members_2d(z, labels)), i, j))
    best = min(c for c, _, _ in brute)
    found = _core.search_class_pairs(values, labels, keep=len(brute))
    assert found.n_combinations == len(brute)
    assert int(found.count[0]) == best
    # Every pair's count equals scipy's; ranked by (count, size, pair).
    by_pair = {(i, j): c for c, i, j in brute}
    assert [by_pair[(int(a), int(b))] for a, b in found.members] == list(found.count)
    keys = list(zip(found.count, found.value, found.members[:, 0], found.members[:, 1]))
    assert keys == sorted(keys)
    # The pruned, threaded top-k equals the top of the full list.
    top = _core.search_class_pairs(values, labels, keep=5)
    assert np.array_equal(top.members, found.members[:5])
    # |r| limit: exactly the pairs below it are scored.
    r = np.corrcoef(values)
    limited = _core.search_class_pairs(values, labels, keep=len(brute), max_pair_corr=0.2)
    allowed = {(i, j) for _, i, j in brute if abs(r[i, j]) < 0.2}
    assert {(int(a), int(b)) for a, b in limited.members} == allowed
    # Logistic ranking: losses agree with a direct fit.
    logi = _core.search_class_pairs(values, labels, score="logistic", keep=3)
    for (a, b), loss in zip(logi.members, logi.value):
        assert loss == pytest.approx(_core.fit_logistic(values[[a, b]], labels).loss, rel=1e-9)


def _small_generator():
    prim = build_primaries(octet(), ["rs", "rp", "IP"])
    gen = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1, "paper")
    return gen, (prim.target >= 0).astype(np.int32)


def test_screening_keeps_the_best_single_formulas():
    gen, labels = _small_generator()
    scr = _core.screen_classes(gen, labels, keep=50, variance_filter=0.0, dedup="string")
    values = gen.evaluate(list(range(len(gen))))
    usable = [i for i in range(len(gen)) if gen.generated(i) and np.all(np.isfinite(values[i])) and values[i].std() > 0]
    keys = sorted((len(overlap_members_1d(values[i], labels)), overlap_size_1d(values[i], labels), i) for i in usable)
    for i, c, v in zip(scr.indices, scr.count, scr.value):
        assert c == len(overlap_members_1d(values[i], labels))
        assert v == pytest.approx(overlap_size_1d(values[i], labels), rel=1e-9, abs=1e-12)
    assert (int(scr.count[0]), scr.value[0]) == pytest.approx(keys[0][:2], rel=1e-9)


@pytest.mark.parametrize("score", ["overlap", "logistic", "accuracy"])
def test_results_do_not_depend_on_the_thread_count(score):
    gen, labels = _small_generator()
    before = _core.max_threads()
    out = []
    try:
        for threads in (1, 3):
            _core.set_threads(threads)
            scr = _core.screen_classes(gen, labels, score=score, keep=60)
            pairs = _core.search_class_pairs(gen.evaluate(scr.indices), labels, score=score, keep=8)
            found = [scr.indices.tolist(), scr.value.tolist(), pairs.members.tolist(), pairs.value.tolist()]
            if score != "overlap":
                triples = _core.search_class_triples(gen.evaluate(scr.indices[:20]), labels, score=score, keep=8)
                found += [triples.members.tolist(), triples.value.tolist()]
            out.append(found)
    finally:
        _core.set_threads(before)
    assert out[0] == out[1]


def test_progress_can_stop_the_searches_and_ctrl_c_keeps_what_was_found():
    gen, labels = _small_generator()
    calls = []
    scr = _core.screen_classes(gen, labels, keep=20, block=64,
                               progress=lambda *args: calls.append(args) is not None)
    assert scr.cancelled and scr.n_screened == 64 and calls == [("screening", 64, len(gen))]
    values = gen.evaluate(_core.screen_classes(gen, labels, keep=100).indices)
    pairs = _core.search_class_pairs(values, labels, keep=3, progress=lambda *a: False)
    assert pairs.cancelled and 0 < len(pairs.members) <= 3

    def ctrl_c(stage, done, total):
        if stage == "2D classification":
            raise KeyboardInterrupt

    prim = build_primaries(octet(), ["rs", "rp"])
    r = run({"search": {"task": "classification", "keep": 2}, "classification": {"top_2d": 200}},
            primaries=prim, progress=ctrl_c)
    assert r.interrupted and r.best(1) is not None and "interrupted" in r.summary()


def test_bad_input_is_a_one_line_error():
    x, labels = random_classes(10, 2, 1.0, 0)
    with pytest.raises(ValueError, match="at least two classes"):
        _core.fit_logistic(x, np.zeros(10, dtype=np.int32))
    with pytest.raises(ValueError, match="at least 2 samples"):
        _core.overlap_score(x, np.array([0] * 9 + [1], dtype=np.int32))
    with pytest.raises(ValueError, match="score must be"):
        _core.search_class_pairs(x, labels, score="margin")
    with pytest.raises(ConfigError, match="score"):
        Config.from_dict({"search": {"task": "classification"}, "classification": {"score": "margin"}})
    with pytest.raises(ConfigError, match="max_dim"):
        Config.from_dict({"search": {"task": "classification"}, "classification": {"max_dim": 3}})
    prim = build_primaries(octet(), ["rs", "rp"])
    one = replace(prim, target=np.where(np.arange(prim.n_samples) == 0, -1.0, 1.0))
    with pytest.raises(InputError, match="at least 2"):
        run({"search": {"task": "classification"}}, primaries=one)
    with pytest.raises(InputError, match="only one class"):
        run({"search": {"task": "classification"}}, primaries=replace(prim, target=np.ones(prim.n_samples)))


# --------------------------------------------------------------------------
# the route end to end

OCTET_CONFIG = {"search": {"task": "classification", "keep": 3},
                "classification": {"score": "overlap", "top_2d": 1000, "cv_folds": 10}}


@pytest.fixture(scope="module")
def octet_result():
    return run(OCTET_CONFIG)


def test_acceptance_octet_sign_of_dE_2d_overlap_at_most_one(octet_result):
    r = octet_result
    ds = octet()
    assert r.task == "classification" and r.classes == ["rocksalt", "zincblende"]
    assert r.class_labels == [int(v >= 0) for v in ds.compounds[ds.target]]  # dE >= 0: zincblende
    best = r.best(2)
    assert best is not None
    # Independently: the formula's values, scipy's hulls.
    prim = build_primaries(ds, None)
    values = best.values(r.variables, np.ascontiguousarray(prim.matrix[[prim.names.index(v) for v in r.variables]]))
    labels = np.array(r.class_labels)
    members = overlap_members_2d(standardised(values), labels)
    assert len(members) <= 1
    assert best.classification["overlap_count"] == len(members)
    # Its cross-validated accuracy, reported and equal to sklearn's on the same stratified folds.
    cv = best.classification["cv_accuracy"]
    assert 0.0 <= cv <= 1.0 and best.classification["cv_folds"] == 10
    folds = stratified_folds(labels, 10, 0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(labels.size))
    assert all(abs(np.mean(labels[f]) - 0.5) <= 0.1 for f in folds)  # stratified
    correct = 0
    for test in folds:
        train = np.setdiff1d(np.arange(labels.size), test)
        mu, sd = values[:, train].mean(axis=1, keepdims=True), values[:, train].std(axis=1, keepdims=True)
        clf = sklearn_lm.LogisticRegression(C=1 / (1e-3 * train.size), tol=1e-12, max_iter=100000)
        clf.fit(((values[:, train] - mu) / sd).T, labels[train])
        correct += int(np.sum(clf.predict(((values[:, test] - mu) / sd).T) == labels[test]))
    assert cv == pytest.approx(correct / labels.size)
    text = r.summary()
    assert "2D classifiers" in text and "CV10-acc" in text and best.formulas[0] in text


def test_table_and_json_round_trip(octet_result, tmp_path):
    table = octet_result.table()
    assert {"overlap_count", "overlap_size", "log_loss", "accuracy", "cv_accuracy", "formula_1", "coef_1"} <= set(table)
    assert list(table["dimension"]) == [m.dimension for m in octet_result.models]
    path = tmp_path / "r.json"
    octet_result.to_json(path)
    back = load_result(path)
    assert back.to_dict() == json.loads(path.read_text())
    assert back.task == "classification" and back.classes == octet_result.classes
    assert back.best(2).classification == octet_result.best(2).classification  # JSON keeps every double exactly
    assert back.summary().splitlines()[:8] == octet_result.summary().splitlines()[:8]


def test_decision_map_draws_the_classes_domains_and_separator(octet_result, tmp_path):
    fig = plots.decision_map(octet_result, path=tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 0
    ax = fig.axes[0]
    by_gid = {a.get_gid(): a for a in ax.get_children() if a.get_gid()}
    best = octet_result.best(2)
    prim = build_primaries(octet(), None)
    values = best.values(octet_result.variables, prim.matrix[[prim.names.index(v) for v in octet_result.variables]])
    labels = np.array(octet_result.class_labels)
    for k in (0, 1):
        assert np.allclose(by_gid[f"decision_map:class:{k}"].get_offsets(), values[:, labels == k].T)
        polygon = by_gid[f"decision_map:domain:{k}"].get_xy()
        hull = ConvexHull(values[:, labels == k].T)
        assert {tuple(np.round(p, 9)) for p in polygon} == {tuple(np.round(p, 9)) for p in hull.points[hull.vertices]}
    line = by_gid["decision_map:separator"]
    xs, ys = line.get_data()
    assert np.allclose(best.intercept + best.coefficients[0] * xs + best.coefficients[1] * ys, 0, atol=1e-8)
    assert "decision_map:regions" in by_gid
    assert ("decision_map:overlap" in by_gid) == (best.classification["overlap_count"] > 0)
    assert list(plots.figures(octet_result)) == list(plots.CLASSIFICATION_PLOTS)


def test_predict_gives_class_names_for_new_and_training_compounds(octet_result):
    ds = octet()
    table = fs.predict(octet_result, ds.compounds[["A", "B"]], dimension=2)
    expected = [octet_result.classes[k] for k in octet_result.class_labels]
    accuracy = octet_result.best(2).classification["accuracy"]
    assert np.mean(np.array(table["pred_2D"]) == np.array(expected)) == pytest.approx(accuracy)
    assert set(table["pred_2D"]) <= set(octet_result.classes)


def test_report_shows_the_classifier_tables(octet_result, tmp_path):
    from formulasearch.report import export

    export(octet_result, tmp_path / "report.md", figures=False)
    text = (tmp_path / "report.md").read_text()
    best = octet_result.best(2)
    assert "### 2D classifiers" in text and ("| rank | overlap | size | log-loss | accuracy | balanced acc. | threshold | "
                                             "confusion (rows: true) | CV accuracy |") in text
    assert f"| 1 | {best.classification['overlap_count']} | {best.classification['overlap_size']:.4f} |" in text
    assert "RMSE" not in text.split("## Models")[1]
    assert ("| search | classification: score = overlap, class_weight = none, classes = sign, max_dim = 2, "
            "top_2d = 1000") in text
    export(octet_result, tmp_path / "report.html")
    html_text = (tmp_path / "report.html").read_text()
    assert "2D classifiers" in html_text and 'id="fig-decision_map"' in html_text


def test_noisy_classes_mark_the_overlap_samples_and_logistic_ranks(tmp_path):
    prim = build_primaries(octet(), ["rs", "rp", "IP", "EA"])
    rng = np.random.default_rng(1)
    noisy = replace(prim, target=rng.choice([-1.0, 1.0], size=prim.n_samples))
    r = run({"search": {"task": "classification", "keep": 2},
             "classification": {"score": "logistic", "top_2d": 40}}, primaries=noisy)
    losses = [m.classification["log_loss"] for m in r.models if m.dimension == 2]
    assert losses == sorted(losses)
    best = r.best(2)
    assert best.classification["overlap_count"] > 0
    fig = plots.decision_map(r, primaries=noisy)
    ring = next(a for a in fig.axes[0].get_children() if a.get_gid() == "decision_map:overlap")
    values = best.values(r.variables, noisy.matrix[[noisy.names.index(v) for v in r.variables]])
    assert np.allclose(ring.get_offsets(), values[:, best.classification["overlap_samples"]].T)
    assert set(best.classification["overlap_samples"]) == overlap_members_2d(standardised(values),
                                                                            np.array(r.class_labels))


def test_config_file_and_cli_run(tmp_path, capsys):
    cfg = tmp_path / "classify.toml"
    cfg.write_text('[search]\ntask = "classification"\nkeep = 2\n\n'
                   '[classification]\nmax_dim = 1\nnames = ["RS", "ZB"]\ncv_folds = 5\n')
    out = tmp_path / "out.json"
    assert cli_main(["run", str(cfg), "-o", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "1D classifiers" in printed and "RS (41), ZB (41)" in printed
    r = load_result(out)
    assert r.classes == ["RS", "ZB"] and {m.dimension for m in r.models} == {1}
    assert all(m.classification["cv_folds"] == 5 for m in r.models)
    assert cli_main(["plot", str(out), "-o", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "decision_map.png").exists()


def test_sisso_space_classifies_and_its_best_1d_equals_brute_force():
    """The SISSO space is a candidate source like the paper generator: the best single feature by
    overlap count is the best of all features of the space, counted independently by numpy."""
    primaries = ["rs_A", "rs_B", "rp_A", "rp_B", "IP_A", "IP_B"]
    settings = {"features": {"generator": "sisso", "primaries": primaries, "ops": ["+", "-", "*", "/"], "rung": 1},
                "search": {"task": "classification", "keep": 2},
                "classification": {"max_dim": 2, "top_2d": 200, "cv_folds": 5}}
    r = run(settings)
    assert r.variables == primaries and r.task == "classification"
    ds = octet()
    prim = build_primaries(ds, None)
    matrix = np.ascontiguousarray(prim.matrix[[prim.names.index(v) for v in primaries]])
    labels = np.array(r.class_labels)
    space, _, _ = build_space(Config.load(settings), prim)  # the same space: same units rule
    values = space.evaluate(list(range(len(space))))
    peak = np.abs(values).max(axis=1)
    usable = np.all(np.isfinite(values), axis=1) & (peak <= 1e5) & (peak >= 1e-3) & (values.std(axis=1) > 0)
    counts = [len(overlap_members_1d(v, labels)) for v in values[usable]]
    best_1d = r.best(1)
    assert best_1d.classification["overlap_count"] == min(counts)
    own = best_1d.values(r.variables, matrix)[0]
    assert best_1d.classification["overlap_count"] == len(overlap_members_1d(own, labels))
    best_2d = r.best(2)
    pair = best_2d.values(r.variables, matrix)
    assert best_2d.classification["overlap_count"] == len(overlap_members_2d(standardised(pair), labels))
    assert best_2d.classification["overlap_count"] <= best_1d.classification["overlap_count"]


@pytest.mark.parametrize("plot", ["parity", "descriptor_map", "error_vs_dimension", "residuals"])
def test_least_squares_plots_refuse_a_classification_result_in_one_line(octet_result, plot):
    with pytest.raises(InputError, match="decision_map") as err:
        getattr(plots, plot)(octet_result)
    assert "\n" not in str(err.value)
