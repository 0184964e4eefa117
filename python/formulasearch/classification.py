"""The classification route: formulas whose values separate classes of compounds.

[search] task = "classification" makes :func:`formulasearch.run` call the
steps here instead of the least-squares search:

classes from the target ([classification] classes) -> every candidate of the
paper generator or the SISSO space scored alone at separating them (C++ screening) -> every pair
of the best top_2d scored (C++) -> each kept classifier described by its
domain overlap, its logistic separator and its stratified k-fold accuracy.

Scores (see cpp/include/formulasearch/classification.hpp): "overlap" is
SISSO's domain overlap (samples inside or on another class's interval / convex
hull, then the overlap size, or minus the gap when the classes are separated);
"logistic" is the mean log-loss of an L2-penalised logistic separator on the
standardised formulas. Every classifier reports both, whichever ranked it.
"""
from __future__ import annotations

import time
from collections import Counter
from typing import Any, Callable

import numpy as np

from . import _core, sisso
from .config import Config
from .errors import InputError, Interrupted, stop_if_interrupted
from .postfix import expression_tree
from .primaries import Primaries
from .results import Model, Result

ProgressFn = Callable[[str, int, int], Any]

#: Class names of the octet data's sign rule: dE = E(rocksalt) - E(zincblende) < 0 means rocksalt is more stable.
OCTET_SIGN_NAMES = ["rocksalt", "zincblende"]


def class_labels(cfg: Config, prim: Primaries) -> tuple[np.ndarray, list[str]]:
    """The class of each sample (0, 1, ...) and the class names, from the numeric target."""
    c = cfg.classification
    y = np.asarray(prim.target, dtype=float)
    if not np.all(np.isfinite(y)):
        raise InputError(f"the target {prim.target_name!r} has missing or non-finite values; classes need all of them")
    if c.classes == "sign":
        labels = (y >= 0).astype(np.int32)
        octet_de = prim.target_name == "dE" and cfg.data.dataset == "octet"
        names = OCTET_SIGN_NAMES if octet_de else [f"{prim.target_name} < 0", f"{prim.target_name} >= 0"]
    else:
        values, labels = np.unique(y, return_inverse=True)
        labels = labels.astype(np.int32)
        names = [f"{v:g}" for v in values]
    if c.names is not None:
        if len(c.names) != len(names):
            raise InputError(f"[classification] names gives {len(c.names)} names for {len(names)} classes")
        names = list(c.names)
    sizes = np.bincount(labels, minlength=len(names))
    if np.count_nonzero(sizes) < 2:
        raise InputError(f"the target {prim.target_name!r} makes only one class "
                         f"({names[int(np.argmax(sizes))]}); classification needs two or more")
    for name, size in zip(names, sizes):
        if size < 2:
            raise InputError(f"class {name!r} has {size} sample{'s' if size != 1 else ''}; "
                             "each class needs at least 2")
    return labels, names


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


def predict(intercepts: list[float], coefficients: list[list[float]], values: np.ndarray) -> np.ndarray:
    """Classes predicted by a logistic separator (values: d x samples): two classes by the sign of the
    score, more by the largest one-vs-rest score."""
    scores = np.asarray(intercepts)[:, None] + np.asarray(coefficients) @ np.atleast_2d(values)
    return (scores[0] > 0).astype(np.int32) if len(intercepts) == 1 else np.argmax(scores, axis=0).astype(np.int32)


def cv_accuracy(values: np.ndarray, labels: np.ndarray, folds: list[np.ndarray], l2: float) -> float:
    """Accuracy over held-out samples, the separator refit without each fold (formulas fixed)."""
    values = np.ascontiguousarray(np.atleast_2d(values), dtype=float)
    correct = 0
    for test in folds:
        train = np.setdiff1d(np.arange(labels.size), test)
        fit = _core.fit_logistic(np.ascontiguousarray(values[:, train]), labels[train], l2=l2)
        correct += int(np.sum(predict(fit["intercept"], fit["coefficients"], values[:, test]) == labels[test]))
    return correct / labels.size


