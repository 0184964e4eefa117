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
the fold-by-fold driver refits them. Where the sweep would not be the same search
(classification, 1D ranking by splits, multi-task, a memory budget), the
fold-by-fold driver runs instead: :func:`sweep_reason` says why before the folds
exist, :class:`NotSwept` after. A SISSO space's stored rungs are decided on all
samples in both drivers (their filters use no target), so every fold searches
the same space.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from .. import _core
from ..config import Config
from ..data.primaries import Primaries
from ..results import Model
from ..search.paper import fitted_model, pool_size
from ..search.route import SingularModel
from ..search.sisso import build_space
from .nested import NotSwept

ProgressFn = Callable[[str, int, int], Any]
MAX_FOLDS = 32  # the pair sweep keeps one bit per fold


class FoldModels:
    """What a sweep found: per fold (its index in the folds), the models of dimensions 1..max_dim that
    the search would choose on its training part, once the fold is complete (None: not finished, when
    Ctrl-C stopped the sweep)."""

    def __init__(self, n_folds: int):
        self.models: list[list[Model] | None] = [None] * n_folds
        self.notes: list[str] = []
        self.seconds: dict[str, float] = {}
        self.interrupted = False


def sweep_reason(cfg: Config, prim: Primaries | None = None) -> str | None:
    """Why this config's nested CV (on these samples) runs fold by fold (None: it runs in one sweep,
    unless :class:`NotSwept` says otherwise once the folds exist)."""
    if cfg.validation.nested_mode == "refit":
        return "nested_mode = \"refit\""
    if cfg.search.task == "classification":
        return "classification (its separation scores are not sums of per-fold terms)"
    if cfg.validation.rank_1d == "splits":
        return "1D ranking by splits (random splits of each training part)"
    if cfg.multitask or (prim is not None and prim.tasks is not None):
        return "multi-task SISSO (its scores are per-task sums, not folded)"
    if cfg.search.memory_budget_mb is not None:
        return "a memory budget ([search] memory_budget_mb): the sweep would hold the union of the folds' pools"
    return None


def sweep(cfg: Config, prim: Primaries, folds: list[list[int]], progress: ProgressFn | None = None,
          stored: list[list[int]] | None = None) -> FoldModels:
    """The route's search (inner keep = 1) on every fold's training part, in one sweep. Ctrl-C keeps the
    folds finished (see FoldModels); NotSwept when the sweep would not be the same search. SISSO: every
    fold searches the space of all samples, its stored rungs `stored` when given (those the search over
    all samples stored; their filters use no target), else decided here on all samples."""
    if len(folds) > MAX_FOLDS:
        raise NotSwept(f"more than {MAX_FOLDS} outer folds")
    out = FoldModels(len(folds))
    try:
        if cfg.features.generator == "paper":
            f = cfg.features
            source = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, f.method, f.variant)
            Sweep(cfg, prim, folds, progress, out, source, list(prim.names), prim.display()).exhaustive(False)
        else:
            space, variables, _ = build_space(cfg, prim, progress, stored=stored)
            s = Sweep(cfg, prim, folds, progress, out, space, variables, prim.display(variables))
            if cfg.search.method == "exhaustive":
                s.exhaustive(True)
            else:
                s.sis_l0()
    except KeyboardInterrupt:
        out.interrupted = True
    return out


