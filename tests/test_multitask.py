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
