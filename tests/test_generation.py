"""Tests of _core.PaperGenerator and _core.screen against the numpy oracle.

Published numbers (Gajera et al., arXiv 2202.07372, on the 82 octet compounds):
candidate counts 106,400 / 67,840 / 1,804,050 / 1,091,200 / 362,526, kept after
the filters 105,993 (generation 1) and 67,821 (generation 2), 278,106 distinct
generation-4 strings, and the best generation-1 formula
(rp_B^3 - exp(rs_B))/rp_A^2 with RMSE 0.11926, slope -0.7507, intercept -0.3170.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from formulasearch import _core
from reference_numpy import (
    best_1d,
    octet_oracle,
    ols_metrics,
    paper_candidate_count,
    paper_candidate_strings,
    paper_candidates,
    scaled_lstsq,
    screen,
)


@pytest.fixture(scope="module")
def octet():
    return octet_oracle()


PUBLISHED_COUNTS = [
    (1, "paper", 106_400),
    (2, "paper", 67_840),
    (3, "paper", 1_804_050),
    (3, "classes", 1_091_200),
    (4, "paper", 362_526),
]
PUBLISHED_KEPT = {1: 105_993, 2: 67_821}
GEN4_DISTINCT = 278_106
BEST_GEN1 = "(rp_B^3 - exp(rs_B))/rp_A^2"


@functools.lru_cache(maxsize=None)
def oracle_full(generation: int):
    """Strings, values and filter mask of a whole (small) generation, by the oracle."""
    matrix, names, classes, _ = octet_oracle()
    strings, values = paper_candidates(matrix, names, classes, generation)
    return strings, values, screen(values, 0.05)


def oracle_counts(generation, variant, chunk=200_000):
    """(n_nonfinite, n_low_variance, filter mask) of a generation, streamed in chunks."""
    matrix, names, classes, _ = octet_oracle()
    total = paper_candidate_count(classes, generation, variant=variant)
    masks, n_nonfinite = [], 0
    for lo in range(0, total, chunk):
        _, v = paper_candidates(matrix, names, classes, generation, variant, start=lo, stop=lo + chunk,
                                with_strings=False)
        n_nonfinite += int((~np.all(np.isfinite(v), axis=1)).sum())
        masks.append(screen(v, 0.05))
    mask = np.concatenate(masks)
    return n_nonfinite, int(total - n_nonfinite - mask.sum()), mask


def r2_of_rmse(rmse, y):
    sst = float(((y - y.mean()) ** 2).sum())
    return 1.0 - np.asarray(rmse) ** 2 * y.size / sst


def assert_values_close(got, expected, rtol=1e-12):
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(np.isposinf(got), np.isposinf(expected))
    assert np.array_equal(np.isneginf(got), np.isneginf(expected))
    fin = np.isfinite(expected)
    np.testing.assert_allclose(got[fin], expected[fin], rtol=rtol, atol=0)


# ---------------------------------------------------------------------------
# sizes and enumeration


@pytest.mark.parametrize("generation,variant,published", PUBLISHED_COUNTS)
def test_size_equals_oracle_and_published_count(octet, generation, variant, published):
    matrix, names, classes, _ = octet
    gen = _core.PaperGenerator(matrix, names, classes, generation, variant)
    assert len(gen) == gen.size == published
    assert paper_candidate_count(classes, generation, variant=variant) == published
    assert gen.generation == generation


@pytest.mark.parametrize("generation", [1, 2, 4])
def test_enumerated_oracle_strings_have_published_count(octet, generation):
    _, names, classes, _ = octet
    published = dict(((g, v), n) for g, v, n in PUBLISHED_COUNTS)[(generation, "paper")]
    assert len(paper_candidate_strings(names, classes, generation)) == published


def test_variant_only_matters_for_generation_3(octet):
    matrix, names, classes, _ = octet
    for generation in (1, 2, 4):
        a = _core.PaperGenerator(matrix, names, classes, generation, "paper")
        b = _core.PaperGenerator(matrix, names, classes, generation, "classes")
        assert len(a) == len(b)
        for i in (0, 17, len(a) // 2, len(a) - 1):
            assert a.formula(i) == b.formula(i)


@pytest.mark.parametrize("generation,variant,published", PUBLISHED_COUNTS)
def test_random_subset_strings_and_values_equal_oracle(octet, generation, variant, published):
    matrix, names, classes, _ = octet
    gen = _core.PaperGenerator(matrix, names, classes, generation, variant)
    rng = np.random.default_rng(1000 + 10 * generation + (variant == "classes"))
    idx = np.concatenate([rng.choice(published, size=1500, replace=False),
                          [0, 1, published - 2, published - 1]]).astype(np.int64)
    strings, values = paper_candidates(matrix, names, classes, generation, variant, indices=idx)
    got_strings = [gen.formula(int(i)).to_string(names) for i in idx]
    assert got_strings == strings
    assert_values_close(gen.evaluate(idx.tolist()), values, rtol=1e-12)


@pytest.mark.parametrize("generation", [1, 2, 4])
def test_all_strings_equal_oracle(octet, generation):
    matrix, names, classes, _ = octet
    gen = _core.PaperGenerator(matrix, names, classes, generation, "paper")
    expected = paper_candidate_strings(names, classes, generation)
    step = 1 if generation != 4 else 3  # generation 4: every third, to save time
    idx = range(0, len(expected), step)
    assert [gen.formula(i).to_string(names) for i in idx] == expected[::step]


def test_slices_equal_oracle_values(octet):
    """Consecutive ranges (the streaming path) across left-part boundaries."""
    matrix, names, classes, _ = octet
    for generation, variant, total in PUBLISHED_COUNTS:
        gen = _core.PaperGenerator(matrix, names, classes, generation, variant)
        for lo in (0, total // 3, total - 700):
            _, values = paper_candidates(matrix, names, classes, generation, variant, start=lo, stop=lo + 700)
            assert_values_close(gen.evaluate(list(range(lo, lo + 700))), values)


def test_out_of_range_index_raises(octet):
    matrix, names, classes, _ = octet
    gen = _core.PaperGenerator(matrix, names, classes, 2, "paper")
    with pytest.raises(IndexError):
        gen.evaluate([len(gen)])
    with pytest.raises(IndexError):
        gen.formula(len(gen))


@pytest.mark.parametrize("bad", [{"generation": 0}, {"generation": 5}, {"variant": "nope"}])
def test_bad_generation_or_variant_raises_value_error(octet, bad):
    matrix, names, classes, _ = octet
    args = {"generation": 1, "variant": "paper", **bad}
    with pytest.raises(ValueError):
        _core.PaperGenerator(matrix, names, classes, args["generation"], args["variant"])


# ---------------------------------------------------------------------------
# screening counts


@pytest.mark.parametrize("generation", [1, 2])
def test_screen_kept_counts_published(octet, generation):
    matrix, names, classes, y = octet
    gen = _core.PaperGenerator(matrix, names, classes, generation, "paper")
    r = _core.screen(gen, y, keep=10, dedup="string")
    _, values, mask = oracle_full(generation)
    nonfinite = int((~np.all(np.isfinite(values), axis=1)).sum())
    assert r.n_kept == PUBLISHED_KEPT[generation] == int(mask.sum())
    assert r.n_candidates == r.n_screened == len(gen)
    assert r.n_nonfinite == nonfinite
    assert r.n_low_variance == len(gen) - nonfinite - int(mask.sum())
    assert r.n_string_duplicates == 0 and r.n_value_duplicates == 0
    assert r.cancelled is False
    assert (r.n_nonfinite + r.n_low_variance + r.n_string_duplicates + r.n_value_duplicates
            + r.n_kept == r.n_candidates)


@pytest.mark.parametrize("variant", ["paper", "classes"])
def test_screen_generation_3_counts_equal_oracle_filter(octet, variant):
    matrix, names, classes, y = octet
    gen = _core.PaperGenerator(matrix, names, classes, 3, variant)
    r = _core.screen(gen, y, keep=10, dedup="string")
    n_nonfinite, n_low, mask = oracle_counts(3, variant)
    assert r.n_candidates == len(gen)
    assert r.n_nonfinite == n_nonfinite
    assert r.n_low_variance == n_low
    # the numerators are distinct formulas, so no generation-3 string repeats
    assert r.n_string_duplicates == 0
    assert r.n_kept == int(mask.sum())


def test_generation_3_strings_are_distinct(octet):
    _, names, classes, _ = octet
    strings = paper_candidate_strings(names, classes, 3, "paper")
    assert len(strings) == 1_804_050
    assert len(set(strings)) == len(strings)


def test_screen_generation_4_string_duplicates(octet):
    matrix, names, classes, y = octet
    gen = _core.PaperGenerator(matrix, names, classes, 4, "paper")
    assert gen.has_string_duplicates
    r = _core.screen(gen, y, keep=10, dedup="string")
    strings = paper_candidate_strings(names, classes, 4)
    assert len(set(strings)) == GEN4_DISTINCT
    n_nonfinite, n_low, mask = oracle_counts(4, "paper")
    kept_strings = [s for s, m in zip(strings, mask) if m]
    distinct_kept = len(set(kept_strings))
    assert r.n_nonfinite == n_nonfinite
    assert r.n_low_variance == n_low
    assert r.n_kept == distinct_kept
    assert r.n_string_duplicates == int(mask.sum()) - distinct_kept
    assert r.n_kept <= GEN4_DISTINCT
    assert r.n_value_duplicates == 0
    # the kept candidates are the first occurrence of each of their strings
    top = _core.screen(gen, y, keep=3000, dedup="string").indices
    first = {}
    for i, s in enumerate(strings):
        first.setdefault(s, i)
    assert all(first[strings[int(i)]] == int(i) for i in top)


def test_generation_1_and_2_have_no_string_duplicates(octet):
    matrix, names, classes, _ = octet
    for generation in (1, 2, 3):
        gen = _core.PaperGenerator(matrix, names, classes, generation, "paper")
        assert not gen.has_string_duplicates


# ---------------------------------------------------------------------------
# the 1D ranking


def assert_same_1d_ranking(indices, r2, oracle_top, oracle_r2_of, tol=1e-11):
    """Core top-k (indices, r2) equals the oracle's up to swaps between (near-)ties."""
    indices = [int(i) for i in indices]
    o_idx = [t[0][0] for t in oracle_top]
    o_r2 = r2_of_rmse([t[1] for t in oracle_top], oracle_r2_of["y"])
    assert len(indices) == len(o_idx)
    # the score at every rank agrees
    np.testing.assert_allclose(r2, o_r2, rtol=0, atol=tol)
    # each returned candidate really has that score (by the oracle)
    np.testing.assert_allclose(r2, oracle_r2_of["score"](indices), rtol=0, atol=tol)
    # same candidates at each rank, except where two candidates tie
    for p, (a, b) in enumerate(zip(indices, o_idx)):
        if a != b:
            assert abs(o_r2[p] - oracle_r2_of["score"]([a])[0]) <= tol
    # same set, except near-ties at the cut
    cut = o_r2[-1]
    for i in set(indices) ^ set(o_idx):
        assert abs(oracle_r2_of["score"]([i])[0] - cut) <= tol
    # exact ties of the core are ordered by index
    r2 = np.asarray(r2)
    assert np.all(np.diff(r2) <= 0)
    for p in range(len(indices) - 1):
        if r2[p] == r2[p + 1]:
            assert indices[p] < indices[p + 1]


