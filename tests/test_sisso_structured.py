"""The structured enumeration of a SISSO rung and the screening cache (issue 13, item 1).

- The structured lazy block (SissoSpace(structured=True), the default) holds the
  generated candidates only; the unstructured walk (structured=False) visits the
  whole product and reports the rejected indices as not generated. Both must
  give the same formulas (sorted postfix strings), in the same order
  (product_index), with the same values, rung after rung, for spaces with mixed
  units, several operator sets, with and without max_complexity and strict_units.
- Screening through a ScreenCache (the SIS passes 2..d) gives bit for bit the
  result of screening without one, also past its budget, and for 1 and 3 threads.
"""

from __future__ import annotations

import numpy as np
import pytest

import formulasearch as fs
from formulasearch import _core
from formulasearch.data.units import unit_matrix
from formulasearch.search import sisso

SMALL_CASES = [
    # (primaries, units, ops per rung, max_complexity, strict_units, keep every k-th candidate of stored rungs)
    (["IP_A", "IP_B", "rs_A", "rp_B", "EA_A"], ["eV", "eV", "angstrom", "angstrom", "eV"],
     [["+", "-", "*", "/", "|-|"]] * 2, 0, False, 1),
    (["IP_A", "EA_B", "rs_A", "rp_A", "rd_B"], ["eV", "eV", "angstrom", "angstrom", "angstrom"],
     [["+", "|-|", "exp", "^2", "/"]] * 3, 4, False, 3),
    (["IP_A", "rs_A", "rp_B", "x1", "x2", "EA_B"], ["eV", "angstrom", "angstrom", "", "", "eV"],
     [["+", "*", "/", "|-|", "exp", "^2", "sqrt", "^-1", "log"]] * 3, 3, True, 9),
    (["IP_A", "rs_A", "x1", "EA_A"], ["eV", "angstrom", "", "eV"],
     [["+", "*", "/", "exp", "^2", "^-1"], ["-", "*", "/", "^3"], ["+", "-", "*", "/", "|-|"]], 0, False, 23),
    (["IP_A", "IP_B", "rs_A", "rs_B", "rp_A"], ["eV", "eV", "angstrom", "angstrom", "angstrom"],
     [["+", "-", "|-|", "^2", "log"]] * 3, 5, False, 2),
]


def small_space(case, structured: bool, seed: int = 5):
    names, units, ops, max_complexity, strict, _ = case
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(0.3, 2.5, size=(len(names), 9))
    matrix[1, 2] = -0.4  # a negative value: log and sqrt of it are NaN
    sixths, _ = unit_matrix(units)
    return _core.SissoSpace(np.ascontiguousarray(matrix), names, sixths, ops, max_complexity, strict,
                            structured=structured)


def walk(space) -> list[int]:
    """Generated indices of the lazy block, index by index (the brute force when unstructured)."""
    return [i for i in range(space.n_stored, len(space)) if space.generated(i)]


@pytest.mark.parametrize("case", SMALL_CASES, ids=[f"case{k}" for k in range(len(SMALL_CASES))])
def test_structured_rungs_equal_the_product_walk(case):
    names, keep_every = case[0], case[-1]
    s, u = small_space(case, True), small_space(case, False)
    assert s.structured and not u.structured
    rung = 1
    while True:
        got, want = walk(s), walk(u)
        assert got == list(range(s.n_stored, len(s)))  # structured: every index is a candidate
        assert len(u) == u.n_stored + u.product_size and s.product_size == u.product_size
        assert len(got) <= s.n_visited <= s.product_size and u.n_visited == u.product_size
        # The same set of formulas ...
        got_codes = [s.formula(i).to_postfix(names) for i in got]
        want_codes = [u.formula(i).to_postfix(names) for i in want]
        assert sorted(got_codes) == sorted(want_codes), f"rung {rung}"
        assert len(set(got_codes)) == len(got_codes)
        # ... in the same order, with the same values (bit for bit; NaN where NaN).
        assert got_codes == want_codes, f"rung {rung}: order differs"
        assert [s.product_index(i) for i in got] == want
        assert np.array_equal(s.evaluate(got), u.evaluate(want), equal_nan=True)
        assert [s.complexity(i) for i in got] == [u.complexity(i) for i in want]
        if rung == s.max_rung:
            break
        s.advance(got[::keep_every])
        u.advance(want[::keep_every])
        rung += 1
    assert rung == len(case[2])


def test_complexity_limit_prunes_the_visit():
    """With max_complexity the enumeration visits a small part of the product."""
    case = SMALL_CASES[1]
    s = small_space(case, True)
    s.advance(walk(s))
    s.advance(walk(s)[::2])
    assert s.lazy_rung == 3
    assert s.n_visited < s.product_size / 10, (s.n_visited, s.product_size)
    assert all(s.complexity(i) <= 4 for i in range(s.n_stored, len(s), 7))


