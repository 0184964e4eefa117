"""Honest errors: validation of a fixed model, and of the whole search (nested).

- A fixed model (its formulas fixed, only the linear coefficients refit):
  leave-one-out in closed form (hat matrix diagonal, no refits), k-fold, or the
  paper's N random train/test splits. The same folds/splits for every model
  (seeded), from the C++ core.
- The search itself: the whole search (screening, ranking, pair/triple
  selection) is repeated on the training part of each outer fold and its
  chosen models are scored on the held-out part. That is the error to expect
  from running this method on new data, and how often each formula is chosen
  again (selection stability).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, Callable

import numpy as np

from . import _core


def test_sets(n: int, method: str, k: int, n_splits: int, test_fraction: float, seed: int) -> list[list[int]]:
    """Held-out samples of each fold (kfold) or split (splits)."""
    if method == "kfold":
        return _core.kfold_sets(n, k, seed)
    if method == "splits":
        return _core.random_splits(n, n_splits, test_fraction, seed)
    raise ValueError(f"no test sets for validation method {method!r}")


def model_cv(features: np.ndarray, y: np.ndarray, settings) -> float | None:
    """Out-of-sample RMSE of a fixed model with these features (d x n).

    loo: sqrt(PRESS / n); kfold: sqrt of the MSE over all held-out samples;
    splits: sqrt of the mean test MSE over the splits (the paper's measure).
    `settings`: a ValidationConfig. None when validation is off.
    """
    method = settings.method
    if method == "none":
        return None
    features = np.ascontiguousarray(np.atleast_2d(features), dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    if method == "loo":
        e = np.asarray(_core.loo_residuals(features, y))
        return math.sqrt(float(e @ e) / y.size)
    tests = test_sets(y.size, method, settings.k, settings.n_splits, settings.test_fraction, settings.seed)
    mse = np.asarray(_core.test_set_mse(features, y, tests))
    if method == "kfold":
        sizes = np.array([len(t) for t in tests], dtype=float)
        return math.sqrt(float(mse @ sizes) / sizes.sum())
    return math.sqrt(float(mse.mean()))


def nested_cv(run_search: Callable[[np.ndarray], list], evaluate: Callable[[Any, np.ndarray], np.ndarray],
              y: np.ndarray, n_folds: int, seed: int, max_dim: int,
              progress: Callable | None = None) -> dict[str, Any]:
    """Repeat the whole search inside each outer fold.

    `run_search(train_samples)` runs the search on those samples and returns
    its models (best first per dimension); `evaluate(model, samples)` gives a
    model's predictions there. Returns per-dimension outer-fold RMSEs with
    their mean and spread, and how often each formula was selected.
    """
    n_folds = min(n_folds, y.size // 2)  # each training part keeps at least half the samples
    if n_folds < 2:
        return {"folds": 0, "seed": seed, "dimensions": {}, "notes": [f"too few samples ({y.size}) for nested CV"]}
    folds = _core.kfold_sets(y.size, n_folds, seed)
    per_dim: dict[int, list[float]] = {d: [] for d in range(1, max_dim + 1)}
    chosen: dict[int, Counter] = {d: Counter() for d in range(1, max_dim + 1)}
    notes: list[str] = []
    for f, test in enumerate(folds, start=1):
        test = np.asarray(test, dtype=int)
        train = np.setdiff1d(np.arange(y.size), test)
        try:
            models = run_search(train)
        except ValueError as exc:  # e.g. too few training samples for the search's settings
            notes.append(f"fold {f}: the search failed on its training part: {exc}")
            continue
        for d in per_dim:
            best = next((m for m in models if m.dimension == d), None)
            if best is None:
                continue
            pred = evaluate(best, test)
            per_dim[d].append(math.sqrt(float(np.mean((y[test] - pred) ** 2))))
            for formula in best.formulas:
                chosen[d][formula] += 1
        if progress is not None:
            progress("nested CV", f, len(folds))
    report = {"folds": len(folds), "seed": seed, "dimensions": {}, "notes": notes}
    for d, errors in per_dim.items():
        if not errors:
            continue
        e = np.asarray(errors)
        report["dimensions"][f"{d}D"] = {
            "fold_rmse": errors, "mean_rmse": float(e.mean()), "std_rmse": float(e.std(ddof=1)) if e.size > 1 else 0.0,
            "min_rmse": float(e.min()), "max_rmse": float(e.max()), "folds_with_model": int(e.size),
            "most_selected": [[formula, count] for formula, count in chosen[d].most_common(5)],
        }
    return report
