"""Which samples are held out: k-fold and random splits (from the core), stratified folds for classes."""
from __future__ import annotations

import numpy as np

from .. import _core


def test_sets(n: int, method: str, k: int, n_splits: int, test_fraction: float, seed: int) -> list[list[int]]:
    """Held-out samples of each fold (kfold) or split (splits)."""
    if method == "kfold":
        return _core.kfold_sets(n, k, seed)
    if method == "splits":
        return _core.random_splits(n, n_splits, test_fraction, seed)
    raise ValueError(f"no test sets for validation method {method!r}")

def stratified_folds(labels: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """Test samples of k folds, each class dealt round-robin over the folds after a seeded shuffle."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    start = 0
    for c in range(int(labels.max()) + 1):
        members = rng.permutation(np.flatnonzero(labels == c))
        for i, s in enumerate(members):
            folds[(start + i) % k].append(int(s))
        start = (start + len(members)) % k  # the next class continues where this one stopped: even fold sizes
    return [np.array(sorted(f), dtype=np.int64) for f in folds if f]


def task_splits(tasks: np.ndarray, n_splits: int, test_fraction: float, seed: int) -> list[np.ndarray]:
    """Random train/test splits stratified by task: each split holds out test_fraction of every task (at least
    one sample, never all but one), so every training part keeps every task."""
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(tasks == t) for t in range(int(tasks.max()) + 1)]
    out = []
    for _ in range(n_splits):
        test = [rng.choice(m, min(m.size - 1, max(1, round(test_fraction * m.size))), replace=False) for m in members]
        out.append(np.sort(np.concatenate(test)))
    return out