def search(cfg: Config, prim: Primaries, progress: ProgressFn | None, lap: Callable[[str], None]) -> Result:
    """Screen every candidate, search pairs of the best, describe the kept classifiers."""
    from .pipeline import _interrupt_message, _screening_counts

    f, c, keep = cfg.features, cfg.classification, cfg.search.keep
    labels, names = class_labels(cfg, prim)
    # Either generator is a candidate source; the SISSO space uses its own primaries and filters.
    if f.generator == "sisso":
        generator, variables, _ = sisso.build_space(cfg, prim, progress)
        filters = sisso.screen_options(cfg)
    else:
        generator, variables = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, f.method, f.variant), list(prim.names)
        filters = {"variance_filter": f.variance_filter, "dedup": f.dedup}
    lap("generation")
    need = max(keep, c.top_2d if c.max_dim >= 2 else 0)
    models: list[Model] = []
    messages: list[str] = []
    stats: dict[str, dict[str, float]] = {}
    scr: dict[str, Any] = {"n_candidates": len(generator), "n_kept": 0}
    interrupted = False
    try:
        scr = _core.screen_classes(generator, labels, score=c.score, keep=need, l2=c.l2, progress=progress,
                                   **filters)
        lap("screening")
        top = [int(i) for i in scr["indices"]]
        models = [_model(generator, variables, labels, [i], c.l2) for i in top[:keep]]
        stop_if_interrupted(scr, "screening")
        lap("1D")
        if c.max_dim >= 2:
            pool = top[: c.top_2d]
            if len(pool) < 2:
                messages.append(f"2D: only {len(pool)} formulas survived screening; no 2D classifier")
            else:
                values = generator.evaluate(pool)
                found = _core.search_class_pairs(values, labels, score=c.score, keep=keep,
                                                 max_pair_corr=c.max_pair_corr, l2=c.l2, progress=progress)
                stats["2D"] = {"candidates": len(pool), "combinations": found["n_pairs"], "scored": found["n_scored"],
                               "seconds": found["seconds"],
                               "models_per_second": found["n_pairs"] / found["seconds"] if found["seconds"] > 0 else 0.0}
                models += [_model(generator, variables, labels, [pool[a], pool[b]], c.l2)
                           for a, b in found["members"]]
                stop_if_interrupted(found, "the 2D classification search")
                lap("2D")
    except (Interrupted, KeyboardInterrupt) as exc:
        interrupted = True
        messages.append(_interrupt_message(exc))
    if scr.get("n_value_duplicates"):
        messages.append(f"{scr['n_value_duplicates']:,} formulas dropped as value duplicates "
                        "(equal to an earlier formula up to sign and scale)")
    return Result(config=cfg.to_dict(), n_candidates=int(scr["n_candidates"]), n_kept=int(scr["n_kept"]),
                  models=models, target=prim.target_name, variables=variables,
                  screening=_screening_counts(scr), messages=messages, search_stats=stats, interrupted=interrupted,
                  task="classification", classes=names, class_labels=[int(v) for v in labels])


def _model(source, names: list[str], labels: np.ndarray, candidates: list[int], l2: float) -> Model:
    """A classifier: its formulas, overlap, logistic separator (in the formulas' units) and training accuracy."""
    from .pipeline import latex_name

    formulas = [source.formula(i) for i in candidates]
    values = source.evaluate(candidates)
    count, size = _core.overlap_score(values, labels)
    fit = _core.fit_logistic(values, labels, l2=l2)
    codes = [fm.to_postfix(names) for fm in formulas]
    info = {"overlap_count": int(count), "overlap_size": float(size),
            "overlap_samples": [int(s) for s in _core.overlap_members(values, labels)],
            "log_loss": fit["loss"], "accuracy": fit["accuracy"], "converged": fit["converged"]}
    if len(fit["intercept"]) > 1:  # one-vs-rest: every class's separator
        info["intercepts"] = list(fit["intercept"])
        info["coefficients"] = [list(row) for row in fit["coefficients"]]
    latex_names = [latex_name(n) for n in names]
    return Model(dimension=len(candidates), formulas=[fm.to_string(names) for fm in formulas], codes=codes,
                 intercept=fit["intercept"][0], coefficients=list(fit["coefficients"][0]), rmse=None, mae=None,
                 maxae=None, r2=None, candidates=candidates, latex=[fm.to_latex(latex_names) for fm in formulas],
                 trees=[expression_tree(code) for code in codes], classification=info)


