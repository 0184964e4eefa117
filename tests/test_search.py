"""Tests of _core.search_pairs and _core.search_triples against brute force.

The oracle (tests/reference_numpy.py: best_2d / best_3d) fits every
combination with np.linalg.lstsq; the core scores them from a Gram matrix.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest

from formulasearch import _core
from reference_numpy import best_2d, best_3d, octet_oracle, ols_metrics, paper_candidates, screen


@functools.lru_cache(maxsize=1)
def gen1_kept():
    """Oracle values of the generation-1 candidates that pass the filters, and y."""
    matrix, names, classes, y = octet_oracle()
    _, values = paper_candidates(matrix, names, classes, 1, with_strings=False)
    return np.ascontiguousarray(values[screen(values)]), y


def gen1_subset(size, seed):
    values, y = gen1_kept()
    rng = np.random.default_rng(seed)
    idx = rng.choice(values.shape[0], size=size, replace=False)
    return np.ascontiguousarray(values[idx]), y


def gen1_top(size):
    """The `size` generation-1 candidates best correlated with y (highly collinear)."""
    values, y = gen1_kept()
    c = values - values.mean(axis=1, keepdims=True)
    yc = y - y.mean()
    r = np.abs(c @ yc) / (np.linalg.norm(c, axis=1) * np.linalg.norm(yc))
    order = np.argsort(-r, kind="stable")[:size]
    return np.ascontiguousarray(values[np.sort(order)]), y


def rmse_of_r2(r2, y):
    sst = float(((y - y.mean()) ** 2).sum())
    return np.sqrt(np.maximum(0.0, 1.0 - np.asarray(r2, dtype=float)) * sst / y.size)


def assert_matches_oracle(found, oracle, values, y, dim, rtol=1e-8):
    """The core's top list equals the brute-force one, up to swaps between ties."""
    members = [tuple(int(v) for v in m) for m in found.members]
    assert found.members.shape == (len(members), dim)
    assert len(members) == len(oracle)
    core_rmse = rmse_of_r2(found.r2, y)
    o_members = [m for m, _ in oracle]
    o_rmse = np.array([r for _, r in oracle])
    # the score at every rank
    np.testing.assert_allclose(core_rmse, o_rmse, rtol=rtol)
    # the returned combinations really score that (lstsq on them)
    ref = np.array([ols_metrics(values[list(m)].T, y)["rmse"] for m in members])
    np.testing.assert_allclose(core_rmse, ref, rtol=rtol)
    for p, (m, om) in enumerate(zip(members, o_members)):
        assert list(m) == sorted(m) and len(set(m)) == dim
        if m != om:  # only a (near-)tie may swap places
            assert abs(ref[p] - o_rmse[p]) <= rtol * o_rmse[p], (p, m, om)
    for m in set(members) ^ set(o_members):  # differences only at the cut
        r = ols_metrics(values[list(m)].T, y)["rmse"]
        assert abs(r - o_rmse[-1]) <= rtol * o_rmse[-1], m
    # best first; equal scores by members
    r2 = np.asarray(found.r2)
    assert np.all(np.diff(r2) <= 0)
    for p in range(len(members) - 1):
        if r2[p] == r2[p + 1]:
            assert members[p] < members[p + 1]


def assert_pair_limit(found, values, limit):
    for m in found.members:
        R = np.abs(np.corrcoef(values[list(m)]))
        for a, b in itertools.combinations(range(len(m)), 2):
            assert R[a, b] < limit, (tuple(m), R[a, b])


# ---------------------------------------------------------------------------
# generation-1 subsets vs brute force


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("limit", [0.9, 0.5])
def test_pairs_on_generation_1_subset(seed, limit):
    values, y = gen1_subset(150, seed)
    found = _core.search_pairs(values, y, max_pair_corr=limit, keep=25, tile=64)
    oracle = best_2d(values, y, 25, max_pair_corr=limit)
    assert_matches_oracle(found, oracle, values, y, 2)
    assert_pair_limit(found, values, limit)
    assert found.n_combinations == 150 * 149 // 2
    assert 0 < found.n_scored <= found.n_combinations
    assert found.cancelled is False


