"""Large n: the kernels' chunked sums over samples and the memory-bounded
(streamed) pair and triple searches return exactly the in-memory results, and at n ~ 2e4
the scores still equal numpy's least squares."""
from __future__ import annotations

import numpy as np
import pytest

import formulasearch as fs
from formulasearch import ConfigError, _core
from formulasearch.data.datasets import octet
from formulasearch.data.primaries import build_primaries


def same(a, b) -> bool:
    return (a.members.tolist() == b.members.tolist() and a.r2.tolist() == b.r2.tolist()
            and a.n_scored == b.n_scored and a.n_combinations == b.n_combinations)


@pytest.fixture
def restore_threads():
    before = _core.max_threads()
    yield
    _core.set_threads(before)


@pytest.fixture(scope="module")
def large_n():
    """48 candidates (some nearly collinear) over 20,000 samples, a target on two."""
    rng = np.random.default_rng(3)
    n = 20_000
    X = rng.standard_normal((48, n))
    X[1::6] = X[0::6] + 0.1 * rng.standard_normal((8, n))
    y = 0.8 * X[5] - 0.6 * X[31] + rng.standard_normal(n)
    return X, y, _core.StandardizedSet(X, y)


def test_sample_chunks_tiles_and_threads_give_bitwise_equal_results(large_n, restore_threads):
    X, y, s = large_n
    n = X.shape[1]
    ref2 = _core.search_pairs(s, keep=30, tile=16, sample_block=n)  # one pass over the samples
    ref3 = _core.search_triples(s, keep=30, tile=16, sample_block=n)
    for kc in (0, 1, 100, 4096, n - 1):
        for tile, threads in ((16, 1), (32, 2), (256, 2)):
            _core.set_threads(threads)
            assert same(_core.search_pairs(s, keep=30, tile=tile, sample_block=kc), ref2), (kc, tile, threads)
            assert same(_core.search_triples(s, keep=30, tile=tile, sample_block=kc), ref3), (kc, tile, threads)


def r2_lstsq(X, y, members) -> float:
    A = np.column_stack([np.ones(y.size)] + [X[i] for i in members])
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    resid = y - A @ coef
    return 1.0 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))


def test_scores_at_large_n_equal_numpy_lstsq(large_n):
    X, y, s = large_n
    for kernel in (_core.search_pairs, _core.search_triples):
        found = kernel(s, keep=10, sample_block=256)
        assert {5, 31} <= set(found.members[0].tolist())  # the planted pair leads
        for members, r2 in zip(found.members.tolist(), found.r2.tolist()):
            assert r2 == pytest.approx(r2_lstsq(X, y, members), rel=1e-10)


@pytest.fixture(scope="module")
def synthetic_source():
    """The paper's generator over octet-like primaries of 1500 synthetic samples."""
    prim = build_primaries(octet())
    rng = np.random.default_rng(7)
    n = 1500
    signs = np.sign(np.median(prim.matrix, axis=1))[:, None]
    M = np.exp(0.3 * rng.standard_normal((prim.matrix.shape[0], n))) * signs
    gen = _core.PaperGenerator(M, prim.names, prim.classes, 1, "paper")
    y = M[0] / M[4] - 0.3 * M[1] * M[5] + 0.05 * rng.standard_normal(n)
    pool = _core.screen(gen, y, keep=700, dedup="string").indices.tolist()
    return gen, pool, y


@pytest.mark.parametrize("dim", [2, 3])
def test_streamed_search_equals_the_in_memory_search(synthetic_source, restore_threads, dim):
    gen, pool, y = synthetic_source
    the_set = _core.StandardizedSet.from_candidates(gen, pool, y)
    ref = (_core.search_pairs if dim == 2 else _core.search_triples)(the_set, keep=25)
    streamed = _core.search_pairs_streamed if dim == 2 else _core.search_triples_streamed
    for budget_mb in (6.0, 10.0, 1000.0):
        for threads in (1, 2):
            _core.set_threads(threads)
            found = streamed(gen, pool, y, memory_budget_mb=budget_mb, keep=25)
            assert same(found, ref), (budget_mb, threads)
            assert found.peak_bytes <= budget_mb * 2**20
            if budget_mb < 12:  # these budgets hold a few blocks, not the pool
                assert found.block_size < len(pool) and found.peak_bytes < ref.peak_bytes


def test_streamed_search_rejects_a_budget_below_two_small_blocks(synthetic_source):
    gen, pool, y = synthetic_source
    with pytest.raises(ValueError, match="memory budget too small"):
        _core.search_pairs_streamed(gen, pool, y, memory_budget_mb=0.01)


def test_pipeline_memory_budget_streams_to_the_same_models():
    cfg = {"features": {"method": 1, "dedup": "string"}, "search": {"max_dim": 3, "top_2d": 3000, "top_3d": 300}}
    plain = fs.run(cfg)
    streamed = fs.run({**cfg, "search": {**cfg["search"], "memory_budget_mb": 1.5}})
    key = lambda r: [(m.formulas, m.intercept, m.coefficients, m.rmse) for m in r.models]  # noqa: E731
    assert key(plain) == key(streamed)
    assert streamed.search_stats["2D"]["peak_mb"] <= 1.5 < plain.search_stats["2D"]["peak_mb"]  # it did stream
    assert streamed.search_stats["3D"]["peak_mb"] <= 1.5
    with pytest.raises(ConfigError, match="memory_budget_mb"):
        fs.run({**cfg, "search": {**cfg["search"], "memory_budget_mb": 0}})


def test_sisso_l0_step_streams_within_the_budget_to_the_same_models(monkeypatch):
    cfg = {"features": {"generator": "sisso", "primaries": ["IP_A", "IP_B", "rs_A", "rs_B", "rp_A", "rp_B"],
                        "ops": ["+", "-", "*", "/", "^2"], "rung": 2},
           "search": {"max_dim": 2, "n_sis": 500}, "validation": {"nested": False}}
    plain = fs.run(cfg)
    blocks = []
    for name in ("search_pairs_streamed", "search_triples_streamed"):
        def spy(*args, _kernel=getattr(_core, name), **kwargs):
            found = _kernel(*args, **kwargs)
            blocks.append((len(args[1]), int(found.block_size)))
            return found
        monkeypatch.setattr(_core, name, spy)
    budget = 2.2  # MB: the smallest blocks (16 candidates) and the per-thread buffers
    streamed = fs.run({**cfg, "search": {**cfg["search"], "memory_budget_mb": budget}})
    key = lambda r: [(m.formulas, m.intercept, m.coefficients, m.rmse) for m in r.models]  # noqa: E731
    assert key(plain) == key(streamed)
    assert len(blocks) == 1 and blocks[0][1] < blocks[0][0]  # the l0 step ran in several blocks
    assert streamed.search_stats["2D"]["peak_mb"] <= budget
