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
    """Classes predicted by a logistic separator (values: d x samples): two classes by the sign of the
    score, more by the largest one-vs-rest score."""
    scores = np.asarray(intercepts)[:, None] + np.asarray(coefficients) @ np.atleast_2d(values)
    return (scores[0] > 0).astype(np.int32) if len(intercepts) == 1 else np.argmax(scores, axis=0).astype(np.int32)




class ClassificationRoute(Route):
    """Formulas ranked by how well they separate classes: every candidate alone, then pairs of the best."""

    task = "classification"
    order_by = None  # the search's own ranking (overlap or log-loss) is the reported order

    def generate(self) -> None:
        cfg, prim, f = self.cfg, self.prim, self.cfg.features
        self.labels, self.class_names = class_labels(cfg, prim)
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
        if dim == 1:
            need = max(keep, c.top_2d if c.max_dim >= 2 else 0)
            self.screened = _core.screen_classes(self.source, self.labels, score=c.score, keep=need, l2=c.l2,
                                                 progress=self.progress, **self.filters)
            self.lap("screening")
            self.top = [int(i) for i in self.screened.indices]
            return Found([[i] for i in self.top[:keep]], interrupted="screening" if self.screened.interrupted else None)
        pool = self.top[: c.top_2d]
        if len(pool) < 2:
            self.messages.append(f"2D: only {len(pool)} formulas survived screening; no 2D classifier")
            return Found([])
        values = self.source.evaluate(pool)
        found = _core.search_class_pairs(values, self.labels, score=c.score, keep=keep,
                                         max_pair_corr=c.max_pair_corr, l2=c.l2, progress=self.progress)
        stats = search_stats(len(pool), found.n_combinations, found.seconds, scored=found.n_scored)
        return Found([[pool[a], pool[b]] for a, b in found.members.tolist()], stats,
                     "the 2D classification search" if found.interrupted else None)

    def model(self, candidates: list[int]) -> Model:
        return classifier_model(self.source, self.variables, self.labels, candidates, self.cfg.classification.l2,
                                self.prim.display(self.variables))

    def finish(self) -> dict[str, Any]:
        self.messages += value_duplicates_message(self.screened, "formulas")
        return {"classes": self.class_names, "class_labels": [int(v) for v in self.labels]}


def classifier_model(source, names: list[str], labels: np.ndarray, candidates: list[int], l2: float,
                     display: list[str] | None = None) -> Model:
    """A classifier: its formulas, overlap, logistic separator (in the formulas' units) and training accuracy
    (`display`: how the text and LaTeX name each variable; the codes always use `names`)."""
    shown = display or names
    formulas = [source.formula(i) for i in candidates]
    values = source.evaluate(candidates)
    count, size = _core.overlap_score(values, labels)
    fit = _core.fit_logistic(values, labels, l2=l2)
    codes = [fm.to_postfix(names) for fm in formulas]
    info = {"overlap_count": int(count), "overlap_size": float(size),
            "overlap_samples": [int(s) for s in _core.overlap_members(values, labels)],
            "log_loss": fit.loss, "accuracy": fit.accuracy, "converged": fit.converged}
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