def test_pairs_n_scored_counts_the_valid_pairs():
    values, y = gen1_subset(150, 3)
    R = np.abs(np.corrcoef(values))
    iu = np.triu_indices(150, 1)
    for limit in (0.3, 0.9):
        found = _core.search_pairs(values, y, max_pair_corr=limit, keep=5)
        assert found.n_scored == int((R[iu] < limit).sum())


def test_pairs_without_limit_on_generation_1_subset():
    values, y = gen1_subset(150, 4)
    found = _core.search_pairs(values, y, max_pair_corr=1.0, keep=25)
    oracle = best_2d(values, y, 25, max_pair_corr=None)
    assert_matches_oracle(found, oracle, values, y, 2)
    # on the best-correlated candidates, strongly correlated pairs are allowed (and chosen)
    values, y = gen1_top(100)
    found = _core.search_pairs(values, y, max_pair_corr=1.0, keep=25)
    oracle = best_2d(values, y, 25, max_pair_corr=None)
    assert_matches_oracle(found, oracle, values, y, 2)
    R = np.abs(np.corrcoef(values))
    assert max(R[m[0], m[1]] for m in found.members) >= 0.9


@pytest.mark.parametrize("seed", [5, 6])
@pytest.mark.parametrize("limit", [0.9, 0.6])
def test_triples_on_generation_1_subset(seed, limit):
    values, y = gen1_subset(50, seed)
    found = _core.search_triples(values, y, max_pair_corr=limit, keep=20, tile=16)
    oracle = best_3d(values, y, 20, max_pair_corr=limit)
    assert_matches_oracle(found, oracle, values, y, 3)
    assert_pair_limit(found, values, limit)
    assert found.n_combinations == 50 * 49 * 48 // 6


def test_triples_without_limit_on_generation_1_subset():
    values, y = gen1_subset(45, 7)
    found = _core.search_triples(values, y, max_pair_corr=1.0, keep=20)
    oracle = best_3d(values, y, 20, max_pair_corr=None)
    assert_matches_oracle(found, oracle, values, y, 3)


def test_pairs_and_triples_on_the_best_correlated_candidates():
    """The top of generation 1 is highly collinear: the |r| limit decides a lot."""
    values, y = gen1_top(120)
    found = _core.search_pairs(values, y, max_pair_corr=0.9, keep=15)
    assert_matches_oracle(found, best_2d(values, y, 15, 0.9), values, y, 2)
    assert_pair_limit(found, values, 0.9)
    values, y = gen1_top(40)
    found = _core.search_triples(values, y, max_pair_corr=0.95, keep=15)
    assert_matches_oracle(found, best_3d(values, y, 15, 0.95), values, y, 3)
    assert_pair_limit(found, values, 0.95)


def triples_by_batched_solve(values, y, keep, limit, tol=1e-10):
    """Every triple of a small pool by numpy (a batched 3 x 3 solve on the standardised Gram):
    the best `keep` as (members, rmse), and how many triples are valid (every pair under the |r|
    limit, a correlation determinant above tol)."""
    z = values - values.mean(axis=1, keepdims=True)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    t = (y - y.mean()) / np.linalg.norm(y - y.mean())
    G, b = z @ z.T, z @ t
    m = len(values)
    T = np.array(list(itertools.combinations(range(m), 3)))
    S = G[T[:, :, None], T[:, None, :]]
    ok = np.all(np.abs(S[:, [0, 0, 1], [1, 2, 2]]) < limit, axis=1) & (np.linalg.det(S) > tol)
    T, S = T[ok], S[ok]
    bs = b[T]
    r2 = np.einsum("ti,ti->t", bs, np.linalg.solve(S, bs[:, :, None])[:, :, 0])
    rmse = np.sqrt(np.maximum(1.0 - r2, 0.0) * np.mean((y - y.mean()) ** 2))
    order = np.lexsort((T[:, 2], T[:, 1], T[:, 0], rmse))[:keep]
    return [(tuple(int(v) for v in T[o]), float(rmse[o])) for o in order], int(ok.sum())