def separators(m: Model) -> tuple[list[float], list[list[float]]]:
    """(intercepts, coefficients) of a classifier: one row for two classes, one per class beyond."""
    c = m.classification
    if "intercepts" in c:
        return list(c["intercepts"]), [list(r) for r in c["coefficients"]]
    return [m.intercept], [list(m.coefficients)]


def validate(cfg: Config, prim: Primaries, result: Result) -> None:
    """Stratified k-fold accuracy of every kept classifier, its formulas fixed, the same folds for all."""
    c = cfg.classification
    labels = np.asarray(result.class_labels, dtype=np.int32)
    k = min(c.cv_folds, int(np.bincount(labels).min()))
    if k < c.cv_folds:
        result.messages.append(f"classification CV: {k} folds (the smallest class has {k} samples), not {c.cv_folds}")
    folds = stratified_folds(labels, k, c.seed)
    from .pipeline import _primary_rows

    matrix = _primary_rows(prim, result.variables)
    result.validation["method"] = "stratified k-fold accuracy"
    result.validation["settings"] = {"k": k, "seed": c.seed, "l2": c.l2}
    for m in result.models:
        m.classification["cv_accuracy"] = cv_accuracy(m.values(result.variables, matrix), labels, folds, c.l2)
        m.classification["cv_folds"] = k


def nested_cv(cfg: Config, prim: Primaries, result: Result, progress: ProgressFn | None) -> dict[str, Any]:
    """The whole search redone on the training part of each outer stratified fold; its best classifier
    of the highest dimension, fitted there, predicts the held-out samples."""
    from .pipeline import _primary_rows

    c = cfg.classification
    inner = Config.from_dict(cfg.to_dict())
    inner.search.keep = 1
    labels = np.asarray(result.class_labels, dtype=np.int32)
    k = min(c.outer_folds, int(np.bincount(labels).min()) // 2)  # each training part keeps >= 2 per class
    if k < 2:
        return {"folds": 0, "note": "classes too small for nested CV"}
    folds = stratified_folds(labels, k, c.seed + 1)
    correct, chosen = 0, Counter()
    for done, test in enumerate(folds):
        train = np.setdiff1d(np.arange(labels.size), test)
        sub = Primaries(matrix=np.ascontiguousarray(prim.matrix[:, train]), names=prim.names, classes=prim.classes,
                        class_names=prim.class_names, units=prim.units,
                        target=np.ascontiguousarray(prim.target[train]), target_name=prim.target_name,
                        labels=[prim.labels[i] for i in train])
        found = search(inner, sub, None, lambda stage: None)
        best = max(found.models, key=lambda m: m.dimension)
        values = best.values(result.variables, _primary_rows(prim, result.variables))
        fit = _core.fit_logistic(np.ascontiguousarray(values[:, train]), labels[train], l2=c.l2)
        correct += int(np.sum(predict(fit["intercept"], fit["coefficients"], values[:, test]) == labels[test]))
        chosen[" | ".join(best.formulas)] += 1
        if progress is not None:
            progress("nested CV", done + 1, len(folds))
    return {"folds": len(folds), "seed": c.seed + 1, "accuracy": correct / labels.size, "correct": correct, "n_samples": int(labels.size),
            "most_selected": chosen.most_common()}
