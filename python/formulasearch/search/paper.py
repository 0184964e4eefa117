"""The paper route: every formula of the grammar of Gajera et al. screened in 1D, then exact pairs, triples, ...

generation (C++ PaperGenerator) -> screening (filters, dedup, 1D rank) -> pairs among
the best top_2d, triples among the best top_3d (Gram kernels) and combinations of 4 to
max_dim members among the best top_nd (the d-combination walk), on the chosen backend
-> each kept combination refit by QR.
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator

import numpy as np

from .. import _core
from ..formula import expression_tree, latex_name
from ..results import Model
from .backends import backend_description, search_backend
from .route import Found, Route, SingularModel, search_stats, value_duplicates_message
from .slices import SearchSpec


def fitted_model(source: Any, names: list[str], y: np.ndarray, candidates: list[int],
                 unit_of: Callable[[int], str] | None = None, display: list[str] | None = None) -> Model:
    """The least-squares model of some candidates of a source (QR refit), with its formulas in every form
    (`display`: how the text and LaTeX name each variable; the codes always use `names`)."""
    formulas = [source.formula(i) for i in candidates]
    values = source.evaluate(candidates)
    shown = display or names
    try:
        fit = _core.fit_linear(values, y)
    except ValueError as exc:
        raise SingularModel(f"{[f.to_string(shown) for f in formulas]}: {exc}") from None
    codes = [f.to_postfix(names) for f in formulas]
    latex_names = [latex_name(n) for n in shown]
    return Model(dimension=len(candidates), formulas=[f.to_string(shown) for f in formulas], codes=codes,
                 intercept=fit.intercept, coefficients=fit.coefficients.tolist(), rmse=fit.rmse,
                 mae=fit.mae, maxae=fit.maxae, r2=fit.r2, candidates=candidates,
                 latex=[f.to_latex(latex_names) for f in formulas],
                 units=[unit_of(i) for i in candidates] if unit_of else [],
                 trees=[expression_tree(c) for c in codes])


def pool_size(search: Any, dim: int, top_2d: int) -> int:
    """How many of the best 1D candidates an exhaustive search of `dim`-combinations takes
    ([search] top_2d, resolved to a number; top_3d; top_nd from 4D on)."""
    return search.keep if dim == 1 else top_2d if dim == 2 else search.top_3d if dim == 3 else search.top_nd


class PaperRoute(Route):
    """Exhaustive least-squares search over the paper grammar's formulas."""

    def generate(self) -> None:
        f, prim = self.cfg.features, self.prim
        self.source = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, f.method, f.variant)
        self.y = np.ascontiguousarray(prim.target, dtype=float)
        self.n_candidates = len(self.source)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with search_backend(self.cfg) as backend:
            self.backend = backend
            yield

    def find(self, dim: int, models: list[Model]) -> Found:
        s = self.cfg.search
        if dim == 1:
            return self._screen()
        pool = self.top[:pool_size(s, dim, self.top_2d)]
        if len(pool) < dim:
            self.messages.append(f"{dim}D: only {len(pool)} formulas survived screening; no {dim}D model")
            return Found([])
        f, prim = self.cfg.features, self.prim
        spec = SearchSpec.make(prim.matrix, prim.names, prim.classes, f.method, f.variant, self.y, pool)
        started = time.perf_counter()
        found = self.backend(spec, dim, self.progress)
        stats = search_stats(len(pool), found.n_combinations, time.perf_counter() - started,
                             scored=found.n_scored, gram_flops=found.gram_flops, peak_bytes=found.peak_bytes)
        interrupted = found.interrupted
        if not found.members and not interrupted:
            self.messages.append(f"{dim}D: no combination of the top {len(pool):,} formulas has every pairwise "
                                 f"|r| < {s.max_pair_corr:g}; no {dim}D model")
        combinations = [[int(pool[m]) for m in members] for members in found.members]
        return Found(combinations, stats, f"the {dim}D search" if interrupted else None)

    def _screen(self) -> Found:
        f, s, v = self.cfg.features, self.cfg.search, self.cfg.validation
        self.top_2d = len(self.source) if s.top_2d == "all" else s.top_2d
        need = max([s.keep] + [pool_size(s, d, self.top_2d) for d in range(2, s.max_dim + 1)])
        splits = _core.random_splits(self.y.size, v.n_splits, v.test_fraction, v.seed) if v.rank_1d == "splits" else None
        self.screened = _core.screen(self.source, self.y, keep=need, variance_filter=f.variance_filter, dedup=f.dedup,
                                     rank_splits=splits, progress=self.progress)
        self.lap("screening")
        self.top = self.screened.indices
        if f.dedup == "value":
            self.messages += value_duplicates_message(self.screened, "formulas", '; dedup = "string" keeps them')
        return Found([[int(i)] for i in self.top[: s.keep]],
                     interrupted="screening" if self.screened.interrupted else None)

    def model(self, candidates: list[int]) -> Model:
        return fitted_model(self.source, self.prim.names, self.y, candidates, display=self.prim.display())

    def finish(self) -> dict[str, Any]:
        return {"backend": backend_description(self.cfg)}