@pytest.mark.parametrize("pool, limit", [("top", 0.9), ("top", 0.97), ("random", 0.9), ("random", 0.5)])
def test_triples_over_collinear_and_spread_pools(pool, limit):
    """A pool of the best-correlated candidates leaves few valid k for most pairs (the kernel gathers
    them), a random one many (it scans them under a mask); more than 64 candidates, so the pass
    bits span several words. The top list and the count of valid triples against numpy."""
    values, y = gen1_top(131) if pool == "top" else gen1_subset(131, 11)
    found = _core.search_triples(values, y, max_pair_corr=limit, keep=15)
    oracle, n_valid = triples_by_batched_solve(values, y, 15, limit)
    assert_matches_oracle(found, oracle, values, y, 3, rtol=1e-7)
    assert found.n_scored == n_valid
    assert found.n_combinations == 131 * 130 * 129 // 6


# ---------------------------------------------------------------------------
# planted formulas


def planted_data(seed=42, n=60, m=200):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)), rng


def test_planted_pair_is_found_first():
    X, rng = planted_data()
    y = 1.5 + 2.0 * X[17] - 3.0 * X[123] + 1e-2 * rng.normal(size=X.shape[1])
    found = _core.search_pairs(X, y, max_pair_corr=0.9, keep=10, tile=64)
    assert tuple(found.members[0]) == (17, 123)
    fit = ols_metrics(X[[17, 123]].T, y)
    assert rmse_of_r2(found.r2[:1], y)[0] == pytest.approx(fit["rmse"], rel=1e-8)
    assert fit["coefficients"] == pytest.approx([2.0, -3.0], abs=1e-2)
    # the whole top list against brute force over all 19,900 pairs
    oracle = best_2d(X, y, 10, max_pair_corr=0.9)
    assert oracle[0][0] == (17, 123)
    assert_matches_oracle(found, oracle, X, y, 2)


def test_planted_pair_in_reversed_order_is_reported_ascending():
    X, rng = planted_data(seed=3)
    y = -0.5 * X[150] + 0.8 * X[4] + 1e-3 * rng.normal(size=X.shape[1])
    found = _core.search_pairs(X, y, keep=3)
    assert tuple(found.members[0]) == (4, 150)


def test_planted_triple_is_found_first():
    X, rng = planted_data(seed=9)
    y = 0.5 + 1.0 * X[5] - 2.0 * X[77] + 1.5 * X[150] + 1e-2 * rng.normal(size=X.shape[1])
    found = _core.search_triples(X, y, max_pair_corr=0.9, keep=10)
    assert tuple(found.members[0]) == (5, 77, 150)
    fit = ols_metrics(X[[5, 77, 150]].T, y)
    assert rmse_of_r2(found.r2[:1], y)[0] == pytest.approx(fit["rmse"], rel=1e-8)
    assert found.n_combinations == 200 * 199 * 198 // 6
    # the full top list by brute force on a subset that contains the planted members
    keep_rows = np.unique(np.concatenate([np.arange(0, 200, 6), [5, 77, 150]]))
    sub = X[keep_rows]
    found_sub = _core.search_triples(sub, y, max_pair_corr=0.9, keep=10)
    oracle = best_3d(sub, y, 10, max_pair_corr=0.9)
    pos = {int(r): p for p, r in enumerate(keep_rows)}
    assert oracle[0][0] == (pos[5], pos[77], pos[150])
    assert_matches_oracle(found_sub, oracle, sub, y, 3)


