"""The classification route: formulas whose values separate classes of compounds.

[search] task = "classification" makes :func:`formulasearch.run` call the
steps here instead of the least-squares search:

classes from the target ([classification] classes) -> every candidate of the
paper generator or the SISSO space scored alone at separating them (C++ screening) -> every pair
of the best top_2d scored (C++) -> each kept classifier described by its
domain overlap, its logistic separator and its stratified k-fold accuracy.

Scores (see cpp/include/formulasearch/classification/): "overlap" is
SISSO's domain overlap (samples inside or on another class's interval / convex
hull, then the overlap size, or minus the gap when the classes are separated);
"logistic" is the mean log-loss of an L2-penalised logistic separator on the
standardised formulas. Every classifier reports both, whichever ranked it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from ..config import Config
from ..data.primaries import Primaries
from ..errors import InputError
from ..formula import expression_tree, latex_name
from ..results import Model
from .route import Found, Route, search_stats, value_duplicates_message
from .sisso import build_space, screen_options

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




def predict(intercepts: list[float], coefficients: list[list[float]], values: np.ndarray) -> np.ndarray:
    """Classes predicted by a linear separator (values: d x samples): two classes by the sign of the
    score, more by the largest one-vs-rest score."""
    scores = np.asarray(intercepts)[:, None] + np.asarray(coefficients) @ np.atleast_2d(values)
    return (scores[0] > 0).astype(np.int32) if len(intercepts) == 1 else np.argmax(scores, axis=0).astype(np.int32)




class ClassificationRoute(Route):
    """Formulas ranked by how well they separate classes: every candidate alone, then pairs (and triples) of
    the best."""

    task = "classification"
    order_by = None  # the search's own ranking (overlap, log-loss or accuracy) is the reported order

    def generate(self) -> None:
        cfg, prim, f = self.cfg, self.prim, self.cfg.features
        self.labels, self.class_names = class_labels(cfg, prim)
        self.class_weight = core_class_weight(cfg.classification.class_weight, self.class_names)
        # Either generator is a candidate source; the SISSO space uses its own primaries and filters.
        if f.generator == "sisso":
            self.source, self.variables, _ = build_space(cfg, prim, self.progress)
            self.filters = screen_options(cfg)
        else:
            self.source = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, f.method, f.variant)
            self.filters = {"variance_filter": f.variance_filter, "dedup": f.dedup}
        self.n_candidates = len(self.source)

    @property
    def max_dim(self) -> int:
        return self.cfg.classification.max_dim

    def find(self, dim: int, models: list[Model]) -> Found:
        c, keep = self.cfg.classification, self.cfg.search.keep
        score = {"score": c.score, "l2": c.l2, "class_weight": self.class_weight}
        if dim == 1:
            need = max(keep, c.top_2d if c.max_dim >= 2 else 0, c.top_3d if c.max_dim >= 3 else 0)
            self.screened = _core.screen_classes(self.source, self.labels, keep=need, progress=self.progress,
                                                 **score, **self.filters)
            self.lap("screening")
            self.top = [int(i) for i in self.screened.indices]
            return Found([[i] for i in self.top[:keep]], interrupted="screening" if self.screened.interrupted else None)
        pool = self.top[: c.top_2d if dim == 2 else c.top_3d]
        if len(pool) < dim:
            self.messages.append(f"{dim}D: only {len(pool)} formulas survived screening; no {dim}D classifier")
            return Found([])
        values = self.source.evaluate(pool)
        kernel = _core.search_class_pairs if dim == 2 else _core.search_class_triples
        found = kernel(values, self.labels, keep=keep, max_pair_corr=c.max_pair_corr, progress=self.progress, **score)
        stats = search_stats(len(pool), found.n_combinations, found.seconds, scored=found.n_scored)
        return Found([[pool[i] for i in members] for members in found.members.tolist()], stats,
                     f"the {dim}D classification search" if found.interrupted else None)

    def model(self, candidates: list[int]) -> Model:
        c = self.cfg.classification
        return classifier_model(self.source, self.variables, self.labels, candidates, c.l2,
                                self.prim.display(self.variables), score=c.score, class_weight=self.class_weight,
                                class_names=self.class_names)

    def finish(self) -> dict[str, Any]:
        self.messages += value_duplicates_message(self.screened, "formulas")
        return {"classes": self.class_names, "class_labels": [int(v) for v in self.labels]}


def core_class_weight(setting: str | dict[str, float], class_names: list[str]) -> str | list[float]:
    """[classification] class_weight as the core takes it: "none", "balanced", or one weight per class
    (a table names classes; those it leaves out weigh 1)."""
    if isinstance(setting, str):
        return setting
    unknown = [k for k in setting if k not in class_names]
    if unknown:
        raise InputError(f"[classification] class_weight names {unknown[0]!r}, which is not a class "
                         f"(classes: {', '.join(class_names)})")
    return [float(setting.get(name, 1.0)) for name in class_names]


def fit_separator(values: np.ndarray, labels: np.ndarray, score: str, l2: float,
                  class_weight: str | list[float] = "none"):
    """The separator that predicts for a classifier ranked by `score` (values: d x samples): the accuracy
    score's own (a threshold, or a threshold along an SVM normal), else the logistic one. Either has
    intercept, coefficients (binary problems x d) and predict."""
    values = np.ascontiguousarray(np.atleast_2d(values), dtype=float)
    if score == "accuracy":
        return _core.fit_accuracy_separator(values, labels, class_weight=class_weight)
    return _core.fit_logistic(values, labels, l2=l2, class_weight=class_weight)


def confusion(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> list[list[int]]:
    """Confusion matrix: row = true class, column = predicted class (counts)."""
    out = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(out, (np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)), 1)
    return out.tolist()


def decision_threshold(intercepts: list[float], coefficients: list[list[float]]) -> float | list[float]:
    """The decision threshold of each binary problem: one formula, the formula's value where the
    predicted class changes (-intercept / coefficient); more, the value t of the rule
    coefficients . x > t (t = -intercept). A list beyond two classes."""
    out = [(-b / c[0] if len(c) == 1 and c[0] != 0 else -b) for b, c in zip(intercepts, coefficients)]
    return out[0] if len(out) == 1 else out


def classifier_model(source, names: list[str], labels: np.ndarray, candidates: list[int], l2: float,
                     display: list[str] | None = None, score: str = "overlap",
                     class_weight: str | list[float] = "none",
                     class_names: list[str] | None = None) -> Model:
    """A classifier: its formulas, overlap (1 or 2 formulas), logistic separator, the separator that predicts
    (in the formulas' units; the accuracy score's own, else the logistic one), its training accuracy,
    balanced accuracy, confusion matrix and decision threshold (`display`: how the text and LaTeX name each
    variable; the codes always use `names`)."""
    shown = display or names
    formulas = [source.formula(i) for i in candidates]
    values = source.evaluate(candidates)
    logistic = _core.fit_logistic(values, labels, l2=l2, class_weight=class_weight)
    fit = logistic if score != "accuracy" else fit_separator(values, labels, score, l2, class_weight)
    codes = [fm.to_postfix(names) for fm in formulas]
    n_classes = int(labels.max()) + 1
    predicted = np.asarray(fit.predict(values))
    per_class = [float(np.mean(predicted[labels == k] == k)) for k in range(n_classes)]
    info: dict[str, Any] = {}
    if len(candidates) <= 2:  # the domain overlap is defined for one or two formulas
        count, size = _core.overlap_score(values, labels)
        info = {"overlap_count": int(count), "overlap_size": float(size),
                "overlap_samples": [int(s) for s in _core.overlap_members(values, labels)]}
    info.update({"log_loss": logistic.loss, "converged": logistic.converged,
                 "separator": "accuracy" if score == "accuracy" else "logistic",
                 "accuracy": float(np.mean(predicted == labels)), "balanced_accuracy": float(np.mean(per_class)),
                 "confusion": confusion(labels, predicted, n_classes),
                 "threshold": decision_threshold(fit.intercept.tolist(), fit.coefficients.tolist())})
    if score == "accuracy":
        info["margin"] = float(fit.margin)
    if not isinstance(class_weight, str) or class_weight != "none":
        info["class_weight"] = class_weight
    if len(candidates) == 1 and len(fit.intercept) == 1 and class_names:  # which class lies above the threshold
        info["above"] = class_names[1] if fit.coefficients[0][0] > 0 else class_names[0]
    if len(fit.intercept) > 1:  # one-vs-rest: every class's separator
        info["intercepts"] = fit.intercept.tolist()
        info["coefficients"] = fit.coefficients.tolist()
    latex_names = [latex_name(n) for n in shown]
    return Model(dimension=len(candidates), formulas=[fm.to_string(shown) for fm in formulas], codes=codes,
                 intercept=float(fit.intercept[0]), coefficients=fit.coefficients[0].tolist(), rmse=None, mae=None,
                 maxae=None, r2=None, candidates=candidates, latex=[fm.to_latex(latex_names) for fm in formulas],
                 trees=[expression_tree(code) for code in codes], classification=info)


def separators(m: Model) -> tuple[list[float], list[list[float]]]:
    """(intercepts, coefficients) of a classifier: one row for two classes, one per class beyond."""
    c = m.classification
    if "intercepts" in c:
        return list(c["intercepts"]), [list(r) for r in c["coefficients"]]
    return [m.intercept], [list(m.coefficients)]