def rung2_octet_space():
    cfg = fs.Config.from_dict({"features": {"generator": "sisso", "rung": 2, "ops": ["+", "|-|", "exp", "^2", "/"],
                                            "primaries": ["IP_A", "IP_B", "EA_A", "rs_A", "rp_A", "rp_B"]}})
    prim = fs.build_primaries(fs.datasets.octet())
    space, names, info = sisso.build_space(cfg, prim)
    return space, np.ascontiguousarray(prim.target, dtype=float), cfg


def same_screening(a, b) -> None:
    for key in ("n_candidates", "n_screened", "n_nonfinite", "n_out_of_range", "n_low_variance",
                "n_string_duplicates", "n_value_duplicates", "n_kept", "cancelled", "interrupted"):
        assert getattr(a, key) == getattr(b, key), key
    assert np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.score, b.score)  # bit for bit


def test_screening_cache_is_bitwise_identical():
    space, y, cfg = rung2_octet_space()
    opts = sisso.screen_options(cfg)
    rng = np.random.default_rng(1)
    targets = [y, np.vstack([y - 0.3 * rng.standard_normal(y.size), y ** 2]), rng.standard_normal(y.size)]
    cache = _core.ScreenCache(memory_budget_mb=512)
    small = _core.ScreenCache(memory_budget_mb=0.5)  # holds one block, not the candidates
    for k, t in enumerate(targets):
        plain = _core.screen(space, t, keep=300, **opts)
        assert cache.ready == (k > 0)
        cached = _core.screen(space, t, keep=300, **opts, cache=cache)
        same_screening(plain, cached)
        assert cache.ready and 0 < cache.size <= plain.n_kept and cache.bytes > 0
        same_screening(plain, _core.screen(space, t, keep=300, **opts, cache=small))
        assert small.over_budget and not small.ready and small.size == 0
    # Other filters or another source: the cache is refilled, not misused.
    other = dict(opts, variance_filter=0.2)
    same_screening(_core.screen(space, y, keep=50, **other), _core.screen(space, y, keep=50, **other, cache=cache))
    same_screening(_core.screen(space, y, keep=50, **opts), _core.screen(space, y, keep=50, **opts, cache=cache))
    # Splits ranking through the cache.
    splits = _core.random_splits(y.size, 5, 0.1, 3)
    same_screening(_core.screen(space, y, keep=40, **opts, rank_splits=splits),
                   _core.screen(space, y, keep=40, **opts, rank_splits=splits, cache=cache))
    cache.clear()
    assert not cache.ready and cache.size == 0


def test_screening_and_enumeration_are_the_same_on_1_and_3_threads():
    before = _core.max_threads()
    results = []
    try:
        for threads in (1, 3):
            _core.set_threads(threads)
            space, y, cfg = rung2_octet_space()
            cache = _core.ScreenCache(memory_budget_mb=256)
            first = _core.screen(space, y, keep=500, **sisso.screen_options(cfg), cache=cache)
            second = _core.screen(space, y[::-1].copy(), keep=500, **sisso.screen_options(cfg), cache=cache)
            values = space.evaluate(list(range(0, len(space), 13)))
            results.append((first, second, values, len(space), space.n_visited))
    finally:
        _core.set_threads(before)
    (a1, a2, av, an, avis), (b1, b2, bv, bn, bvis) = results
    same_screening(a1, b1)
    same_screening(a2, b2)
    assert an == bn and avis == bvis
    assert np.array_equal(av, bv, equal_nan=True)


RUNG3 = {"features": {"generator": "sisso", "rung": 3, "max_complexity": 4, "ops": ["+", "|-|", "exp", "^2", "/"],
                      "primaries": ["IP_A", "EA_B", "rs_A", "rp_A", "rd_B"]},
         "search": {"max_dim": 3, "n_sis": 30}, "validation": {"nested": False}}


def models_of(r, max_dim=3):
    return [(m.dimension, m.formulas, m.rmse) for m in r.models if m.dimension <= max_dim]