def test_planted_members_too_correlated_are_excluded():
    """Make x_123 nearly a copy of x_17: the planted pair violates the limit."""
    X, rng = planted_data(seed=8)
    X[123] = X[17] + 0.2 * rng.normal(size=X.shape[1])
    y = 1.5 + 2.0 * X[17] - 3.0 * X[123] + 1e-2 * rng.normal(size=X.shape[1])
    r = abs(np.corrcoef(X[17], X[123])[0, 1])
    assert 0.9 < r < 0.999
    strict = _core.search_pairs(X, y, max_pair_corr=0.9, keep=10)
    assert (17, 123) not in [tuple(m) for m in strict.members]
    assert_pair_limit(strict, X, 0.9)
    assert_matches_oracle(strict, best_2d(X, y, 10, 0.9), X, y, 2)
    free = _core.search_pairs(X, y, max_pair_corr=1.0, keep=10)
    assert tuple(free.members[0]) == (17, 123)
    loose = _core.search_pairs(X, y, max_pair_corr=0.999, keep=10)
    assert tuple(loose.members[0]) == (17, 123)


# ---------------------------------------------------------------------------
# determinism


def _key(found):
    return found.members.tolist(), found.r2.view(np.uint64).tolist()


@pytest.mark.parametrize("kernel,size", [("search_pairs", 700), ("search_triples", 1000)])
def test_results_do_not_depend_on_threads_or_tiles(kernel, size):
    values, y = gen1_top(size)
    fn = getattr(_core, kernel)
    before = _core.max_threads()
    results = []
    try:
        for threads in (1, 2):
            _core.set_threads(threads)
            for tile in (16, 64, 256):
                results.append(_key(fn(values, y, max_pair_corr=0.9, keep=50, tile=tile)))
    finally:
        _core.set_threads(before)
    assert _core.max_threads() == before
    assert len(results[0][0]) == 50
    for other in results[1:]:
        assert other == results[0]
    # the random subsets too (other ties and thresholds)
    values, y = gen1_subset(min(size, 400), 11)
    try:
        _core.set_threads(1)
        a = _key(fn(values, y, max_pair_corr=0.9, keep=30, tile=32))
        _core.set_threads(2)
        b = _key(fn(values, y, max_pair_corr=0.9, keep=30, tile=128))
    finally:
        _core.set_threads(before)
    assert a == b


def test_exact_ties_are_ordered_by_members():
    """Duplicated rows make exactly tied pairs; they come in lexicographic order."""
    X, rng = planted_data(seed=21, m=30)
    X = np.vstack([X, X[3], X[3]])  # rows 30 and 31 equal row 3
    y = X[3] - X[10] + 0.1 * rng.normal(size=X.shape[1])
    found = _core.search_pairs(X, y, max_pair_corr=0.9, keep=6)
    members = [tuple(m) for m in found.members[:3]]
    assert members == [(3, 10), (10, 30), (10, 31)]
    assert found.r2[0] == found.r2[1] == found.r2[2]


# ---------------------------------------------------------------------------
# edge cases


def collinear_data(m=30, n=60, seed=13):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=n)
    X = base + 1e-3 * rng.normal(size=(m, n))
    y = base + 0.1 * rng.normal(size=n)
    return X, y


def test_no_valid_pair_gives_empty_result():
    X, y = collinear_data()
    assert np.abs(np.corrcoef(X)).min() > 0.99
    found = _core.search_pairs(X, y, max_pair_corr=0.5, keep=10)
    assert found.members.shape == (0, 2)
    assert found.r2.shape == (0,)
    assert found.n_scored == 0
    assert found.n_combinations == 30 * 29 // 2
    assert best_2d(X, y, 10, max_pair_corr=0.5) == []


def test_no_valid_triple_gives_empty_result():
    X, y = collinear_data()
    found = _core.search_triples(X, y, max_pair_corr=0.5, keep=10)
    assert found.members.shape == (0, 3)
    assert found.r2.shape == (0,)
    assert found.n_scored == 0


def test_fewer_valid_combinations_than_keep():
    X, y = collinear_data(m=6)
    X[2] = np.random.default_rng(0).normal(size=X.shape[1])  # the only row not collinear
    found = _core.search_pairs(X, y, max_pair_corr=0.5, keep=50)
    oracle = best_2d(X, y, 50, max_pair_corr=0.5)
    assert len(oracle) == 5
    assert_matches_oracle(found, oracle, X, y, 2)
    assert all(2 in m for m in found.members)


