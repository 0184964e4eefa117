"""Tests of _core.search_combinations (d-subsets of any size, the l0 step beyond triples)
against numpy brute force, the pair and triple kernels, and itself under other thread
counts, slices, memory budgets and interruptions; and of max_dim > 3 in the routes."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import formulasearch as fs
from formulasearch import ConfigError, _core
from formulasearch.search.slices import merge_slices, plan_slices, search_slice


@pytest.fixture
def restore_threads():
    before = _core.max_threads()
    yield
    _core.set_threads(before)


def problem(m=16, n=40, seed=5, copies=()):
    """m random candidates over n samples (a few correlated ones), a target on four of them;
    `copies`: positions p whose row is an exact copy of row p - 1 (exact ties)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    X[4] = X[3] + 0.25 * rng.standard_normal(n)  # |r| about 0.97: over a 0.9 limit
    X[9] = X[8] + 0.6 * rng.standard_normal(n)  # |r| about 0.86: under it
    for p in copies:
        X[p] = X[p - 1]
    y = 1.0 + X[1] - 0.8 * X[6] + 0.6 * X[11] - 0.5 * X[13] + 0.3 * X[2] + 0.4 * rng.standard_normal(n)
    return X, y


def brute_force(X, y, d, limit=1.0, tol=1e-10):
    """Every d-subset by numpy lstsq (with intercept): [(r2, rmse, members)], best first
    (r2 descending, members ascending), skipping pairwise |r| >= limit and singular subsets."""
    C = np.corrcoef(X)
    sst = float(((y - y.mean()) ** 2).sum())
    out = []
    for S in itertools.combinations(range(X.shape[0]), d):
        if limit < 1 and any(abs(C[a, b]) >= limit for a, b in itertools.combinations(S, 2)):
            continue
        if np.linalg.det(C[np.ix_(S, S)]) <= tol:
            continue
        A = np.column_stack([np.ones(y.size)] + [X[k] for k in S])
        resid = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
        sse = float(resid @ resid)
        out.append((1.0 - sse / sst, math.sqrt(sse / y.size), S))
    out.sort(key=lambda e: (-e[0], e[2]))
    return out


def members_of(found):
    return [tuple(int(v) for v in m) for m in found.members]


def assert_same(a, b):
    """Bitwise the same result."""
    assert a.members.tolist() == b.members.tolist()
    assert a.r2.tolist() == b.r2.tolist()
    assert a.n_scored == b.n_scored and a.n_combinations == b.n_combinations


@pytest.mark.parametrize("d", [4, 5])
@pytest.mark.parametrize("limit", [1.0, 0.9])
def test_best_combinations_equal_numpy_brute_force(d, limit):
    X, y = problem()
    keep = 25
    found = _core.search_combinations(X, y, d, max_pair_corr=limit, keep=keep)
    oracle = brute_force(X, y, d, limit)
    assert found.members.shape == (keep, d)
    assert found.n_combinations == found.n_planned == math.comb(16, d)
    assert found.n_scored == len(oracle)
    assert not found.cancelled and not found.interrupted
    # the best model, and the whole top list in order (no near-ties in this problem)
    assert members_of(found) == [S for _, _, S in oracle[:keep]]
    np.testing.assert_allclose(found.r2, [r2 for r2, _, _ in oracle[:keep]], rtol=1e-11, atol=1e-13)
    rmse = np.sqrt((1.0 - found.r2) * ((y - y.mean()) ** 2).sum() / y.size)
    np.testing.assert_allclose(rmse, [e[1] for e in oracle[:keep]], rtol=1e-9)
    assert set(found.members[0]) >= ({1, 6, 11, 13} if d == 4 else {1, 6, 11, 13, 2})


@pytest.mark.parametrize("d", [4, 5])
def test_exact_ties_are_ordered_by_members(d):
    # Rows 7 and 14 copy rows 6 and 13: every model with 6 (or 13) has a twin with 7
    # (or 14) of exactly the same fit. The twins must score the same bits and come
    # in members order; a copy and its original are never in one model (|r| = 1).
    X, y = problem(m=18, copies=(7, 14))
    oracle = brute_force(X, y, d, 0.95)
    found = _core.search_combinations(X, y, d, max_pair_corr=0.95, keep=40)
    members, r2 = members_of(found), found.r2.tolist()
    assert np.all(np.diff(r2) <= 0)
    twin = {6: 7, 13: 14}
    n_ties = 0
    for p, S in enumerate(members):
        assert not ({6, 7} <= set(S) or {13, 14} <= set(S))
        if set(S) & {7, 14}:
            continue
        T = tuple(sorted(twin.get(k, k) for k in S))
        if T != S and T in members:
            q = members.index(T)
            assert r2[q] == r2[p] and q > p, (S, T)  # the same bits, the smaller members first
            n_ties += 1
    assert n_ties >= 10
    for p in range(len(members) - 1):
        if r2[p] == r2[p + 1]:
            assert members[p] < members[p + 1]
    # the same list as brute force up to the order inside each tie
    best = {S: r for r, _, S in oracle[:40]}
    cut = oracle[39][0]
    for S, r in zip(members, r2):
        assert S in best or abs(r - cut) < 1e-12
        if S in best:
            assert r == pytest.approx(best[S], rel=1e-11)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("limit", [1.0, 0.9])