@pytest.mark.parametrize("generation", [1, 2])
def test_screen_top_k_equals_oracle_1d_ranking(octet, generation):
    matrix, names, classes, y = octet
    keep = 3000
    gen = _core.PaperGenerator(matrix, names, classes, generation, "paper")
    r = _core.screen(gen, y, keep=keep, dedup="string")
    assert len(r.indices) == keep == len(r.r2)
    _, values, mask = oracle_full(generation)
    kept = np.nonzero(mask)[0]
    top = best_1d(values[kept], y, keep)
    top = [((int(kept[i]),), rmse) for (i,), rmse in top]
    all_rmse = {}

    def score(idx):
        out = []
        for i in idx:
            if i not in all_rmse:
                all_rmse[i] = best_1d(values[[i]], y, 1)[0][1]
            out.append(all_rmse[i])
        return r2_of_rmse(out, y)

    assert_same_1d_ranking(r.indices, r.r2, top, {"y": y, "score": score})
    assert all(mask[int(i)] for i in r.indices)
    # there were exact ties (a + b vs b + a), so the index tie-break was exercised
    assert np.any(np.diff(r.r2) == 0)


def test_best_generation_1_formula_is_published(octet):
    matrix, names, classes, y = octet
    gen = _core.PaperGenerator(matrix, names, classes, 1, "paper")
    r = _core.screen(gen, y, keep=5, dedup="string")
    best = int(r.indices[0])
    assert gen.formula(best).to_string(names) == BEST_GEN1
    strings, values, _ = oracle_full(1)
    assert strings[best] == BEST_GEN1
    # RMSE from the screen's r2
    sst = float(((y - y.mean()) ** 2).sum())
    rmse_screen = math.sqrt((1.0 - r.r2[0]) * sst / y.size)
    assert abs(rmse_screen - 0.11926) <= 1e-5
    fit = _core.fit_linear(gen.evaluate([best]), y)
    assert abs(fit.rmse - 0.11926) <= 1e-5
    assert abs(fit.coefficients[0] - (-0.7507)) <= 5e-5
    assert abs(fit.intercept - (-0.3170)) <= 5e-5
    # numpy lstsq on the oracle's values of the same formula
    x = values[best]
    A = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    res = y - A @ coef
    assert fit.intercept == pytest.approx(coef[0], rel=1e-8)
    assert fit.coefficients[0] == pytest.approx(coef[1], rel=1e-8)
    assert fit.rmse == pytest.approx(math.sqrt(res @ res / y.size), rel=1e-8)
    assert fit.mae == pytest.approx(np.mean(np.abs(res)), rel=1e-8)
    assert fit.maxae == pytest.approx(np.max(np.abs(res)), rel=1e-8)
    assert fit.r2 == pytest.approx(1 - (res @ res) / sst, rel=1e-8)
    assert rmse_screen == pytest.approx(math.sqrt(res @ res / y.size), rel=1e-8)