def test_too_few_candidates():
    X, y = collinear_data(m=2)
    assert _core.search_triples(X, y, keep=5).members.shape == (0, 3)
    one = _core.search_pairs(X[:1], y, keep=5)
    assert one.members.shape == (0, 2) and one.n_combinations == 0


def test_exactly_collinear_rows_are_never_paired():
    X, rng = planted_data(seed=4, m=20)
    X[7] = 3.0 * X[2] - 1.0  # the same standardised vector
    y = X[2] + X[9] + 0.1 * rng.normal(size=X.shape[1])
    found = _core.search_pairs(X, y, max_pair_corr=1.0, keep=200)
    assert (2, 7) not in [tuple(m) for m in found.members]
    assert len(found.members) == 20 * 19 // 2 - 1


@pytest.mark.parametrize("kernel", ["search_pairs", "search_triples"])
def test_bad_inputs_raise_value_error(kernel):
    fn = getattr(_core, kernel)
    X, rng = planted_data(m=10)
    y = rng.normal(size=X.shape[1])
    with pytest.raises(ValueError):
        fn(X, y[:-1])
    with pytest.raises(ValueError):
        fn(X[0], y)
    with pytest.raises(ValueError):
        fn(X, y, tile=10)
    with pytest.raises(ValueError):
        fn(X, y, keep=0)
    constant = X.copy()
    constant[4] = 2.0
    with pytest.raises(ValueError):
        fn(constant, y)
    nan = X.copy()
    nan[1, 5] = np.nan
    with pytest.raises(ValueError):
        fn(nan, y)
    with pytest.raises(ValueError):
        fn(X, np.ones_like(y))


def test_progress_and_cancel():
    values, y = gen1_subset(600, 12)
    seen = []

    def progress(stage, done, total):
        seen.append((stage, done, total))
        return False  # stop after the first report

    found = _core.search_pairs(values, y, keep=5, tile=64, progress=progress)
    assert found.cancelled is True
    assert seen[0][0] == "pairs" and len(seen) == 1

    def boom(stage, done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        _core.search_triples(values[:100], y, keep=5, progress=boom)


def test_r2_is_consistent_with_lstsq_for_every_returned_model():
    values, y = gen1_subset(300, 14)
    sst = float(((y - y.mean()) ** 2).sum())
    for fn, dim in ((_core.search_pairs, 2), (_core.search_triples, 3)):
        found = fn(values[: 300 if dim == 2 else 80], y, keep=40)
        for m, r2 in zip(found.members, found.r2):
            fit = ols_metrics(values[list(m)].T, y)
            assert r2 == pytest.approx(fit["r2"], rel=1e-9)
            assert math.sqrt((1 - r2) * sst / y.size) == pytest.approx(fit["rmse"], rel=1e-8)


@pytest.mark.parametrize("kernel,size", [("search_pairs", 400), ("search_triples", 700)])
def test_small_keep_is_a_prefix_of_large_keep(kernel, size):
    """The pruning threshold of a small top list must never lose its true members."""
    values, y = gen1_top(size)
    fn = getattr(_core, kernel)
    big = fn(values, y, max_pair_corr=0.9, keep=60)
    assert len(big.members) == 60
    for keep in (1, 2, 7, 25):
        small = fn(values, y, max_pair_corr=0.9, keep=keep)
        assert small.members.tolist() == big.members[:keep].tolist()
        assert small.r2.view(np.uint64).tolist() == big.r2[:keep].view(np.uint64).tolist()


def test_keep_one_equals_brute_force():
    for seed in (15, 16, 17):
        values, y = gen1_subset(120, seed)
        found = _core.search_pairs(values, y, keep=1, tile=16)
        assert_matches_oracle(found, best_2d(values, y, 1, 0.9), values, y, 2)
        found = _core.search_triples(values[:45], y, keep=1, tile=16)
        assert_matches_oracle(found, best_3d(values[:45], y, 1, 0.9), values[:45], y, 3)
