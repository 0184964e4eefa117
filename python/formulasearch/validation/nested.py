"""Nested cross-validation: the whole search (screening, ranking, combination selection) repeated on the
training part of each outer fold, its chosen models scored on the held-out part.

That is the error to expect from running this search on new data, not the error of
the printed formula; how often each formula is chosen again measures how stable the
selection is. One driver, :func:`outer_folds`, runs the folds; the least-squares
and classification reports are two summaries of its outcomes.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, Callable, Sequence

import numpy as np

from .. import _core
from ..results import Model, best_of_dimension
from ..search.classification import fit_separator
from .folds import stratified_folds

ProgressFn = Callable[[str, int, int], Any]


class NotSwept(Exception):
    """A sweep that would not be the same search as the fold-by-fold one (the reason as its message):
    the folds then run fold by fold."""


SearchFn = Callable[[np.ndarray], list[Model]]


def outer_folds(folds: Sequence[Sequence[int]], n_samples: int, run_search: SearchFn,
                assess: Callable[[list[Model], np.ndarray, np.ndarray], Any],
                progress: ProgressFn | None = None) -> tuple[list[Any], list[str], bool]:
    """For each outer fold (its test samples): `run_search(train)` gives the models the search chooses on the
    training part, `assess(models, train, test)` scores them on the held-out part. Returns the assessments
    of the folds whose search ran, a note for each fold whose search failed on its training part, and
    whether Ctrl-C stopped the folds early (the assessments are then those of the folds finished)."""
    outcomes, notes = [], []
    try:
        if progress is not None:
            progress("nested CV", 0, len(folds))
        for f, test in enumerate(folds, start=1):
            test = np.asarray(test, dtype=int)
            train = np.setdiff1d(np.arange(n_samples), test)
            try:
                models = run_search(train)
            except ValueError as exc:  # e.g. too few training samples for the search's settings
                notes.append(f"fold {f}: the search failed on its training part: {exc}")
                continue
            outcomes.append(assess(models, train, test))
            if progress is not None:
                progress("nested CV", f, len(folds))
    except KeyboardInterrupt:  # the folds finished so far stay
        return outcomes, notes, True
    return outcomes, notes, False


def swept(found: Any, run_search: SearchFn) -> SearchFn:
    """run_search over the folds' models of a sweep (validation.sweep.FoldModels), fold after fold: a fold
    the sweep did not finish (Ctrl-C) stops the folds there."""
    folds = iter(found.models)

    def from_sweep(train: np.ndarray) -> list[Model]:
        chosen = next(folds, None)
        if chosen is None:
            raise KeyboardInterrupt
        return chosen

    return from_sweep


def interrupted_note(done: int, total: int) -> str:
    return (f"interrupted (Ctrl-C) after {done} of {total} outer folds: the errors below are over the folds "
            "finished")


def nested_regression(run_search: SearchFn, predict_fold: Callable[[Model, np.ndarray], np.ndarray],
                      y: np.ndarray, n_folds: int, seed: int, max_dim: int,
                      progress: ProgressFn | None = None,
                      sweep: Callable[[list[list[int]]], Any] | None = None,
                      tasks: np.ndarray | None = None) -> dict[str, Any]:
    """Per-dimension outer-fold RMSEs (mean and spread) of the best model of each dimension, and how
    often each formula was selected. `predict_fold(model, test)`: the model's predictions there.
    `sweep(folds)`: every fold's models from one sweep (validation.sweep), else `run_search` fold by fold.
    `tasks` (multi-task): the outer folds are stratified by task, so every training part holds every task, and
    the baseline predicts each task's training mean."""
    n_folds = min(n_folds, y.size // 2)  # each training part keeps at least half the samples
    if n_folds < 2:
        return {"folds": 0, "seed": seed, "dimensions": {}, "notes": [f"too few samples ({y.size}) for nested CV"]}
    folds = (_core.kfold_sets(y.size, n_folds, seed) if tasks is None else
             [f.tolist() for f in stratified_folds(tasks, n_folds, seed)])
    sweep_notes: list[str] = []
    mode: dict[str, str] = {"mode": "refit"}
    swept_interrupted = False  # Ctrl-C during the sweep, even where the folds already running finished them all
    if sweep is not None:
        try:
            found = sweep(folds)
            swept_interrupted = found.interrupted
            run_search, sweep_notes, mode = swept(found, run_search), list(found.notes), {"mode": "sweep"}
            mode["sweep_seconds"] = dict(found.seconds)  # per stage of the sweep
        except NotSwept as exc:
            mode["mode_reason"] = f"fold by fold: {exc}"

    def assess(models: list[Model], train: np.ndarray, test: np.ndarray) -> dict[Any, Any]:
        if tasks is None:
            mean = y[train].mean()
        else:  # each held-out sample's task mean over the training part
            mean = np.array([y[train][tasks[train] == t].mean() for t in tasks[test]])
        out: dict[Any, Any] = {"baseline": math.sqrt(float(np.mean((y[test] - mean) ** 2)))}
        for d in range(1, max_dim + 1):
            best = best_of_dimension(models, d)
            if best is not None:
                out[d] = (math.sqrt(float(np.mean((y[test] - predict_fold(best, test)) ** 2))), best.formulas,
                          best.rmse)
        return out

    outcomes, notes, stopped = outer_folds(folds, y.size, run_search, assess, progress)
    stopped = stopped or swept_interrupted
    report: dict[str, Any] = {"folds": len(folds), "seed": seed, "folds_completed": len(outcomes) + len(notes),
                              "dimensions": {}, "notes": sweep_notes + notes, **mode}
    if stopped:
        report["interrupted"] = True
        report["notes"].insert(0, interrupted_note(len(outcomes) + len(notes), len(folds)))
    if outcomes:  # the mean of the training target, predicting each held-out part: the error to beat
        report["baseline_rmse"] = float(np.mean([o["baseline"] for o in outcomes]))
    for d in range(1, max_dim + 1):
        errors = [o[d][0] for o in outcomes if d in o]
        if not errors:
            continue
        chosen = Counter(formula for o in outcomes if d in o for formula in o[d][1])
        e = np.asarray(errors)
        report["dimensions"][f"{d}D"] = {
            "fold_rmse": errors, "mean_rmse": float(e.mean()), "std_rmse": float(e.std(ddof=1)) if e.size > 1 else 0.0,
            "min_rmse": float(e.min()), "max_rmse": float(e.max()), "folds_with_model": int(e.size),
            "most_selected": [[formula, count] for formula, count in chosen.most_common(5)],
            # what each fold chose, and its error on that fold's training part
            "fold_formulas": [list(o[d][1]) for o in outcomes if d in o],
            "fold_train_rmse": [float(o[d][2]) for o in outcomes if d in o],
        }
    return report


def nested_classification(run_search: SearchFn, values_of: Callable[[Model], np.ndarray], labels: np.ndarray,
                          n_folds: int, seed: int, l2: float, progress: ProgressFn | None = None,
                          score: str = "overlap", class_weight: str | list[float] = "none") -> dict[str, Any]:
    """Accuracy over the held-out samples of the best classifier of the highest dimension chosen in each
    outer stratified fold, its separator (the one that predicts for `score`) fitted on the training part;
    and how often each was selected. `values_of(model)`: the model's formulas over all samples."""
    k = min(n_folds, int(np.bincount(labels).min()) // 2)  # each training part keeps >= 2 per class
    if k < 2:
        return {"folds": 0, "note": "classes too small for nested CV"}
    folds = stratified_folds(labels, k, seed)

    def assess(models: list[Model], train: np.ndarray, test: np.ndarray) -> tuple[int, str, int]:
        best = best_of_dimension(models)
        values = values_of(best)
        fit = fit_separator(values[:, train], labels[train], score, l2, class_weight)
        predicted = np.asarray(fit.predict(np.ascontiguousarray(values[:, test])))
        return int(np.sum(predicted == labels[test])), " | ".join(best.formulas), int(test.size)

    outcomes, notes, stopped = outer_folds(folds, labels.size, run_search, assess, progress)
    correct = sum(c for c, _, _ in outcomes)
    # Stopped by Ctrl-C: the accuracy over the folds finished.
    held_out = sum(size for _, _, size in outcomes) if stopped else int(labels.size)
    report = {"folds": len(folds), "seed": seed, "accuracy": correct / held_out if held_out else float("nan"),
              "correct": correct, "n_samples": held_out, "folds_completed": len(outcomes) + len(notes),
              "most_selected": Counter(f for _, f, _ in outcomes).most_common()}
    if stopped:
        report["interrupted"] = True
        notes.insert(0, interrupted_note(len(outcomes) + len(notes), len(folds)))
    if notes:
        report["notes"] = notes
    return report