def test_fit_linear_equals_lstsq_on_several_features(octet):
    matrix, names, classes, y = octet
    _, values, mask = oracle_full(1)
    rng = np.random.default_rng(77)
    n_checked = 0
    for d in (1, 2, 3, 4):
        for _ in range(12):
            idx = rng.choice(np.nonzero(mask)[0], size=d, replace=False)
            X = values[idx]
            ref = scaled_lstsq(X, y)
            if ref["rank"] < d + 1:
                continue
            plain = ols_metrics(X.T, y)
            fit = _core.fit_linear(X, y)
            assert fit.intercept == pytest.approx(ref["intercept"], rel=1e-8, abs=1e-12)
            np.testing.assert_allclose(fit.coefficients, ref["coefficients"], rtol=1e-8, atol=0)
            for k in ("rmse", "mae", "maxae", "r2"):
                assert getattr(fit, k) == pytest.approx(ref[k], rel=1e-8), k
                assert getattr(fit, k) == pytest.approx(plain[k], rel=1e-8), k
            n_checked += 1
    assert n_checked >= 40


def test_fit_linear_rejects_dependent_features(octet):
    _, _, _, y = octet
    x = np.linspace(1, 2, y.size)
    with pytest.raises(ValueError):
        _core.fit_linear(np.vstack([x, 2 * x + 1]), y)
    with pytest.raises(ValueError):
        _core.fit_linear(np.vstack([x, np.full_like(x, np.nan)]), y)


