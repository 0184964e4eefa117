"""Multi-task SISSO (Ouyang et al. 2019): one descriptor shared by several tasks, coefficients per task.

The kernels (_core.screen with tasks, _core.search_multitask) against numpy brute force of the
multi-task objective; the whole run on a planted shared descriptor, on a two-task SISSO train.dat,
and what follows from it (JSON, predict, FormulaRegressor, validation)."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import formulasearch as fs
from formulasearch import ConfigError, InputError, _core

DATA = Path(__file__).parent / "data"


@pytest.fixture
def restore_threads():
    before = _core.max_threads()
    yield
    _core.set_threads(before)


def task_sse(X, y, tasks, members):
    """Total SSE of per-task lstsq fits with intercept (numpy): the multi-task objective."""
    sse = 0.0
    for t in np.unique(tasks):
        rows = tasks == t
        A = np.column_stack([np.ones(rows.sum())] + [X[i, rows] for i in members])
        coef, *_ = np.linalg.lstsq(A, y[rows], rcond=None)
        sse += float(np.sum((y[rows] - A @ coef) ** 2))
    return sse


def brute_force(X, y, tasks, d):
    """Every d-subset by its total SSE, best first (members ascending on ties)."""
    scored = [(task_sse(X, y, tasks, c), c) for c in itertools.combinations(range(X.shape[0]), d)]
    return sorted(scored, key=lambda e: (e[0], e[1]))


def random_case(seed, m=11, sizes=(9, 12, 7)):
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    tasks = rng.permutation(np.repeat(np.arange(len(sizes)), sizes)).astype(np.int32)  # interleaved
    X = rng.standard_normal((m, n))
    y = rng.standard_normal(n) + 2.0 * tasks
    return X, y, tasks


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_search_equals_numpy_brute_force(seed, d, restore_threads):
    X, y, tasks = random_case(seed)
    expect = brute_force(X, y, tasks, d)
    sst = sum(float(np.sum((y[tasks == t] - y[tasks == t].mean()) ** 2)) for t in np.unique(tasks))
    the_set = _core.MultiTaskSet(X, y, tasks)
    keep = len(expect)
    results = []
    for n_threads in (1, 2):
        _core.set_threads(n_threads)
        results.append(_core.search_multitask(the_set, d, keep=keep, max_pair_corr=1.0))
    found = results[0]
    assert [tuple(int(i) for i in row) for row in found.members] == [c for _, c in expect]
    np.testing.assert_allclose(1.0 - np.asarray(found.r2), [s / sst for s, _ in expect], rtol=1e-9, atol=1e-12)
    # identical for any thread count
    assert np.array_equal(results[1].members, found.members) and np.array_equal(results[1].r2, found.r2)
    assert found.n_combinations == len(expect)


def test_pair_limit_and_constant_in_a_task():
    """The |r| limit holds over every task; a candidate constant over one task is never chosen."""
    X, y, tasks = random_case(4)
    X[5, tasks == 1] = 0.25  # constant over task 1
    rows0 = tasks == 0
    X[7] = X[3] + 0.05 * np.random.default_rng(0).standard_normal(X.shape[1])  # near-copy of 3 everywhere
    limit = 0.95
    found = _core.search_multitask(_core.MultiTaskSet(X, y, tasks), 2, keep=1000, max_pair_corr=limit)
    members = {tuple(int(i) for i in row) for row in found.members}

    def allowed(c):
        if 5 in c:
            return False
        return all(abs(np.corrcoef(X[c[0], tasks == t], X[c[1], tasks == t])[0, 1]) < limit for t in np.unique(tasks))

    assert members == {c for c in itertools.combinations(range(X.shape[0]), 2) if allowed(c)}
    assert rows0.any()


def test_screening_score_is_mean_of_per_task_r2():
    X, y, tasks = random_case(7)
    names = [f"x{i}" for i in range(X.shape[0])]
    space = _core.SissoSpace(X, names, np.zeros((X.shape[0], 8), dtype=np.int32), [], 0, False)
    scr = _core.screen(space, y, keep=X.shape[0], variance_filter=0.0, min_abs=0.0, tasks=tasks)

    def score(x):
        return np.mean([np.corrcoef(x[tasks == t], y[tasks == t])[0, 1] ** 2 for t in np.unique(tasks)])

    expect = sorted(range(X.shape[0]), key=lambda i: (-score(X[i]), i))
    assert [int(i) for i in scr.indices] == expect
    np.testing.assert_allclose(scr.score, [score(X[i]) for i in expect], rtol=1e-12)


def test_bad_tasks_are_refused():
    X, y, tasks = random_case(1)
    with pytest.raises(ValueError, match="at least 2"):
        _core.MultiTaskSet(X, y, np.r_[tasks[:-1], 9].astype(np.int32))
    with pytest.raises(ValueError, match="do not match"):
        _core.MultiTaskSet(X, y, tasks[:-1])


# ----------------------------------------------------------------------------------------------------------
# the whole run

PLANTED = {"A": (1.0, 2.0, -1.0), "B": (-3.0, -0.5, 2.5), "C": (5.0, 1.2, 0.7)}


def planted_frame(seed=3, sizes=(30, 25, 35), noise=0.01):
    """Samples of three tasks sharing the descriptor (x1*x2, x3/x4), each task with its own coefficients."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = sum(sizes)
    task = np.repeat(list(PLANTED), sizes)
    X = rng.uniform(1, 3, size=(5, n))
    y = np.array([PLANTED[t][0] + PLANTED[t][1] * X[0, i] * X[1, i] + PLANTED[t][2] * X[2, i] / X[3, i]
                  for i, t in enumerate(task)]) + noise * rng.standard_normal(n)
    return pd.DataFrame({"name": [f"s{i}" for i in range(n)], "group": task, "y": y,
                         **{f"x{i + 1}": X[i] for i in range(5)}})