class Sweep:
    """One fold-sweeping search: the state shared by its stages."""

    def __init__(self, cfg: Config, prim: Primaries, folds: list[list[int]], progress: ProgressFn | None,
                 out: FoldModels, source: Any, variables: list[str], display: list[str]):
        self.cfg, self.folds, self.progress, self.out = cfg, folds, progress, out
        self.source, self.variables, self.display = source, variables, display
        n = prim.n_samples
        self.y = np.ascontiguousarray(prim.target, dtype=float)
        self.trains = [np.setdiff1d(np.arange(n), np.asarray(t, dtype=int)) for t in folds]
        self.views = [_core.SampleView(source, tr.tolist()) for tr in self.trains]
        self.models: list[list[Model]] = [[] for _ in folds]

    def screen(self, targets: Any, keep: int) -> list[list[int]]:
        from ..search.sisso import screen_options

        f = self.cfg.features
        options = (screen_options(self.cfg) if f.generator != "paper"
                   else {"variance_filter": f.variance_filter, "dedup": f.dedup})
        clock = time.perf_counter()
        # Each fold's value duplicates are settled on its best list, which must hold the duplicates of the
        # survivors, else the pass runs again with a longer one. A SISSO rung has about as many duplicates
        # as features: a longer list at once (the paper grammar's default one hashes less).
        size = 0 if f.generator == "paper" else 4 * keep + 256
        screened = _core.screen_folds(self.source, self.folds, targets, keep=keep, **options, progress=self.progress,
                                      list_size=size)
        if any(r.interrupted for r in screened):
            raise KeyboardInterrupt
        self.out.seconds["screening"] = self.out.seconds.get("screening", 0.0) + time.perf_counter() - clock
        return [[int(i) for i in r.indices] for r in screened]

    def fit(self, k: int, candidates: list[int]) -> bool:
        try:
            self.models[k].append(fitted_model(self.views[k], self.variables, self.y[self.trains[k]], candidates,
                                               display=self.display))
            return True
        except SingularModel as exc:
            self.out.notes.append(f"fold {k + 1}: skipped a model that cannot be refit: {exc}")
            return False

    def fold_kernel(self, k: int, pool: list[int], dim: int) -> list[list[int]]:
        """Fold k's best combination of `dim` members of `pool` (its own training part, its own kernel)."""
        from ..search.slices import combination_kernel

        the_set = _core.StandardizedSet.from_candidates(self.views[k], pool, self.y[self.trains[k]])
        r = combination_kernel(dim)(the_set, max_pair_corr=self.cfg.search.max_pair_corr, keep=1)
        if r.cancelled or r.interrupted:
            raise KeyboardInterrupt
        return [[pool[m] for m in members] for members in r.members.tolist()]

    def exhaustive(self, stop_when_empty: bool) -> None:
        """Screening, pairs among each fold's top_2d (one sweep), triples among its top_3d (the folds side by
        side), combinations of 4 and more among its top_nd (fold by fold)."""
        s, F = self.cfg.search, len(self.folds)
        top_2d = len(self.source) if s.top_2d == "all" else int(s.top_2d)
        need = max([1] + [pool_size(s, d, top_2d) for d in range(2, s.max_dim + 1)])
        tops = self.screen(self.y, need)
        live = [bool(top) and self.fit(k, [top[0]]) for k, top in enumerate(tops)]
        live = [ok or not stop_when_empty for ok in live]
        if s.max_dim >= 2:
            clock = time.perf_counter()
            pools = [top[:top_2d] if live[k] else [] for k, top in enumerate(tops)]
            found = _core.search_pairs_folds(self.source, self.folds, self.y, pools, max_pair_corr=s.max_pair_corr,
                                             keep=1, progress=self.progress)
            if any(r.cancelled or r.interrupted for r in found):
                raise KeyboardInterrupt
            for k, r in enumerate(found):
                ok = False
                for members in r.members.tolist():
                    ok = self.fit(k, [pools[k][m] for m in members]) or ok
                live[k] = live[k] and (ok or not stop_when_empty)
            self.out.seconds["pairs"] = time.perf_counter() - clock
        if s.max_dim < 3:
            self.out.models = list(self.models)
            return
        clock = time.perf_counter()
        # The triple scoring is each fold's own: the folds side by side, one per thread (finished folds kept).
        pools = [tops[k][: s.top_3d] if live[k] else [] for k in range(F)]
        found = _core.search_triples_folds(self.source, self.folds, self.y, pools, max_pair_corr=s.max_pair_corr,
                                           keep=1, progress=self.progress)
        for k, r in enumerate(found):
            if r.cancelled:
                break
            ok = False
            for members in r.members.tolist():
                ok = self.fit(k, [pools[k][m] for m in members]) or ok
            live[k] = live[k] and (ok or not stop_when_empty)
            if s.max_dim == 3:
                self.out.models[k] = self.models[k]
        self.out.seconds["triples"] = time.perf_counter() - clock
        # Ctrl-C stops the sweep here even when the folds already running finished every fold.
        if any(r.cancelled or r.interrupted for r in found):
            raise KeyboardInterrupt
        if s.max_dim == 3:
            return
        clock = time.perf_counter()
        for k in range(F):  # 4 members and more: the d-combination walk, fold by fold
            for dim in range(4, s.max_dim + 1):
                pool = tops[k][: pool_size(s, dim, top_2d)]
                if not live[k] or len(pool) < dim:
                    continue
                combos = self.fold_kernel(k, pool, dim)
                live[k] = any([self.fit(k, c) for c in combos]) or not stop_when_empty
            self.out.models[k] = self.models[k]
            if self.progress is not None:
                self.progress("nested 4D+", k + 1, F)
        self.out.seconds["4d_and_up"] = time.perf_counter() - clock

    def sis_l0(self) -> None:
        """Per dimension: SIS for every fold in one evaluation pass of the space (each fold's own target
        or residuals), then each fold's l0 step over its own union of screened features."""
        s, F = self.cfg.search, len(self.folds)
        unions: list[list[int]] = [[] for _ in range(F)]
        live = [True] * F  # a dimension without a model ends that fold's search, as in the route
        clock = time.perf_counter()
        for dim in range(1, s.max_dim + 1):
            if not any(live):
                break
            if dim == 1:
                targets: Any = self.y
            else:  # each fold's residuals of its best models of the previous dimension, over all samples
                targets = []
                for k in range(F):
                    previous = [m for m in self.models[k] if m.dimension == dim - 1][: s.n_residual]
                    rows = [self.y - m.intercept - np.asarray(m.coefficients) @ self.source.evaluate(m.candidates)
                            for m in previous] or [self.y]
                    targets.append(np.ascontiguousarray(rows, dtype=float))
            tops = self.screen(targets, s.n_sis + max(len(u) for u in unions))
            for k in range(F):
                if live[k]:
                    in_union = set(unions[k])
                    top = tops[k][: s.n_sis + len(unions[k])]
                    unions[k].extend([i for i in top if i not in in_union][: s.n_sis])
                    pool = unions[k]
                    combos = [[pool[0]]] if dim == 1 and pool else (
                        self.fold_kernel(k, pool, dim) if dim > 1 and len(pool) >= dim else [])
                    live[k] = any([self.fit(k, c) for c in combos])
                if self.progress is not None:  # per fold: an l0 step over thousands of features takes seconds
                    self.progress("nested SIS + l0", (dim - 1) * F + k + 1, s.max_dim * F)
        self.out.seconds["sis_l0"] = time.perf_counter() - clock
        self.out.models = list(self.models)