# ---------------------------------------------------------------------------
# dedup = "value"


def small_generator(octet, generation):
    """A generator on three variables per class (two classes)."""
    matrix, names, _, _ = octet
    classes = [[0, 1, 2], [4, 5, 7]]  # IP_A, IP_B, EA_A | rs_A, rs_B, rp_B
    return classes, _core.PaperGenerator(matrix, names, classes, generation, "paper")


def standardised(values):
    c = values - values.mean(axis=1, keepdims=True)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def nearest_earlier(z, order_index, candidates_mask, window=1e-7, seed=0):
    """For each row i of z: max-norm distance, up to sign, to the nearest row j with
    order_index[j] < order_index[i] and candidates_mask[j] (inf if none).

    Rows equal up to sign have equal |projection| on a random direction, so only
    rows within `window` in the sorted projections need a full comparison.
    """
    rng = np.random.default_rng(seed)
    r = rng.normal(size=z.shape[1])
    r /= np.abs(r).sum()  # |proj_i - proj_j| <= max|z_i - z_j|
    p = np.abs(z @ r)
    order = np.argsort(p, kind="stable")
    ps = p[order]
    best = np.full(z.shape[0], np.inf)
    lo = 0
    for pos in range(len(order)):
        while ps[pos] - ps[lo] > window:
            lo += 1
        i = order[pos]
        hi = np.searchsorted(ps, ps[pos] + window, side="right")
        js = order[lo:hi]
        js = js[(order_index[js] < order_index[i]) & candidates_mask[js]]
        if js.size:
            zi = z[i]
            d = np.minimum(np.abs(z[js] - zi).max(axis=1), np.abs(z[js] + zi).max(axis=1))
            best[i] = d.min()
    return best


