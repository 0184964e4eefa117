"""Figures of a run: parity, descriptor map, error against dimension, residuals.

    >>> from formulasearch import plots
    >>> plots.parity(result, path="parity.png")          # best model of the highest dimension
    >>> plots.descriptor_map(result, path="map.svg")     # best 2D model, as in Ghiringhelli et al. (PRL 2015)
    >>> plots.plot_all(result, "figures")                # every figure, PNG and SVG
    >>> plots.decision_map(result, path="classes.png")   # a classification result: classes, domains, separator

Each function returns a :class:`matplotlib.figure.Figure` (drawn on the Agg
canvas; no display needed and pyplot's global state is not touched) and, when
``path`` is given, saves it there: PNG, SVG or PDF chosen by the extension, at
``dpi``, with a pixel size of ``figsize * dpi`` for PNG.

The values plotted are computed from the models' postfix codes on the
training compounds (:func:`formulasearch.predict.descriptor_values`), so a
results JSON read back with :func:`formulasearch.load_result` plots the same
as the Result it was saved from. A run made with ``run(primaries=...)``
records no compounds: pass ``primaries=`` to the functions that need values.

matplotlib is imported on the first call, not with formulasearch.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, Union

import numpy as np

from .._core import Formula
from ..errors import InputError
from ..prediction import descriptor_values, fitted
from ..results import Model, Result, ResultSource, as_result, best_of_dimension, chosen_models
from ..search.classification import predict, separators

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["parity", "descriptor_map", "decision_map", "error_vs_dimension", "residuals", "plot_all", "figures",
           "FORMATS", "PLOTS", "CLASSIFICATION_PLOTS"]

#: File formats a figure can be saved in (chosen by the path's extension).
FORMATS = ("png", "svg", "pdf")
#: Names of the figures plot_all writes, in order (also their file stems).
PLOTS = ("parity", "descriptor_map", "error_vs_dimension", "residuals")
#: The figures of a classification result ([search] task = "classification").
CLASSIFICATION_PLOTS = ("decision_map",)

ModelChoice = Union[None, int, Model, str, Sequence[Union[int, Model]]]

#: Colours of the two classes of the descriptor map (target < 0, target >= 0) and of dimensions 1, 2, 3, ...
NEGATIVE_COLOUR = "#1f77b4"
POSITIVE_COLOUR = "#d62728"
DIMENSION_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


# --------------------------------------------------------------------------
# the figures


def parity(result: ResultSource, model: ModelChoice = None, *, path: str | os.PathLike | None = None,
           dpi: float = 100, figsize: tuple[float, float] = (5.5, 5.0), labels: bool | int = False,
           atoms: Any = None, primaries: Any = None) -> "Figure":
    """Predicted against actual target for the training compounds, with the line y = x.

    ``model``: None (default) for the best model of the highest dimension; an
    index into ``result.models`` or a :class:`Model`; a list of them to
    overlay; or ``"best"`` for the best model of every dimension, overlaid.
    The title gives the RMSE of each model shown. ``labels``: True to label
    every compound, or a number n to label the n compounds furthest from y = x
    (of the first model).

    The points are drawn as one scatter per model whose offsets are
    (target, prediction) in sample order; each scatter's ``gid`` is
    ``"parity:<index in result.models>"``. A single multi-task model colours
    its points by task (``C0``, ``C1``, ... in the order of ``result.tasks``).
    """
    result = as_result(result)
    _require_regression(result, "parity")
    chosen = _models(result, model)
    y = _target(result)
    fig, ax = _figure(figsize, dpi)
    lo, hi = _finite_range(y)
    rmses = []
    first_pred = None
    for k, (index, m) in enumerate(chosen):
        pred = _fitted(result, m, atoms, primaries)
        if first_pred is None:
            first_pred = pred
        rmse = _rmse(y, pred)
        rmses.append(rmse)
        plo, phi = _finite_range(pred)
        lo, hi = min(lo, plo), max(hi, phi)
        colour = DIMENSION_COLOURS[(m.dimension - 1) % len(DIMENSION_COLOURS)] if len(chosen) > 1 else NEGATIVE_COLOUR
        if len({c.dimension for _, c in chosen}) < len(chosen) and len(chosen) > 1:
            colour = f"C{k % 10}"
        if m.multitask and len(chosen) == 1 and len(result.task_labels) == y.size:  # one colour per task
            colour = [f"C{t % 10}" for t in result.task_labels]
        coll = ax.scatter(y, pred, s=22, alpha=0.8 if len(chosen) == 1 else 0.65, color=colour,
                          edgecolors="white", linewidths=0.4, label=f"{_name(result, index, m)}: RMSE {rmse:.4g}",
                          zorder=3 + k)
        coll.set_gid(f"parity:{index}")
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    lo, hi = lo - pad, hi + pad
    ax.plot([lo, hi], [lo, hi], color="0.35", linewidth=1.0, linestyle="--", zorder=1, label="y = x")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(f"{result.target} (training data)")
    ax.set_ylabel(f"{result.target} predicted")
    if len(chosen) == 1:
        index, m = chosen[0]
        ax.set_title(f"{_name(result, index, m)}: RMSE = {rmses[0]:.4g}"
                     + (f", CV RMSE = {m.cv_rmse:.4g}" if m.cv_rmse is not None else ""))
    else:
        ax.set_title("RMSE " + ", ".join(f"{_name(result, i, m)} {e:.4g}" for (i, m), e in zip(chosen, rmses)))
        ax.legend(loc="upper left", fontsize="small")
    if labels:
        _label_points(ax, result, y, first_pred, np.abs(first_pred - y), labels)
    ax.grid(True, linewidth=0.3, alpha=0.5)
    return _finish(fig, path)


def descriptor_map(result: ResultSource, model: int | Model | None = None, *,
                   path: str | os.PathLike | None = None, dpi: float = 100,
                   figsize: tuple[float, float] = (7.0, 5.5), labels: bool | Sequence[str] = False,
                   boundary: bool = True, atoms: Any = None, primaries: Any = None) -> "Figure":
    """The two formulas of a 2D model as the axes, compounds coloured by the sign of the target.

    As in Fig. 2 of Ghiringhelli et al., PRL 114, 105503 (2015): for the
    octet data (target dE = E_RS - E_ZB) the compounds with dE < 0 are
    rocksalt, those with dE >= 0 zincblende/wurtzite. ``model``: None for the
    best 2D model, or the index / :class:`Model` of a 2D model.
    ``labels``: True to write every compound's label next to its point (or a
    list of the labels to write). ``boundary``: draw the line where the model
    predicts 0 (not for a multi-task model: each task has its own line).

    The points are two scatters (gids ``"descriptor_map:negative"`` and
    ``"descriptor_map:positive"``) whose offsets are (formula 1, formula 2)
    of the compounds with target < 0, and >= 0, in sample order.
    """
    result = as_result(result)
    _require_regression(result, "descriptor_map")
    if model is None:
        index = next((i for i, m in enumerate(result.models) if m.dimension == 2 and m.refined_from is None), None)
        if index is None:
            index = next((i for i, m in enumerate(result.models) if m.dimension == 2), None)
        if index is None:
            dims = sorted({m.dimension for m in result.models})
            raise InputError("a descriptor map needs a 2D model, and the results hold none"
                             + (f" (dimensions: {', '.join(map(str, dims))})" if dims else ""))
        m = result.models[index]
    else:
        index, m = _models(result, model)[0]
        if m.dimension != 2:
            raise InputError(f"a descriptor map needs a 2D model; model {index} is {m.dimension}D")
    values = _values(result, m, atoms, primaries)
    y = _target(result)
    x1, x2 = values[0], values[1]
    fig, ax = _figure(figsize, dpi)
    negative = y < 0
    neg_name, pos_name = _class_names(result)
    for mask, name, colour, marker, gid in ((negative, neg_name, NEGATIVE_COLOUR, "s", "negative"),
                                            (~negative, pos_name, POSITIVE_COLOUR, "o", "positive")):
        coll = ax.scatter(x1[mask], x2[mask], s=28, color=colour, marker=marker, edgecolors="white",
                          linewidths=0.4, alpha=0.85, label=f"{name} ({int(mask.sum())})", zorder=3)
        coll.set_gid(f"descriptor_map:{gid}")
    if boundary and not m.multitask and len(m.coefficients) == 2 and all(c is not None for c in m.coefficients):
        c1, c2 = (float(c) for c in m.coefficients)
        b = float(m.intercept)
        xlim, ylim = _padded(x1), _padded(x2)
        if abs(c2) > 1e-300:
            xs = np.array(xlim)
            ax.plot(xs, -(b + c1 * xs) / c2, color="0.3", linewidth=1.0, linestyle="--", zorder=2,
                    label=f"model {result.target} = 0")
        elif abs(c1) > 1e-300:
            ax.axvline(-b / c1, color="0.3", linewidth=1.0, linestyle="--", label=f"model {result.target} = 0")
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
    if labels is not False and labels is not None:
        wanted = set(result.labels) if labels is True else {str(v) for v in labels}
        for i, text in enumerate(result.labels):
            if text in wanted and i < x1.size:
                ax.annotate(text, (x1[i], x2[i]), xytext=(2, 2), textcoords="offset points", fontsize=6,
                            color="0.2", zorder=4)
    ax.set_xlabel(_axis_label(m, 0))
    ax.set_ylabel(_axis_label(m, 1))
    ax.set_title(f"{_name(result, index, m)}: RMSE = {m.rmse:.4g}", fontsize="medium")
    ax.legend(loc="best", fontsize="small")
    ax.grid(True, linewidth=0.3, alpha=0.5)
    return _finish(fig, path)


def decision_map(result: ResultSource, model: int | Model | None = None, *,
                 path: str | os.PathLike | None = None, dpi: float = 100,
                 figsize: tuple[float, float] = (7.0, 5.5), labels: bool = False, regions: bool = True,
                 atoms: Any = None, primaries: Any = None) -> "Figure":
    """A classifier of a classification result drawn over its formulas' values.

    2D: each sample at (formula 1, formula 2) coloured by class; each class's
    domain (convex hull, as SISSO's overlap counts it); the samples inside or on
    another class's domain circled; the line of the separator that predicts (two
    classes; the accuracy score's own, else the logistic one) and the class it
    predicts shaded (``regions``). 1D: the formula's value against the class,
    each class's interval, and the separator's threshold.
    ``model``: None for the best classifier of the highest dimension up to 2, or
    an index / :class:`Model`.

    Artists carry gids: ``"decision_map:class:<k>"`` (the scatter of class k,
    offsets in sample order), ``"decision_map:domain:<k>"`` (hull polygon or 1D
    interval), ``"decision_map:overlap"`` (the overlap samples),
    ``"decision_map:separator"`` and ``"decision_map:regions"``.
    """
    result = as_result(result)
    if result.task != "classification":
        raise InputError("a decision map draws a classification result ([search] task = \"classification\"); "
                         "for a regression result use descriptor_map")
    if model is None:  # the best of the highest dimension it can draw
        dims = [m.dimension for m in result.models]
        index, m = _best(result, max([d for d in dims if d <= 2] or dims))
    else:
        index, m = _models(result, model)[0]
    values = _values(result, m, atoms, primaries)
    cls = np.asarray(result.class_labels, dtype=int)
    if cls.size != values.shape[1]:
        raise InputError(f"the results hold {cls.size} class labels for {values.shape[1]} samples")
    names = result.classes or [str(k) for k in range(int(cls.max()) + 1)]
    colours = [DIMENSION_COLOURS[k % len(DIMENSION_COLOURS)] for k in range(len(names))]
    intercepts, coefficients = separators(m)
    overlap = np.asarray(m.classification.get("overlap_samples", []), dtype=int)
    separator_label = f"{m.classification.get('separator', 'logistic')} separator"
    fig, ax = _figure(figsize, dpi)
    if m.dimension == 1:
        x = values[0]
        for k, name in enumerate(names):
            mask = cls == k
            coll = ax.scatter(x[mask], np.full(mask.sum(), k), s=26, color=colours[k], edgecolors="white",
                              linewidths=0.4, alpha=0.85, label=f"{name} ({int(mask.sum())})", zorder=3)
            coll.set_gid(f"decision_map:class:{k}")
            line = ax.hlines(k, x[mask].min(), x[mask].max(), color=colours[k], linewidth=6, alpha=0.25, zorder=2)
            line.set_gid(f"decision_map:domain:{k}")
        if len(intercepts) == 1 and coefficients[0][0] != 0:
            sep = ax.axvline(-intercepts[0] / coefficients[0][0], color="0.3", linestyle="--", linewidth=1.0,
                             label=separator_label)
            sep.set_gid("decision_map:separator")
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel(_axis_label(m, 0))
        points = (x, cls.astype(float))
    elif m.dimension == 2:
        x1, x2 = values[0], values[1]
        xlim, ylim = _padded(x1), _padded(x2)
        if regions:
            gx, gy = np.meshgrid(np.linspace(*xlim, 200), np.linspace(*ylim, 200))
            pred = predict(intercepts, coefficients, np.vstack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
            shade = ax.contourf(gx, gy, pred, levels=np.arange(len(names) + 1) - 0.5, colors=colours, alpha=0.12,
                                zorder=0)
            shade.set_gid("decision_map:regions")
        for k, name in enumerate(names):
            mask = cls == k
            coll = ax.scatter(x1[mask], x2[mask], s=28, color=colours[k], edgecolors="white", linewidths=0.4,
                              alpha=0.9, label=f"{name} ({int(mask.sum())})", zorder=3)
            coll.set_gid(f"decision_map:class:{k}")
            hull = _hull(x1[mask], x2[mask])
            patch = ax.fill(hull[:, 0], hull[:, 1], facecolor=colours[k], edgecolor=colours[k], alpha=0.15,
                            linewidth=1.0, zorder=1)[0]
            patch.set_gid(f"decision_map:domain:{k}")
        if len(intercepts) == 1:
            b, (c1, c2) = intercepts[0], coefficients[0]
            if abs(c2) > 1e-300:
                xs = np.array(xlim)
                sep = ax.plot(xs, -(b + c1 * xs) / c2, color="0.3", linewidth=1.0, linestyle="--", zorder=2,
                              label=separator_label)[0]
            else:
                sep = ax.axvline(-b / c1, color="0.3", linewidth=1.0, linestyle="--", label=separator_label)
            sep.set_gid("decision_map:separator")
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_xlabel(_axis_label(m, 0))
        ax.set_ylabel(_axis_label(m, 1))
        points = (x1, x2)
    else:
        raise InputError(f"a decision map draws 1D or 2D classifiers; model {index} is {m.dimension}D")
    if overlap.size:
        ring = ax.scatter(points[0][overlap], points[1][overlap], s=110, facecolors="none", edgecolors="black",
                          linewidths=1.0, label=f"in another class's domain ({overlap.size})", zorder=4)
        ring.set_gid("decision_map:overlap")
    if labels:
        for i, text in enumerate(result.labels[: points[0].size]):
            ax.annotate(text, (points[0][i], points[1][i]), xytext=(2, 2), textcoords="offset points", fontsize=6,
                        color="0.2", zorder=5)
    c = m.classification
    cv = c.get("cv_accuracy")
    ax.set_title(f"{_name(result, index, m)}: overlap {c.get('overlap_count')}, accuracy {c.get('accuracy', 0):.3f}"
                 + (f" (balanced {c['balanced_accuracy']:.3f})" if "balanced_accuracy" in c else "")
                 + (f", CV {cv:.3f}" if cv is not None else ""), fontsize="medium")
    ax.legend(loc="best", fontsize="small")
    ax.grid(True, linewidth=0.3, alpha=0.5)
    return _finish(fig, path)


def _hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Vertices of the convex hull of the points (closed polygon); a segment or point when degenerate."""
    pts = np.unique(np.column_stack([x, y]), axis=0)
    if len(pts) >= 3:
        from scipy.spatial import ConvexHull, QhullError

        try:
            return pts[ConvexHull(pts).vertices]
        except QhullError:  # collinear: the segment between the extreme points
            pass
    order = np.lexsort((pts[:, 1], pts[:, 0]))
    return pts[[order[0], order[-1]]]


def error_vs_dimension(result: ResultSource, *, by: str | Sequence[str] = ("dimension", "complexity"),
                       path: str | os.PathLike | None = None, dpi: float = 100,
                       figsize: tuple[float, float] | None = None) -> "Figure":
    """Error of the models against their dimension and/or their complexity.

    ``by="dimension"``: the in-sample RMSE and the CV RMSE (when validated) of
    the best model of each dimension, the other kept models as small grey
    points, and the nested-CV outer-fold RMSE (mean +- std) when the result
    has one. ``by="complexity"``: every model's RMSE (filled) and CV RMSE
    (hollow) against its complexity, the total number of operators of its
    formulas, coloured by dimension. Default: both, side by side.
    Needs no atomic data.
    """
    result = as_result(result)
    _require_regression(result, "error_vs_dimension")
    panels = [by] if isinstance(by, str) else list(by)
    for p in panels:
        if p not in ("dimension", "complexity"):
            raise InputError(f"by must be 'dimension', 'complexity' or both, got {p!r}")
    if not panels:
        raise InputError("by names no panel")
    if not result.models:
        raise InputError("the results hold no models")
    if figsize is None:
        figsize = (5.0 * len(panels), 4.2)
    fig, axes = _figure(figsize, dpi, ncols=len(panels))
    axes = list(np.atleast_1d(axes))
    for ax, panel in zip(axes, panels):
        if panel == "dimension":
            _error_by_dimension(ax, result)
        else:
            _error_by_complexity(ax, result)
    return _finish(fig, path)


def residuals(result: ResultSource, model: int | Model | None = None, label_worst: int = 5, *,
              kind: str = "bar", path: str | os.PathLike | None = None, dpi: float = 100,
              figsize: tuple[float, float] = (9.0, 4.0), atoms: Any = None, primaries: Any = None) -> "Figure":
    """Residuals (target - prediction) of one model on each training compound.

    ``model``: None for the best model of the highest dimension, or an index /
    :class:`Model`. ``kind="bar"``: one bar per compound in sample order;
    ``kind="scatter"``: residual against prediction. The ``label_worst``
    compounds with the largest absolute residual are labelled.
    The bars / points carry the gid ``"residuals"``.
    """
    if kind not in ("bar", "scatter"):
        raise InputError(f"kind must be 'bar' or 'scatter', got {kind!r}")
    result = as_result(result)
    _require_regression(result, "residuals")
    index, m = _models(result, model)[0]
    y = _target(result)
    pred = _fitted(result, m, atoms, primaries)
    res = y - pred
    names = _labels(result, y.size)
    fig, ax = _figure(figsize, dpi)
    colours = np.where(res >= 0, POSITIVE_COLOUR, NEGATIVE_COLOUR)
    xs = np.arange(res.size) if kind == "bar" else pred
    if kind == "bar":
        bars = ax.bar(xs, res, width=0.8, color=list(colours), zorder=3)
        for patch in bars.patches:
            patch.set_gid("residuals")
        ax.set_xlim(-1, res.size)
        ax.set_xlabel("training compound (sample order)")
    else:
        coll = ax.scatter(pred, res, s=22, color=list(colours), edgecolors="white", linewidths=0.4, zorder=3)
        coll.set_gid("residuals")
        ax.set_xlabel(f"{result.target} predicted")
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    rmse = _rmse(y, pred)
    for sign in (1, -1):
        ax.axhline(sign * rmse, color="0.5", linewidth=0.7, linestyle=":", zorder=1)
    worst = _worst(res, label_worst)
    for i in worst:
        ax.annotate(names[i], (xs[i], res[i]), xytext=(0, 4 if res[i] >= 0 else -4), textcoords="offset points",
                    ha="center", va="bottom" if res[i] >= 0 else "top", fontsize=7, zorder=4)
    span = max(abs(v) for v in _finite_range(res))
    ax.set_ylim(-1.25 * (span or 1.0), 1.25 * (span or 1.0))
    ax.set_ylabel(f"residual: {result.target} - predicted")
    ax.set_title(f"{_name(result, index, m)}: RMSE = {rmse:.4g} (dotted: +-RMSE), MaxAE = {np.nanmax(np.abs(res)):.4g}",
                 fontsize="medium")
    ax.grid(True, axis="y", linewidth=0.3, alpha=0.5)
    return _finish(fig, path)


def plot_all(result: ResultSource, folder: str | os.PathLike, formats: Sequence[str] = ("png", "svg"), *,
             dpi: float = 100, prefix: str = "", atoms: Any = None, primaries: Any = None) -> list[Path]:
    """Write every figure that applies to ``result`` into ``folder`` (created if needed).

    Files are ``<prefix><name>.<format>`` with the names of :data:`PLOTS`;
    the descriptor map is skipped when the result has no 2D model, and the
    figures that need atomic values are skipped when the result records no
    training compounds and no ``primaries`` are given (error_vs_dimension is
    then the only one). Returns the paths written, in order.
    """
    result = as_result(result)
    formats = [formats] if isinstance(formats, str) else list(formats)
    for fmt in formats:
        if str(fmt).lower().lstrip(".") not in FORMATS:
            raise InputError(f"unknown figure format {fmt!r} (choose from {', '.join(FORMATS)})")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, fig in figures(result, atoms=atoms, primaries=primaries, dpi=dpi).items():
        for fmt in formats:
            p = folder / f"{prefix}{name}.{str(fmt).lower().lstrip('.')}"
            save_figure(fig, p)
            written.append(p)
    return written


def figures(result: ResultSource, *, dpi: float = 100, atoms: Any = None, primaries: Any = None,
            ) -> dict[str, "Figure"]:
    """The figures of :data:`PLOTS` that apply to ``result``, by name (see :func:`plot_all`)."""
    result = as_result(result)
    if not result.models:
        raise InputError("the results hold no models")
    if result.task == "classification":
        return {"decision_map": decision_map(result, dpi=dpi, atoms=atoms, primaries=primaries)}
    out: dict[str, Any] = {}
    has_values = bool(result.compounds) or primaries is not None
    if has_values:
        out["parity"] = parity(result, "best" if len({m.dimension for m in result.models}) > 1 else None,
                               dpi=dpi, atoms=atoms, primaries=primaries)
        if any(m.dimension == 2 for m in result.models):
            out["descriptor_map"] = descriptor_map(result, dpi=dpi, labels=True, atoms=atoms, primaries=primaries)
    out["error_vs_dimension"] = error_vs_dimension(result, dpi=dpi)
    if has_values:
        out["residuals"] = residuals(result, dpi=dpi, atoms=atoms, primaries=primaries)
    return {name: out[name] for name in PLOTS if name in out}


# --------------------------------------------------------------------------
# panels


def _error_by_dimension(ax: Any, result: Result) -> None:
    dims = sorted({m.dimension for m in result.models})
    best = [_best(result, d) for d in dims]
    others_x, others_y = [], []
    for d in dims:
        ms = [m for m in result.models if m.dimension == d and m.refined_from is None]
        others_x += [d] * max(0, len(ms) - 1)
        others_y += [m.rmse for m in ms[1:]]
    if others_x:
        ax.scatter(others_x, others_y, s=10, color="0.7", zorder=2, label="other kept models (RMSE)")
    line = ax.plot(dims, [m.rmse for _, m in best], marker="o", color="C0", zorder=3, label="best model: RMSE")
    line[0].set_gid("error:rmse")
    cv = [(d, m.cv_rmse) for d, (_, m) in zip(dims, best) if m.cv_rmse is not None]
    if cv:
        method = next((m.cv_method for _, m in best if m.cv_method), "")
        line = ax.plot([d for d, _ in cv], [e for _, e in cv], marker="s", color="C1", zorder=3,
                       label=f"best model: CV RMSE ({method.upper() or 'CV'})")
        line[0].set_gid("error:cv_rmse")
    nested = (result.validation or {}).get("nested") or {}
    rows = [(int(str(k).rstrip("D")), v) for k, v in (nested.get("dimensions") or {}).items()
            if str(k).rstrip("D").isdigit()]
    if rows:
        rows.sort()
        cont = ax.errorbar([d + 0.05 for d, _ in rows], [v["mean_rmse"] for _, v in rows],
                           yerr=[v.get("std_rmse", 0.0) for _, v in rows], marker="D", color="C2", capsize=3,
                           zorder=3, label=f"nested CV: outer-fold RMSE ({nested.get('folds')} folds, mean +- std)")
        cont.lines[0].set_gid("error:nested")
    ax.set_xticks(dims)
    ax.set_xlabel("dimension (number of formulas)")
    ax.set_ylabel(f"RMSE of {result.target}")
    ax.set_title("Error vs dimension", fontsize="medium")
    ax.legend(fontsize="x-small", loc="best")
    ax.grid(True, linewidth=0.3, alpha=0.5)


def _error_by_complexity(ax: Any, result: Result) -> None:
    variables = [str(v) for v in result.variables]

    def complexity(m: Model) -> float:
        try:
            return float(sum(Formula.from_postfix(c, variables).complexity for c in m.codes))
        except (ValueError, TypeError, RuntimeError):
            return float("nan")

    dims = sorted({m.dimension for m in result.models})
    for d in dims:
        ms = [m for m in result.models if m.dimension == d]
        cx = np.array([complexity(m) for m in ms])
        colour = DIMENSION_COLOURS[(d - 1) % len(DIMENSION_COLOURS)]
        coll = ax.scatter(cx, [m.rmse for m in ms], s=18, color=colour, zorder=3, label=f"{d}D: RMSE")
        coll.set_gid(f"complexity:{d}D:rmse")
        cvm = [(c, m.cv_rmse) for c, m in zip(cx, ms) if m.cv_rmse is not None]
        if cvm:
            coll = ax.scatter([c for c, _ in cvm], [e for _, e in cvm], s=18, facecolors="none", edgecolors=colour,
                              zorder=3, label=f"{d}D: CV RMSE")
            coll.set_gid(f"complexity:{d}D:cv_rmse")
    ax.set_xlabel("complexity (operators in the model's formulas)")
    ax.set_ylabel(f"RMSE of {result.target}")
    ax.set_title("Error vs complexity", fontsize="medium")
    ax.legend(fontsize="x-small", loc="best", ncol=2 if len(dims) > 2 else 1)
    ax.grid(True, linewidth=0.3, alpha=0.5)


# --------------------------------------------------------------------------
# helpers


def _require_regression(result: Result, plot: str) -> None:
    """Least-squares plots need least-squares models: a one-line error for a classification result."""
    if result.task == "classification":
        raise InputError(f"{plot} draws least-squares models; this is a classification result: "
                         "use plots.decision_map (or plot_all)")


def _target(result: Result) -> np.ndarray:
    if not result.target_values:
        raise InputError("the results hold no training target values (Result.target_values)")
    return np.array([float("nan") if v is None else float(v) for v in result.target_values], dtype=np.float64)


def _values(result: Result, m: Model, atoms: Any, primaries: Any) -> np.ndarray:
    return descriptor_values(result, m, atoms=atoms, primaries=primaries)


def _fitted(result: Result, m: Model, atoms: Any, primaries: Any) -> np.ndarray:
    return fitted(result, m, atoms=atoms, primaries=primaries)


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return math.sqrt(float(np.nanmean((y - pred) ** 2)))


def _best(result: Result, d: int) -> tuple[int, Model]:
    m = best_of_dimension(result.models, d, unrefined=True)
    return next(i for i, other in enumerate(result.models) if other is m), m


def _models(result: Result, model: ModelChoice) -> list[tuple[int, Model]]:
    """(index in result.models or -1, model) of each model chosen."""
    if not result.models:
        raise InputError("the results hold no models")
    if model is None:
        return [_best(result, max(m.dimension for m in result.models))]
    if isinstance(model, str):
        if model != "best":
            raise InputError(f"model must be an index, a Model, a list of them or 'best', got {model!r}")
        return [_best(result, d) for d in sorted({m.dimension for m in result.models})]
    return chosen_models(result.models, model)


def _name(result: Result, index: int, m: Model) -> str:
    """'2D #1' (rank among the unrefined models of its dimension), '2D #1 refined', or '2D model'."""
    def rank(i: int) -> int | None:
        d = result.models[i].dimension
        ranked = [k for k, x in enumerate(result.models) if x.dimension == d and x.refined_from is None]
        return ranked.index(i) + 1 if i in ranked else None

    if index < 0:
        return f"{m.dimension}D model"
    if m.refined_from is not None and 0 <= m.refined_from < len(result.models):
        r = rank(m.refined_from)
        return f"{m.dimension}D #{r} refined" if r else f"{m.dimension}D refined"
    r = rank(index)
    return f"{m.dimension}D #{r}" if r else f"{m.dimension}D model"


def _class_names(result: Result) -> tuple[str, str]:
    t = result.target
    data = (result.config.get("data") or {}) if isinstance(result.config, dict) else {}
    if t == "dE" and data.get("dataset") == "octet":
        return f"{t} < 0: rocksalt", f"{t} \u2265 0: zincblende / wurtzite"
    return f"{t} < 0", f"{t} \u2265 0"


def _axis_label(m: Model, k: int) -> str:
    """The formula in mathtext when its LaTeX renders, else the readable text."""
    text = m.formulas[k] if k < len(m.formulas) else f"formula {k + 1}"
    if k < len(m.latex) and m.latex[k] and _mathtext_ok(m.latex[k]):
        return f"$D_{{{k + 1}}} = {m.latex[k]}$"
    return f"D{k + 1} = {text}"


def _mathtext_ok(latex: str) -> bool:
    try:
        from matplotlib.mathtext import MathTextParser

        MathTextParser("path").parse(f"${latex}$")
        return True
    except Exception:  # a construct mathtext does not know: use the plain formula
        return False


def _labels(result: Result, n: int) -> list[str]:
    if len(result.labels) == n:
        return [str(v) for v in result.labels]
    return [str(i + 1) for i in range(n)]


def _worst(err: np.ndarray, n: int | bool) -> list[int]:
    if n is True:
        return list(range(err.size))
    n = int(n or 0)
    if n <= 0:
        return []
    order = np.argsort(-np.nan_to_num(np.abs(err), nan=-1.0), kind="stable")
    return [int(i) for i in order[:n]]


def _label_points(ax: Any, result: Result, x: np.ndarray, y: np.ndarray, err: np.ndarray, labels: bool | int) -> None:
    names = _labels(result, x.size)
    for i in _worst(err, labels):
        ax.annotate(names[i], (x[i], y[i]), xytext=(3, 3), textcoords="offset points", fontsize=6, color="0.2",
                    zorder=10)


def _finite_range(v: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values; (0, 1) if there are none."""
    v = np.asarray(v, dtype=np.float64)
    v = v[np.isfinite(v)]
    return (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)


def _padded(v: np.ndarray, frac: float = 0.06) -> tuple[float, float]:
    lo, hi = _finite_range(v)
    pad = frac * (hi - lo) if hi > lo else (abs(lo) * frac or 1.0)
    return lo - pad, hi + pad


def _figure(figsize: Sequence[float], dpi: float, ncols: int = 1) -> tuple[Any, Any]:
    """A Figure on the Agg canvas (no pyplot), constrained layout, and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w, h = (float(v) for v in figsize)
    if not (w > 0 and h > 0 and float(dpi) > 0):
        raise InputError(f"figsize and dpi must be positive, got figsize={tuple(figsize)}, dpi={dpi}")
    fig = Figure(figsize=(w, h), dpi=float(dpi), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    return fig, axes


def _finish(fig: Any, path: str | os.PathLike | None) -> Any:
    if path is not None:
        save_figure(fig, path)
    return fig


def save_figure(fig: Any, path: str | os.PathLike) -> Path:
    """Save by extension (png, svg, pdf) at the figure's dpi; reproducible SVG/PDF (no dates, fixed ids)."""
    import matplotlib

    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError(f"{p}: unknown figure format {p.suffix or '(no extension)'!r} "
                         f"(use one of {', '.join('.' + f for f in FORMATS)})")
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Date": None} if fmt == "svg" else {"CreationDate": None} if fmt == "pdf" else None
    with matplotlib.rc_context({"svg.hashsalt": "formulasearch"}):
        fig.savefig(p, format=fmt, dpi=fig.dpi, metadata=metadata)
    return p
