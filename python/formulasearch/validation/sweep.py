"""Nested CV in one sweep: every outer fold's search from one pass of the kernels.

The fold-by-fold driver (``nested_mode = "refit"``) reruns the whole search on each
training part. Here the same searches run together: one evaluation pass of the
candidates screens every fold (training moments, filters and 1D fit from per-fold
sums, value duplicates hashed on each training part), one sweep of Gram blocks
scores every pair for every fold (the training cross-products are the full ones
minus the fold's own), and each fold's triples are searched among its own pool. A
fold's choices are those of the search run on its training part alone (same
filters, pools, tie rules); only the last bits of the scores differ, so a choice
can differ only between two models whose scores tie to about 1e-12.

Each fold's chosen combinations are then refit on its training part, exactly as
the fold-by-fold driver refits them. Routes without a sweep (classification, 1D
ranking by splits, a SISSO space whose stored rungs depend on the training values)
keep the fold-by-fold driver; :func:`sweep_reason` says why.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from .. import _core
from ..config import Config
from ..data.primaries import Primaries
from ..results import Model
from ..search.paper import fitted_model
from ..search.route import SingularModel

ProgressFn = Callable[[str, int, int], Any]


class FoldModels:
    """What a sweep found: per fold (its index in the folds), the models of dimensions 1..max_dim that
    the search would choose on its training part, once the fold is complete (None: not finished, when
    Ctrl-C stopped the sweep)."""

    def __init__(self, n_folds: int):
        self.models: list[list[Model] | None] = [None] * n_folds
        self.notes: list[str] = []
        self.seconds: dict[str, float] = {}
        self.interrupted = False


def sweep_reason(cfg: Config) -> str | None:
    """Why this config's nested CV runs fold by fold (None: it runs in one sweep)."""
    if cfg.validation.nested_mode == "refit":
        return "nested_mode = \"refit\""
    if cfg.search.task == "classification":
        return "classification (its separation scores are not sums of per-fold terms)"
    if cfg.features.generator != "paper":
        if cfg.features.rung >= 2:
            return "a SISSO space with stored rungs (each training part filters them on its own values)"
        if cfg.search.method != "sis-l0":
            return "the SISSO exhaustive search"
    if cfg.validation.rank_1d == "splits":
        return "1D ranking by splits (random splits of each training part)"
    return None


def paper_sweep(cfg: Config, prim: Primaries, folds: list[list[int]],
                progress: ProgressFn | None = None) -> FoldModels:
    """The paper route's search (inner keep = 1) on every fold's training part, in one sweep. Ctrl-C
    keeps the folds finished (see FoldModels)."""
    out = FoldModels(len(folds))
    try:
        _paper_sweep(cfg, prim, folds, progress, out)
    except KeyboardInterrupt:
        out.interrupted = True
    return out


def _paper_sweep(cfg: Config, prim: Primaries, folds: list[list[int]], progress: ProgressFn | None,
                 out: FoldModels) -> None:
    f, s = cfg.features, cfg.search
    n = prim.n_samples
    y = np.ascontiguousarray(prim.target, dtype=float)
    source = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, f.method, f.variant)
    trains = [np.setdiff1d(np.arange(n), np.asarray(t, dtype=int)) for t in folds]
    views = [_core.SampleView(source, tr.tolist()) for tr in trains]
    top_2d = len(source) if s.top_2d == "all" else int(s.top_2d)
    need = max(1, top_2d if s.max_dim >= 2 else 0, s.top_3d if s.max_dim >= 3 else 0)
    clock = time.perf_counter()
    screened = _core.screen_folds(source, folds, y, keep=need, variance_filter=f.variance_filter, dedup=f.dedup,
                                  progress=progress)
    if any(r.interrupted for r in screened):
        raise KeyboardInterrupt
    tops = [[int(i) for i in r.indices] for r in screened]
    out.seconds["screening"] = time.perf_counter() - clock
    models: list[list[Model]] = [[] for _ in folds]
    display = prim.display()

    def fit(k: int, candidates: list[int]) -> None:
        try:
            models[k].append(fitted_model(views[k], prim.names, y[trains[k]], candidates, display=display))
        except SingularModel as exc:
            out.notes.append(f"fold {k + 1}: skipped a model that cannot be refit: {exc}")

    for k, top in enumerate(tops):
        if top:
            fit(k, [top[0]])
    if s.max_dim >= 2:
        clock = time.perf_counter()
        pools = [top[:top_2d] for top in tops]
        found = _core.search_pairs_folds(source, folds, y, pools, max_pair_corr=s.max_pair_corr, keep=1,
                                         progress=progress)
        if any(r.cancelled or r.interrupted for r in found):
            raise KeyboardInterrupt
        for k, r in enumerate(found):
            for members in r.members.tolist():
                fit(k, [pools[k][m] for m in members])
        out.seconds["pairs"] = time.perf_counter() - clock
    if s.max_dim < 3:
        out.models = models
        return
    clock = time.perf_counter()
    for k in range(len(folds)):  # the triple scoring is each fold's own: fold by fold, complete folds kept
        pool = tops[k][: s.top_3d]
        if len(pool) >= 3:
            the_set = _core.StandardizedSet.from_candidates(views[k], pool, y[trains[k]])
            r = _core.search_triples(the_set, max_pair_corr=s.max_pair_corr, keep=1)
            if r.cancelled or r.interrupted:
                raise KeyboardInterrupt
            for members in r.members.tolist():
                fit(k, [pool[m] for m in members])
        out.models[k] = models[k]
        if progress is not None:
            progress("nested triples", k + 1, len(folds))
    out.seconds["triples"] = time.perf_counter() - clock


