"""Validation of a fixed model: its formulas fixed, only the linear coefficients (or the separator) refit.

- Least squares: leave-one-out in closed form (hat matrix diagonal, no refits),
  k-fold, or the paper's N random train/test splits; the same folds or splits
  (seeded, from the C++ core) for every model.
- Classification: stratified k-fold accuracy of the separator that predicts (the
  accuracy score's own, else the logistic one), refit on each fold's training part.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .. import _core
from ..config import Config
from ..data.primaries import Primaries
from ..results import Result
from ..search.classification import core_class_weight, fit_separator
from .folds import stratified_folds, task_splits, test_sets


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


def task_fit_predict(features: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Least squares with intercept on the training samples (features: d x n, d may be 0), predicting the test ones."""
    design = lambda rows: np.column_stack([np.ones(rows.size), features[:, rows].T])  # noqa: E731
    coef, *_ = np.linalg.lstsq(design(train), y[train], rcond=None)
    return design(test) @ coef


def task_model_cv(features: np.ndarray, y: np.ndarray, tasks: np.ndarray, settings) -> float | None:
    """model_cv of a multi-task model: each task's intercept and coefficients refit on the training samples of
    that task (features: d x n; d = 0 is the per-task mean). loo: each task's fit is independent of the
    others, so the held-out residuals are each task's own (hat matrix, no refits); kfold: folds stratified
    by task; splits: each task's test_fraction held out. Every training part holds every task."""
    method = settings.method
    if method == "none":
        return None
    features = np.asarray(features, dtype=float).reshape(-1, y.size)
    groups = [np.flatnonzero(tasks == t) for t in range(int(tasks.max()) + 1)]
    if method == "loo":
        press = 0.0
        for rows in groups:
            design = np.column_stack([np.ones(rows.size), features[:, rows].T])
            q, _ = np.linalg.qr(design)
            leverage = np.sum(q * q, axis=1)
            if np.any(leverage > 1 - 1e-12):
                raise ValueError("a sample has leverage 1 in its task: leave-one-out is undefined")
            e = y[rows] - design @ np.linalg.lstsq(design, y[rows], rcond=None)[0]
            press += float(np.sum((e / (1 - leverage)) ** 2))
        return math.sqrt(press / y.size)
    tests = (stratified_folds(tasks, settings.k, settings.seed) if method == "kfold" else
             task_splits(tasks, settings.n_splits, settings.test_fraction, settings.seed))
    mse = []
    for test in tests:
        train = np.setdiff1d(np.arange(y.size), test)
        predicted = np.empty(test.size)
        for rows in groups:
            held = np.isin(test, rows)
            predicted[held] = task_fit_predict(features, y, np.intersect1d(train, rows), test[held])
        mse.append(float(np.mean((y[test] - predicted) ** 2)))
    if method == "kfold":
        sizes = np.array([len(t) for t in tests], dtype=float)
        return math.sqrt(float(np.asarray(mse) @ sizes) / sizes.sum())
    return math.sqrt(float(np.mean(mse)))


def cv_accuracy(values: np.ndarray, labels: np.ndarray, folds: list[np.ndarray], l2: float, score: str = "overlap",
                class_weight: str | list[float] = "none") -> float:
    """Accuracy over held-out samples, the separator that predicts for `score` refit without each fold
    (formulas fixed)."""
    values = np.ascontiguousarray(np.atleast_2d(values), dtype=float)
    correct = 0
    for test in folds:
        train = np.setdiff1d(np.arange(labels.size), test)
        fit = fit_separator(values[:, train], labels[train], score, l2, class_weight)
        correct += int(np.sum(np.asarray(fit.predict(np.ascontiguousarray(values[:, test]))) == labels[test]))
    return correct / labels.size


def mean_predictor_cv(y: np.ndarray, settings) -> float | None:
    """The out-of-sample RMSE of predicting every held-out sample by the mean of the training target, with the
    same folds or splits as model_cv: the baseline a formula's CV error must beat."""
    y = np.asarray(y, dtype=float)
    if settings.method == "none":
        return None
    if settings.method == "loo":  # the held-out residual is (y_i - mean) * n / (n - 1)
        return float(np.std(y) * y.size / (y.size - 1))
    tests = test_sets(y.size, settings.method, settings.k, settings.n_splits, settings.test_fraction, settings.seed)
    mse = []
    for test in tests:
        train = np.setdiff1d(np.arange(y.size), test)
        mse.append(float(np.mean((y[test] - y[train].mean()) ** 2)))
    if settings.method == "kfold":
        sizes = np.array([len(t) for t in tests], dtype=float)
        return math.sqrt(float(np.asarray(mse) @ sizes) / sizes.sum())
    return math.sqrt(float(np.mean(mse)))


def validate_models(cfg: Config, prim: Primaries, result: Result) -> None:
    """Out-of-sample RMSE of every kept model (its formulas fixed), the same folds for all."""
    v = cfg.validation
    result.validation["method"] = v.method
    result.validation["settings"] = {"k": v.k, "n_splits": v.n_splits, "test_fraction": v.test_fraction,
                                     "seed": v.seed, "rank_1d": v.rank_1d}
    if v.method == "none":
        return
    if v.method == "kfold" and v.k > prim.target.size:
        result.messages.append(f"validation: k = {v.k} folds for {prim.target.size} samples; using leave-one-out instead")
        v = replace(v, method="loo")
    tasks = prim.tasks
    if tasks is None:
        result.validation["baseline"] = {"rmse": float(np.std(prim.target)),
                                         "cv_rmse": mean_predictor_cv(prim.target, v), "method": v.method}
    else:  # the baseline of a multi-task model: each task's own mean
        none = np.empty((0, prim.target.size))
        within = sum(float(np.sum((prim.target[tasks == t] - prim.target[tasks == t].mean()) ** 2))
                     for t in range(len(prim.task_names)))
        result.validation["baseline"] = {"rmse": math.sqrt(within / prim.target.size), "per_task_mean": True,
                                         "cv_rmse": task_model_cv(none, prim.target, tasks, v), "method": v.method}
        result.validation["folds"] = "stratified by task: every training part holds every task"
    matrix = prim.rows(result.variables)
    for m in result.models:
        values = m.values(result.variables, matrix)
        try:
            m.cv_rmse = model_cv(values, prim.target, v) if tasks is None else task_model_cv(values, prim.target,
                                                                                             tasks, v)
        except ValueError as exc:  # e.g. a sample with leverage 1
            m.notes["cv_error"] = str(exc)
        m.cv_method = v.method


def validate_classifiers(cfg: Config, prim: Primaries, result: Result) -> None:
    """Stratified k-fold accuracy of every kept classifier, its formulas fixed, the same folds for all."""
    c = cfg.classification
    labels = np.asarray(result.class_labels, dtype=np.int32)
    k = min(c.cv_folds, int(np.bincount(labels).min()))
    if k < c.cv_folds:
        result.messages.append(f"classification CV: {k} folds (the smallest class has {k} samples), not {c.cv_folds}")
    folds = stratified_folds(labels, k, c.seed)
    matrix = prim.rows(result.variables)
    result.validation["method"] = "stratified k-fold accuracy"
    result.validation["settings"] = {"k": k, "seed": c.seed, "l2": c.l2, "separator":
                                     "accuracy" if c.score == "accuracy" else "logistic"}
    for m in result.models:
        m.classification["cv_accuracy"] = cv_accuracy(m.values(result.variables, matrix), labels, folds, c.l2,
                                                      c.score, core_class_weight(c.class_weight, result.classes))
        m.classification["cv_folds"] = k