def test_two_and_three_members_agree_with_the_tile_kernels(d, limit):
    X, y = problem(m=60, n=50, seed=9)
    s = _core.StandardizedSet(X, y)
    ref = (_core.search_pairs if d == 2 else _core.search_triples)(s, max_pair_corr=limit, keep=40)
    found = _core.search_combinations(s, d, max_pair_corr=limit, keep=40)
    assert found.members.tolist() == ref.members.tolist()
    np.testing.assert_allclose(found.r2, ref.r2, rtol=1e-13)
    assert found.n_scored == ref.n_scored
    assert found.n_combinations == ref.n_combinations == math.comb(60, d)


def test_one_member_is_the_squared_correlation():
    X, y = problem()
    found = _core.search_combinations(X, y, 1, keep=5)
    r = np.array([np.corrcoef(x, y)[0, 1] for x in X])
    order = np.argsort(-r**2, kind="stable")[:5]
    assert found.members[:, 0].tolist() == order.tolist()
    np.testing.assert_allclose(found.r2, r[order] ** 2, rtol=1e-12)


@pytest.mark.parametrize("d", [4, 5, 6])
def test_same_result_for_one_and_three_threads(d, restore_threads):
    X, y = problem(m=30, n=45, seed=2, copies=(7,))
    s = _core.StandardizedSet(X, y)
    results = []
    for threads in (1, 3):
        _core.set_threads(threads)
        results.append(_core.search_combinations(s, d, max_pair_corr=0.95, keep=30))
    assert_same(*results)


def test_pair_limit_is_respected():
    X, y = problem()
    free = _core.search_combinations(X, y, 4, max_pair_corr=1.0, keep=200)
    assert any({3, 4} <= set(m) for m in members_of(free))  # the correlated pair would be chosen
    for limit in (0.9, 0.5):
        found = _core.search_combinations(X, y, 4, max_pair_corr=limit, keep=200)
        for m in members_of(found):
            R = np.abs(np.corrcoef(X[list(m)]))
            assert np.all(R[np.triu_indices(4, 1)] < limit), m
        assert found.n_scored == len(brute_force(X, y, 4, limit))


def test_interrupted_search_reports_what_it_evaluated():
    X, y = problem(m=100, n=40)
    s = _core.StandardizedSet(X, y)
    planned = _core.count_combinations(100, 5)
    assert planned == math.comb(100, 5)
    seen = []

    def stop(stage, done, total):
        seen.append((stage, done, total))
        return False

    found = _core.search_combinations(s, 5, keep=10, progress=stop)
    assert len(seen) == 1 and seen[0][0] == "combinations" and seen[0][2] == planned
    assert found.cancelled and not found.interrupted
    assert 0 < found.n_combinations == seen[0][1] < planned
    assert found.n_planned == planned
    assert 0 < found.n_scored <= found.n_combinations

    def ctrl_c(stage, done, total):
        raise KeyboardInterrupt

    partial = _core.search_combinations(s, 5, keep=10, progress=ctrl_c)
    assert partial.interrupted and partial.cancelled
    assert partial.n_combinations == found.n_combinations < planned
    assert partial.members.tolist() == found.members.tolist()  # the best of what was evaluated
    whole = _core.search_combinations(s, 5, keep=10)
    assert whole.n_combinations == planned and not whole.cancelled
    assert whole.r2[0] >= partial.r2[0]

    def boom(stage, done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        _core.search_combinations(s, 5, keep=10, progress=boom)


def test_slices_merge_to_the_whole_search():
    X, y = problem(m=40, n=40, seed=4)
    s = _core.StandardizedSet(X, y)
    options = {"max_pair_corr": 0.9, "keep": 12}
    whole = merge_slices([search_slice(s, 4, 0, None, options)], 12)
    slices = plan_slices(40, 4, 5, 256)
    assert len(slices) > 1 and slices[0][0] == 0 and slices[-1][1] == 40
    merged = merge_slices([search_slice(s, 4, a, b, options) for a, b in slices], 12)
    assert merged.members == whole.members and merged.r2 == whole.r2
    assert merged.n_combinations == math.comb(40, 4)


def test_streamed_search_equals_the_in_memory_search(restore_threads):
    prim = fs.build_primaries(fs.datasets.octet())
    gen = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1)
    pool = _core.screen(gen, prim.target, keep=45, dedup="string").indices.tolist()
    ref = _core.search_combinations(_core.StandardizedSet.from_candidates(gen, pool, prim.target), 4, keep=20)
    for threads in (1, 2):
        _core.set_threads(threads)
        found = _core.search_combinations_streamed(gen, pool, prim.target, 4, memory_budget_mb=0.05, keep=20)
        assert_same(found, ref)
        assert found.block_size < len(pool)  # it ran in blocks
    with pytest.raises(ValueError, match="memory budget too small"):
        _core.search_combinations_streamed(gen, pool, prim.target, 4, memory_budget_mb=0.01)