def sisso_sweep(cfg: Config, prim: Primaries, folds: list[list[int]],
                progress: ProgressFn | None = None) -> FoldModels:
    """The SISSO route's SIS + l0 (inner keep = 1) on every fold's training part: each SIS is one
    evaluation pass of the space for every fold (the fold's own target or residuals), each fold's l0
    step searches its own union of screened features. Only for spaces that do not depend on the
    training values (rung <= 1: nothing stored but the primaries). Ctrl-C keeps the folds finished."""
    out = FoldModels(len(folds))
    try:
        _sisso_sweep(cfg, prim, folds, progress, out)
    except KeyboardInterrupt:
        out.interrupted = True
    return out


def _sisso_sweep(cfg: Config, prim: Primaries, folds: list[list[int]], progress: ProgressFn | None,
                 out: FoldModels) -> None:
    from ..search.sisso import build_space, screen_options

    s = cfg.search
    space, variables, _ = build_space(cfg, prim, progress)
    n = prim.n_samples
    y = np.ascontiguousarray(prim.target, dtype=float)
    trains = [np.setdiff1d(np.arange(n), np.asarray(t, dtype=int)) for t in folds]
    views = [_core.SampleView(space, tr.tolist()) for tr in trains]
    display = prim.display(variables)
    models: list[list[Model]] = [[] for _ in folds]
    unions: list[list[int]] = [[] for _ in folds]
    stopped = [False] * len(folds)  # a dimension without a model ends that fold's search
    clock = time.perf_counter()
    for dim in range(1, s.max_dim + 1):
        live = [k for k in range(len(folds)) if not stopped[k]]
        if not live:
            break
        if dim == 1:
            targets: Any = y
        else:  # each fold's residuals of its best model of the previous dimension, over all samples
            targets = []
            for k in range(len(folds)):
                previous = [m for m in models[k] if m.dimension == dim - 1][: s.n_residual]
                rows = [y - m.intercept - np.asarray(m.coefficients) @ space.evaluate(m.candidates) for m in previous]
                targets.append(np.ascontiguousarray(rows if rows else [y], dtype=float))
        keep = s.n_sis + max(len(u) for u in unions)
        screened = _core.screen_folds(space, folds, targets, keep=keep, **screen_options(cfg), progress=progress)
        if any(r.interrupted for r in screened):
            raise KeyboardInterrupt
        for k in live:
            in_union = set(unions[k])
            top = [int(i) for i in screened[k].indices][: s.n_sis + len(unions[k])]
            unions[k].extend([i for i in top if i not in in_union][: s.n_sis])
            pool = unions[k]
            combos: list[list[int]] = []
            if dim == 1:
                combos = [[pool[0]]] if pool else []
            elif len(pool) >= dim:
                the_set = _core.StandardizedSet.from_candidates(views[k], pool, y[trains[k]])
                kernel = _core.search_pairs if dim == 2 else _core.search_triples
                r = kernel(the_set, max_pair_corr=s.max_pair_corr, keep=1)
                if r.cancelled or r.interrupted:
                    raise KeyboardInterrupt
                combos = [[pool[m] for m in members] for members in r.members.tolist()]
            fitted = []
            for candidates in combos:
                try:
                    fitted.append(fitted_model(views[k], variables, y[trains[k]], candidates, display=display))
                except SingularModel as exc:
                    out.notes.append(f"fold {k + 1}: skipped a model that cannot be refit: {exc}")
            models[k].extend(fitted)
            if not fitted:
                stopped[k] = True
        if progress is not None:
            progress("nested SIS + l0", dim, s.max_dim)
    out.seconds["sis_l0"] = time.perf_counter() - clock
    out.models = models