def planted_config(path, **search):
    return {"data": {"table": str(path), "target": "y", "task_column": "group"},
            "features": {"generator": "sisso", "rung": 1, "ops": ["*", "/"]},
            "search": {"max_dim": 2, "n_sis": 15, **search},
            "validation": {"method": "kfold", "k": 5, "outer_folds": 3}}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    path = tmp_path_factory.mktemp("mt") / "planted.csv"
    frame = planted_frame()
    frame.to_csv(path, index=False)
    return frame, path, fs.run(planted_config(path))


def per_task_fit(values, y, tasks):
    """numpy lstsq per task: (intercepts, coefficients)."""
    out_b, out_c = [], []
    for t in range(int(tasks.max()) + 1):
        rows = tasks == t
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(rows.sum()), values[:, rows].T]), y[rows], rcond=None)
        out_b.append(coef[0])
        out_c.append(coef[1:])
    return np.array(out_b), np.array(out_c)


def test_planted_shared_descriptor_is_found(planted):
    frame, _, result = planted
    best = result.best(2)
    assert sorted(best.formulas) == ["x1*x2", "x3/x4"]
    assert result.tasks == ["A", "B", "C"] and result.task_labels == [0] * 30 + [1] * 25 + [2] * 35
    # its per-task coefficients: numpy's lstsq of each task on the formulas' values, and near the planted ones
    values = np.vstack([frame.x1 * frame.x2, frame.x3 / frame.x4])[[best.formulas.index("x1*x2"),
                                                                     best.formulas.index("x3/x4")]]
    tasks = np.asarray(result.task_labels)
    b, c = per_task_fit(values, frame.y.to_numpy(), tasks)
    np.testing.assert_allclose(best.task_intercepts, b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(best.task_coefficients, c, rtol=1e-8, atol=1e-10)
    order = [best.formulas.index("x1*x2"), best.formulas.index("x3/x4")]
    for k, name in enumerate(result.tasks):
        np.testing.assert_allclose(np.asarray(best.task_coefficients[k])[order], PLANTED[name][1:], atol=0.02)
    assert best.rmse < 0.02
    nested = result.validation["nested"]
    assert nested["mode"] == "refit" and "multi-task" in nested["mode_reason"]
    assert nested["dimensions"]["2D"]["most_selected"][0][1] == 3
    assert best.cv_rmse is not None and best.cv_rmse < 0.03


def test_results_json_and_predict(planted, tmp_path):
    frame, path, result = planted
    saved = tmp_path / "mt.json"
    result.to_json(saved)
    loaded = fs.load_result(saved)
    best = loaded.best(2)
    assert best.task_coefficients == result.best(2).task_coefficients and loaded.tasks == result.tasks
    new = planted_frame(seed=9, sizes=(3, 2, 4))
    pred = fs.predict(saved, new, dimension=2)
    values = best.values(loaded.variables, np.vstack([new[f"x{i}"] for i in range(1, 6)]))
    codes = np.array([loaded.tasks.index(t) for t in new.group])
    expect = np.asarray(best.task_intercepts)[codes] + np.sum(np.asarray(best.task_coefficients)[codes] * values.T,
                                                              axis=1)
    np.testing.assert_allclose(pred["pred_2D"], expect, rtol=1e-12)
    np.testing.assert_allclose(pred["pred_2D"], new.y, atol=0.1)
    # tasks given by name instead of the column
    by_name = fs.predict(saved, new.drop(columns=["group"]), dimension=2, tasks=list(new.group))
    np.testing.assert_allclose(by_name["pred_2D"], pred["pred_2D"])
    with pytest.raises(InputError, match="need the task of each sample"):
        fs.predict(saved, new.drop(columns=["group"]))
    with pytest.raises(InputError, match="task 'D' is not one"):
        fs.predict(saved, new.drop(columns=["group"]), tasks="D")
    # the training predictions (plots): each sample with its task's coefficients
    fitted = fs.prediction.fitted(result, result.models.index(result.best(2)))
    np.testing.assert_allclose(fitted, frame.y, atol=0.05)
    assert "multi-task: 3 tasks" in result.summary() and "B: y = " in result.summary()


def test_cli_predict_with_one_task_for_all(planted, tmp_path):
    """`formulasearch predict --task B`: every sample of a table without the task column predicted with task
    B's coefficients, as numpy computes them; a task the models do not know, or none at all, is a one-line
    error (exit 2)."""
    import subprocess
    import sys

    _, _, result = planted
    saved = tmp_path / "mt.json"
    result.to_json(saved)
    new = planted_frame(seed=11, sizes=(2, 2, 2)).drop(columns=["group"])
    csv = tmp_path / "new.csv"
    new.to_csv(csv, index=False)
    out = tmp_path / "pred.csv"

    def cli(*extra):
        return subprocess.run([sys.executable, "-m", "formulasearch.cli", "predict", str(saved), str(csv),
                               "--dimension", "2", "-o", str(out), *extra], capture_output=True, text=True)

    done = cli("--task", "B")
    assert done.returncode == 0, done.stderr
    import pandas as pd

    best, k = result.best(2), result.tasks.index("B")
    values = best.values(result.variables, np.vstack([new[f"x{i}"] for i in range(1, 6)]))
    expect = best.task_intercepts[k] + np.asarray(best.task_coefficients[k]) @ values
    np.testing.assert_allclose(pd.read_csv(out)["pred_2D"], expect, rtol=1e-10)
    for extra, message in ((("--task", "D"),  "task 'D' is not one"), ((), "need the task of each sample")):
        failed = cli(*extra)
        assert failed.returncode == 2 and message in failed.stderr and failed.stderr.count("\n") == 1


def test_plots_follow(planted):
    import matplotlib

    matplotlib.use("Agg")
    from formulasearch.report import plots

    _, _, result = planted
    fig = plots.parity(result)
    colours = fig.axes[0].collections[0].get_facecolors()
    assert len({tuple(c) for c in colours}) == 3  # one colour per task
    plots.residuals(result)
    plots.descriptor_map(result)


def test_two_task_train_dat_in_sisso_layout():
    """A train.dat of two consecutive task blocks (nsample = (12, 10)); rung 0: the l0 step searches every pair
    of the columns, so the result is numpy's brute force over them."""
    import pandas as pd

    path = DATA / "multitask_train.dat"
    cfg = {"data": {"table": str(path), "task_sizes": [12, 10]},
           "features": {"generator": "sisso", "rung": 0, "min_abs": 0.0},
           "search": {"max_dim": 2, "n_sis": 10}, "validation": {"method": "loo", "nested": False}}
    result = fs.run(cfg)
    assert result.tasks == ["task1", "task2"] and result.task_labels == [0] * 12 + [1] * 10
    table = pd.read_csv(path, sep=r"\s+")
    X, y, tasks = table[["f1", "f2", "f3", "f4"]].to_numpy().T, table["property"].to_numpy(), np.repeat([0, 1], [12, 10])
    for d in (1, 2):
        sse, members = brute_force(X, y, tasks, d)[0]
        best = result.best(d)
        assert sorted(best.formulas) == sorted(f"f{i + 1}" for i in members)
        np.testing.assert_allclose(best.rmse, np.sqrt(sse / y.size), rtol=1e-9)
    with pytest.raises(InputError, match="add up to 21"):
        fs.run({**cfg, "data": {"table": str(path), "task_sizes": [12, 9]}})


def test_settings_that_do_not_apply_are_refused(tmp_path):
    path = tmp_path / "t.csv"
    planted_frame(sizes=(4, 4, 4)).to_csv(path, index=False)
    base = {"data": {"table": str(path), "target": "y", "task_column": "group"}}
    with pytest.raises(ConfigError, match="multi-task.*generator = \"paper\""):
        fs.Config.from_dict(base)
    with pytest.raises(ConfigError, match="give one"):
        fs.Config.from_dict({"data": {**base["data"], "task_sizes": [6, 6]}, "features": {"generator": "sisso"}})
    with pytest.raises(ConfigError, match="classification"):
        fs.Config.from_dict({**base, "features": {"generator": "sisso"}, "search": {"task": "classification"}})
    with pytest.raises(ConfigError, match="memory_budget_mb"):
        fs.Config.from_dict({**base, "features": {"generator": "sisso"}, "search": {"memory_budget_mb": 100.0}})
    with pytest.raises(ConfigError, match="needs \\[data\\] table"):
        fs.Config.from_dict({"data": {"task_column": "group"}, "features": {"generator": "sisso"}})


def test_formula_regressor_with_groups():
    frame = planted_frame()
    X, y, groups = frame[[f"x{i}" for i in range(1, 6)]], frame.y.to_numpy(), frame.group.to_numpy()
    reg = fs.FormulaRegressor(ops=["*", "/"], rung=1, max_dim=2, n_sis=15).fit(X, y, groups=groups)
    assert sorted(reg.formulas_) == ["x1*x2", "x3/x4"] and reg.tasks_ == ["A", "B", "C"]
    assert reg.coef_.shape == (3, 2) and reg.intercept_.shape == (3,)
    np.testing.assert_allclose(reg.predict(X, groups=groups), y, atol=0.05)
    with pytest.raises(ValueError, match="give groups"):
        reg.predict(X)
    by_column = fs.FormulaRegressor(ops=["*", "/"], rung=1, max_dim=2, n_sis=15,
                                    task_column="group").fit(frame[["group", *X.columns]], y)
    np.testing.assert_allclose(by_column.predict(frame[["group", *X.columns]]), reg.predict(X, groups=groups))
