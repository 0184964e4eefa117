"""A search stopped through its progress callback reports the combinations it
evaluated (those of the tiles, blocks or rows it completed, as its last
progress report said), not the ones it planned; run to the end, all of them."""
import numpy as np
import pytest

from formulasearch import _core
from formulasearch.data.datasets import octet
from formulasearch.data.primaries import build_primaries


def random_pool(m, n, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)), rng.normal(size=n)


class StopAt:
    """A progress callback that asks to stop at its `calls`-th report (of `stage`, if given)."""

    def __init__(self, calls, stage=None):
        self.calls, self.stage, self.seen = calls, stage, []

    def __call__(self, stage, done, total):
        self.seen.append((stage, done, total))
        mine = [s for s in self.seen if self.stage in (None, s[0])]
        return not (self.stage in (None, stage) and len(mine) >= self.calls)


def test_cancelled_pair_search_counts_the_pairs_of_the_tiles_it_completed():
    m, tile = 300, 16
    values, y = random_pool(m, 40, 1)
    planned = _core.count_combinations(m, 2)
    before = _core.max_threads()
    try:
        _core.set_threads(1)  # batches of 32 tile pairs between reports
        stop = StopAt(2)
        found = _core.search_pairs(values, y, max_pair_corr=1.0, keep=m * m, tile=tile, progress=stop)
    finally:
        _core.set_threads(before)
    n_tiles = -(-m // tile)
    rank = {}
    for i in range(n_tiles):
        for j in range(i, n_tiles):
            rank[i, j] = len(rank)
    completed = [(i, j) for i in range(m) for j in range(i + 1, m) if rank[i // tile, j // tile] < 64]
    assert found.cancelled
    assert 0 < found.n_combinations < planned
    assert found.n_combinations == len(completed) == stop.seen[-1][1]
    # Every pair evaluated is valid here (no |r| limit) and kept (keep >= all pairs).
    assert found.n_scored == found.n_combinations == len(found.members)
    assert sorted(map(tuple, found.members.tolist())) == completed

    whole = _core.search_pairs(values, y, max_pair_corr=1.0, keep=5, tile=tile, progress=StopAt(10**9))
    assert not whole.cancelled and whole.n_combinations == planned


def test_cancelled_triple_search_counts_the_triples_of_the_rows_it_completed():
    m = 2000  # a few first members per report
    values, y = random_pool(m, 40, 2)
    planned = _core.count_combinations(m, 3)
    stop = StopAt(1)
    found = _core.search_triples(values, y, max_pair_corr=1.0, keep=5, progress=stop)
    assert found.cancelled
    assert 0 < found.n_combinations < planned
    assert found.n_combinations == stop.seen[-1][1]
    rows = [_core.count_combinations(m, 3, 0, i) for i in range(1, 100)]
    assert found.n_combinations in rows
    whole = _core.search_triples(values[:60], y, max_pair_corr=1.0, keep=5)
    assert not whole.cancelled and whole.n_combinations == _core.count_combinations(60, 3)


@pytest.mark.parametrize("kernel", ["search_pairs_streamed", "search_triples_streamed"])
def test_cancelled_streamed_search_counts_what_it_evaluated(kernel):
    prim = build_primaries(octet(), None)
    gen = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1, "paper")
    y = np.ascontiguousarray(prim.target, dtype=float)
    pool = _core.screen(gen, y, keep=400).indices.tolist()
    dim = 2 if kernel == "search_pairs_streamed" else 3
    planned = _core.count_combinations(len(pool), dim)
    fn = getattr(_core, kernel)
    budget = 0.05 if dim == 2 else 1.5  # several blocks
    tile = {"tile": 16} if dim == 2 else {}  # small per-thread buffers, so that small budgets fit
    whole = fn(gen, pool, y, memory_budget_mb=budget, keep=5, **tile)
    assert whole.block_size < len(pool)
    assert not whole.cancelled and whole.n_combinations == planned
    stop = StopAt(2, "pairs" if dim == 2 else "correlations")
    found = fn(gen, pool, y, memory_budget_mb=budget, keep=5, progress=stop, **tile)
    assert found.cancelled
    if dim == 2:
        assert 0 < found.n_combinations < planned and found.n_combinations == stop.seen[-1][1]
        assert found.n_scored <= found.n_combinations
    else:  # stopped while computing the correlations: no triple was scored
        assert found.n_combinations == found.n_scored == 0


def test_cancelled_class_pair_search_counts_the_pairs_of_the_rows_it_completed():
    m = 100
    values, _ = random_pool(m, 30, 3)
    labels = (np.arange(30) % 2).astype(np.int32)
    stop = StopAt(1)
    found = _core.search_class_pairs(values, labels, keep=3, progress=stop)
    first_rows = sum(m - 1 - i for i in range(32))  # rows of the first member per report
    assert found.cancelled
    assert found.n_combinations == first_rows == stop.seen[-1][1]
    assert found.n_scored == found.n_combinations  # no |r| limit: every pair evaluated is scored
    whole = _core.search_class_pairs(values, labels, keep=3)
    assert not whole.cancelled and whole.n_combinations == m * (m - 1) // 2