@pytest.mark.parametrize("which", ["gen1_full", "gen3_small"])
def test_value_dedup_drops_only_equal_standardised_vectors(octet, which):
    matrix, names, classes, y = octet
    if which == "gen1_full":
        gen = _core.PaperGenerator(matrix, names, classes, 1, "paper")
        generation = 1
    else:
        classes, gen = small_generator(octet, 3)
        generation = 3
    n = len(gen)
    s_str = _core.screen(gen, y, keep=n, dedup="string")
    s_val = _core.screen(gen, y, keep=n, dedup="value")
    kept_str = np.sort(s_str.indices.astype(np.int64))
    kept_val = np.sort(s_val.indices.astype(np.int64))
    assert len(kept_str) == s_str.n_kept and len(kept_val) == s_val.n_kept
    # independent: the oracle's filter picks the same string-kept set
    _, values = paper_candidates(matrix, names, classes, generation)
    assert np.array_equal(kept_str, np.nonzero(screen(values))[0])
    assert set(kept_val.tolist()) <= set(kept_str.tolist())
    dropped = np.setdiff1d(kept_str, kept_val)
    assert len(dropped) == s_val.n_value_duplicates > 0
    z = standardised(values[kept_str])
    is_kept = np.isin(kept_str, kept_val)
    dist = nearest_earlier(z, kept_str, is_kept)
    # dropped: an earlier kept candidate equals it up to sign (on the hash's 2^-30 grid)
    assert np.all(dist[~is_kept] < 2e-9), kept_str[~is_kept][dist[~is_kept] >= 2e-9][:10]
    # kept: no earlier kept candidate is the same standardised vector up to sign
    assert np.all(dist[is_kept] > 1e-12), kept_str[is_kept][dist[is_kept] <= 1e-12][:10]