def test_bad_inputs_raise_value_error():
    X, y = problem()
    for d in (0, 9):
        with pytest.raises(ValueError, match="1 to 8 members"):
            _core.search_combinations(X, y, d)
    with pytest.raises(ValueError, match="keep"):
        _core.search_combinations(X, y, 4, keep=0)
    assert _core.search_combinations(X[:3], y, 4).members.shape == (0, 4)
    with pytest.raises(ValueError, match="2\\^64"):
        _core.count_combinations(10**6, 6)


# ---------------------------------------------------------------------------
# max_dim > 3 in the routes
# ---------------------------------------------------------------------------

def test_max_dim_settings():
    cfg = fs.Config.from_dict({"search": {"max_dim": 6}})
    assert cfg.search.max_dim == 6 and cfg.search.top_nd == 100
    for bad in (0, 7):
        with pytest.raises(ConfigError, match="max_dim must be 1 to 6"):
            fs.Config.from_dict({"search": {"max_dim": bad}})
    with pytest.raises(ConfigError, match="top_nd must be at least 1"):
        fs.Config.from_dict({"search": {"top_nd": 0}})
    with pytest.raises(ConfigError, match="top_nd does not apply"):
        fs.Config.from_dict({"features": {"generator": "sisso"}, "search": {"top_nd": 50}})
    with pytest.raises(ConfigError, match="classification\\] max_dim must be 1, 2 or 3"):
        fs.Config.from_dict({"search": {"task": "classification"}, "classification": {"max_dim": 4}})
    with pytest.raises(ConfigError, match="max_dim = 3 needs score"):
        fs.Config.from_dict({"search": {"task": "classification"}, "classification": {"max_dim": 3}})


def test_paper_route_4d_is_the_best_of_the_top_nd_pool():
    top_nd = 24
    r = fs.run({"features": {"method": 1},
                "search": {"max_dim": 4, "top_2d": 200, "top_3d": 60, "top_nd": top_nd, "keep": 5,
                           "max_pair_corr": 0.99},
                "validation": {"nested": False}})
    prim = fs.build_primaries(fs.datasets.octet())
    gen = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1)
    pool = _core.screen(gen, prim.target, keep=top_nd, variance_filter=0.05, dedup="value").indices.tolist()
    X = gen.evaluate(pool)
    oracle = brute_force(X, prim.target, 4, 0.99)
    four = [m for m in r.models if m.dimension == 4]
    assert len(four) == 5
    assert [m.candidates for m in four] == [[pool[k] for k in S] for _, _, S in oracle[:5]]
    np.testing.assert_allclose([m.rmse for m in four], [e[1] for e in oracle[:5]], rtol=1e-9)
    assert r.search_stats["4D"]["combinations"] == math.comb(top_nd, 4)
    assert r.search_stats["4D"]["candidates"] == top_nd
    text = r.summary()
    assert "4D models" in text and "4D search:" in text
    assert r.table(4).shape[0] == 5 and "formula_4" in r.table(4)
    pred = fs.predict(r, pd.DataFrame(r.compounds, columns=["A", "B"]))
    assert list(pred.columns) == ["A", "B"] + [f"pred_{d}D" for d in (1, 2, 3, 4)]
    err = pred["pred_4D"].to_numpy() - np.asarray(r.target_values)
    assert np.sqrt(np.mean(err**2)) == pytest.approx(four[0].rmse, rel=1e-9)


def test_summary_lists_every_searched_dimension():
    r = fs.run({"features": {"method": 1, "dedup": "string"},
                "search": {"max_dim": 5, "top_2d": 50, "top_3d": 20, "top_nd": 4, "keep": 2},
                "validation": {"nested": False}})
    text = r.summary()
    assert "4D models" in text and "5D models" in text
    assert text.split("5D models")[1].lstrip().startswith("(none)")  # 4 formulas: no 5D model
    assert "5D: only 4 formulas survived screening" in text


def test_sisso_4d_with_a_memory_budget_streams_to_the_same_models():
    cfg = {"features": {"generator": "sisso", "primaries": ["IP_A", "IP_B", "rs_A", "rs_B", "rp_A", "rp_B"],
                        "ops": ["+", "-", "*", "/", "^2"], "rung": 1},
           "search": {"max_dim": 4, "n_sis": 20}, "validation": {"nested": False}}
    plain = fs.run(cfg)
    budget = 2.2  # MB: the pair search's per-thread buffers; 4D holds the K x K correlations and the blocks
    streamed = fs.run({**cfg, "search": {**cfg["search"], "memory_budget_mb": budget}})
    key = lambda r: [(m.formulas, m.intercept, m.coefficients, m.rmse) for m in r.models]  # noqa: E731
    assert key(plain) == key(streamed)
    union = plain.search_stats["4D"]["candidates"]
    assert union > 60
    assert plain.search_stats["4D"]["combinations"] == streamed.search_stats["4D"]["combinations"] == math.comb(union, 4)
    assert streamed.search_stats["4D"]["peak_mb"] <= budget
    # (that the 4D walk really runs in blocks within a small budget: test_streamed_search_equals_the_in_memory_search)