def test_route_with_and_without_cache_and_structure_finds_the_same_models(monkeypatch):
    """The whole SISSO route: structured + cached, structured streamed, and (1D: the walk is
    slow) the unstructured walk: the same features, counts and models."""
    fast = fs.run(RUNG3)
    fsp = fast.feature_space
    assert fsp["screening_cache"]["used"] and len(fsp["screenings"]) == 3
    assert [p["cached"] for p in fsp["screenings"]] == [False, True, True]
    last = fsp["rungs"][-1]
    assert last["rung"] == 3 and last["generated"] <= last["visited"] <= last["product"]
    assert last["visited"] < last["product"] / 10  # the complexity limit prunes the visit
    assert "visited" in fast.summary(1)
    monkeypatch.setattr(sisso.SissoRoute, "cache_screening", False)
    streamed = fs.run(RUNG3)
    assert "screening_cache" not in streamed.feature_space
    assert models_of(fast) == models_of(streamed)
    monkeypatch.setattr(sisso.SissoRoute, "structured", False)
    walked = fs.run({**RUNG3, "search": {"max_dim": 1, "n_sis": 30}})
    assert walked.feature_space["rungs"][-1]["visited"] == last["product"]
    assert models_of(fast, 1) == models_of(walked)
    for r in (streamed, walked):
        assert [(g["rung"], g["generated"], g["kept"]) for g in r.feature_space["rungs"]] == \
            [(g["rung"], g["generated"], g["kept"]) for g in fsp["rungs"]]


def test_cache_budget_from_the_config():
    cfg = fs.Config.from_dict({"features": {"generator": "sisso", "memory_budget_mb": 100}})
    assert sisso.cache_budget_mb(cfg, 30.0) == 70.0
    assert sisso.cache_budget_mb(cfg, 130.0) == 0.0
    total = sisso.physical_memory_mb()
    if total:
        assert sisso.cache_budget_mb(fs.Config.from_dict({}), 0.0) == pytest.approx(0.25 * total)


def test_bounded_deduplication_keeps_the_same_top_list():
    """Past dedup_limit keys, only candidates that entered the top list are remembered (memory stays bounded on
    spaces of billions): the top list is the same as with the exact deduplication, and the duplicate counts
    become lower bounds. Checked against numpy: the list is the best |corr| among the candidates that are not
    value duplicates (up to sign and scale) of an earlier one."""
    space, y, cfg = rung2_octet_space()
    opts = sisso.screen_options(cfg)
    rng = np.random.default_rng(4)
    for target in (y, rng.standard_normal(y.size)):
        exact = _core.screen(space, target, keep=200, **opts)
        assert not exact.dedup_bounded and exact.n_value_duplicates > 1000
        for limit in (1, 50, 500):
            bounded = _core.screen(space, target, keep=200, **opts, dedup_limit=limit)
            assert bounded.dedup_bounded
            assert np.array_equal(bounded.indices, exact.indices)
            assert np.array_equal(bounded.score, exact.score)
            assert bounded.n_candidates == exact.n_candidates
            assert bounded.n_value_duplicates < exact.n_value_duplicates
            assert bounded.n_kept + bounded.n_value_duplicates == exact.n_kept + exact.n_value_duplicates
        # A list that holds every candidate forgets none: still exact.
        everything = _core.screen(space, target, keep=len(space), **opts, dedup_limit=1)
        assert not everything.dedup_bounded and everything.n_value_duplicates == exact.n_value_duplicates
        # A cache is not filled by a bounded screening (it would hold duplicates).
        cache = _core.ScreenCache(memory_budget_mb=512)
        _core.screen(space, target, keep=200, **opts, dedup_limit=10, cache=cache)
        assert not cache.ready and cache.size == 0

    # numpy: standardised values up to sign; a candidate is a duplicate of an earlier one when they agree.
    values = np.asarray(space.evaluate(np.arange(len(space), dtype=np.uint64)))
    finite = np.all(np.isfinite(values), axis=1) & np.all(np.abs(values) < 1e150, axis=1)
    values[~finite] = 0
    mean = np.where(finite, values.mean(axis=1), 0)
    std = np.where(finite, values.std(axis=1), 0)
    ok = finite & (std > 0) & (np.abs(std / np.where(mean == 0, 1, mean)) >= opts["variance_filter"])
    z = np.zeros_like(values)
    z[ok] = (values[ok] - mean[ok, None]) / std[ok, None]
    first_sign = np.sign(z[np.arange(len(z)), np.argmax(np.abs(z) > 1e-9, axis=1)])
    key = np.round(z * first_sign[:, None], 6)
    _, first = np.unique(key[ok], axis=0, return_index=True)
    unique = np.flatnonzero(ok)[np.sort(first)]
    yc = (y - y.mean()) / y.std()
    r2 = (z[unique] @ yc / y.size) ** 2
    order = unique[np.lexsort((unique, -np.round(r2, 9)))][:200]
    bounded = _core.screen(space, y, keep=200, **opts, dedup_limit=1)
    agree = np.mean(np.isin(bounded.indices[:150], order))
    assert agree > 0.97, agree