def test_value_dedup_never_changes_the_filters(octet):
    matrix, names, classes, y = octet
    for generation, variant in ((1, "paper"), (4, "paper")):
        gen = _core.PaperGenerator(matrix, names, classes, generation, variant)
        a = _core.screen(gen, y, keep=100, dedup="string")
        b = _core.screen(gen, y, keep=100, dedup="value")
        assert a.n_nonfinite == b.n_nonfinite
        assert a.n_low_variance == b.n_low_variance
        assert a.n_string_duplicates == b.n_string_duplicates
        assert b.n_kept + b.n_value_duplicates == a.n_kept
        assert b.n_value_duplicates > 0
        # the best formula is unaffected (it is the first of its group)
        assert a.indices[0] == b.indices[0]


def test_value_dedup_drops_the_commuted_sum(octet):
    """(IP_B + IP_A)/d has exactly the values of (IP_A + IP_B)/d, which comes first."""
    matrix, names, classes, y = octet
    gen = _core.PaperGenerator(matrix, names, classes, 1, "paper")
    strings, values, mask = oracle_full(1)
    a = strings.index("(IP_A + IP_B)/sqrt(|rp_A|)")
    b = strings.index("(IP_B + IP_A)/sqrt(|rp_A|)")
    assert a < b and np.array_equal(values[a], values[b]) and mask[a]
    s = _core.screen(gen, y, keep=len(gen), dedup="value")
    kept = set(int(i) for i in s.indices)
    assert a in kept and b not in kept
    s = _core.screen(gen, y, keep=len(gen), dedup="string")
    kept = set(int(i) for i in s.indices)
    assert a in kept and b in kept


def test_screen_rejects_bad_arguments(octet):
    matrix, names, classes, y = octet
    gen = _core.PaperGenerator(matrix, names, classes, 1, "paper")
    with pytest.raises(ValueError):
        _core.screen(gen, y, dedup="nope")
    with pytest.raises(ValueError):
        _core.screen(gen, y[:-1])
    with pytest.raises(ValueError):
        _core.screen(gen, np.ones_like(y))
    with pytest.raises(ValueError):
        _core.screen(gen, y, block=0)


def test_variance_filter_threshold_matches_oracle(octet):
    matrix, names, classes, y = octet
    gen = _core.PaperGenerator(matrix, names, classes, 2, "paper")
    _, values, _ = oracle_full(2)
    for vf in (0.0, 0.2, 1.0):
        r = _core.screen(gen, y, keep=5, variance_filter=vf, dedup="string")
        assert r.n_kept == int(screen(values, vf).sum()), vf


# ---------------------------------------------------------------------------
# determinism


def screen_key(r):
    return (r.indices.tolist(), r.r2.view(np.uint64).tolist(),
            {k: getattr(r, k) for k in dir(r) if k.startswith("n_")})


@pytest.mark.parametrize("generation,dedup", [(1, "string"), (1, "value"), (4, "value")])
def test_screen_is_deterministic_over_threads_and_blocks(octet, generation, dedup):
    matrix, names, classes, y = octet
    gen = _core.PaperGenerator(matrix, names, classes, generation, "paper")
    before = _core.max_threads()
    try:
        _core.set_threads(1)
        one = _core.screen(gen, y, keep=2000, dedup=dedup)
        _core.set_threads(2)
        two = _core.screen(gen, y, keep=2000, dedup=dedup)
    finally:
        _core.set_threads(before)
    assert _core.max_threads() == before
    assert screen_key(one) == screen_key(two)
    for block in (97, 1000, 16384, 10**7):
        other = _core.screen(gen, y, keep=2000, dedup=dedup, block=block)
        assert screen_key(other) == screen_key(one), block


def test_progress_callback_can_cancel(octet):
    matrix, names, classes, y = octet
    gen = _core.PaperGenerator(matrix, names, classes, 1, "paper")
    calls = []

    def progress(stage, done, total):
        calls.append((stage, done, total))
        return done < 20_000

    r = _core.screen(gen, y, keep=10, dedup="string", block=10_000, progress=progress)
    assert r.cancelled is True
    assert r.n_screened == 20_000 < len(gen)
    assert calls[0] == ("screening", 10_000, len(gen))
