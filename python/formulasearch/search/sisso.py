"""The SISSO route: an operator feature space grown rung by rung, then SIS + l0.

- The space (C++ SissoSpace) stores every rung but the last; each stored rung
  is the screened survivors of its lazy block (filters, value dedup), and the
  last rung is only ever streamed through screening: it is never held.
- The lazy rung is enumerated structurally (C++): the stored features are
  bucketed by unit and complexity, and only the pairs the rules can allow are
  visited; each rung reports its product, visited and generated counts.
- SIS (sure independence screening) keeps the n_sis features most correlated
  with the target (dimension 1) or with the residuals of the best n_residual
  models of the previous dimension; the l0 step then searches ALL
  d-combinations of the union of the screened subspaces with the same
  kernels as the paper route (Gram tiles for pairs and triples, the
  d-combination walk from 4D on). The first SIS pass keeps the usable
  features of the space (values included) in a ScreenCache within the memory
  budget; passes 2..max_dim score them without generating them again (the
  same result bit for bit); past the budget every pass streams.
- On Dask ([distributed] backend = "dask") each SIS pass screens blocks of the
  space as tasks (slices.BlockedScreening: top lists merged by score, then
  index; the value dedup across blocks settled in the first pass) and the l0
  step runs as slices of the combinations, as the paper route's searches:
  the same models as here. Workers rebuild the space from the primaries and
  the config (SissoSource) instead of receiving its values. The screening
  cache is local: on Dask every pass evaluates its blocks again.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from .. import _core
from ..config import Config
from ..data.primaries import Primaries
from ..data.units import parse_unit, unit_matrix
from ..errors import ConfigError, InputError
from ..formula import OPERATORS
from ..results import Model
from .backends import backend_description, search_backend
from .paper import fitted_model, pool_size
from .route import Found, Route, SingularModel, search_stats, value_duplicates_message
from .slices import BlockedScreening, SearchSpec, forget_sources, register_source


@dataclass
class SissoSpaceInfo:
    """Sizes, time and memory of the feature space, rung by rung."""

    rungs: list[dict[str, Any]] = field(default_factory=list)
    base_units: list[str] = field(default_factory=list)
    stored_mb: float = 0.0
    build_seconds: float = 0.0
    passes: list[dict[str, Any]] = field(default_factory=list)  # screenings of the last rung: time, from the cache
    #: the features stored by each rung but the last (space indices), as advance() took them
    stored: list[list[int]] = field(default_factory=list)


# The share of physical memory that the screening cache may use when no
# [features] memory_budget_mb is set.
DEFAULT_CACHE_FRACTION = 0.25


def physical_memory_mb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        return None


def cache_budget_mb(cfg: Config, stored_mb: float) -> float:
    """Memory for the screened features' values: what [features] memory_budget_mb leaves
    beside the stored rungs, else DEFAULT_CACHE_FRACTION of physical memory (0: no cache)."""
    if cfg.features.memory_budget_mb is not None:
        return max(0.0, cfg.features.memory_budget_mb - stored_mb)
    total = physical_memory_mb()
    return DEFAULT_CACHE_FRACTION * total if total else 0.0


def rung_counts(space, generated: int) -> dict[str, int]:
    """How much of the lazy rung's product the enumeration visited, and what it generated."""
    return {"product": int(space.product_size), "visited": int(space.n_visited), "generated": generated}


def select_primaries(prim: Primaries, names: list[str] | None) -> tuple[np.ndarray, list[str], list[str]]:
    """(matrix, names, units) of the chosen primary variables."""
    if names is None:
        return prim.matrix, list(prim.names), list(prim.units)
    missing = [n for n in names if n not in prim.names]
    if missing:
        raise ConfigError(f"[features] primaries: {missing[0]!r} is not a primary variable "
                          f"(available: {', '.join(prim.names)})")
    rows = [prim.names.index(n) for n in names]
    return np.ascontiguousarray(prim.matrix[rows]), list(names), [prim.units[r] for r in rows]


def variable_units(cfg: Config, names: list[str], dataset_units: list[str]) -> list[str]:
    """Unit of each variable: [features] units by property (P of P_A), else the dataset's."""
    given = cfg.features.units or {}
    strict = cfg.features.strict_units
    out = []
    for name, unit in zip(names, dataset_units):
        prop = name.rsplit("_", 1)[0]
        chosen = given.get(name, given.get(prop, unit))
        # Strict units are checked units: none may be missing or contradict the data's own.
        if strict and not (chosen or "").strip():
            raise ConfigError(f"strict_units = true needs the unit of every primary variable, and {name} has none: "
                              f"set [features] units = {{ {prop} = \"...\" }} (\"1\" for dimensionless)")
        if strict and unit and chosen != unit and parse_unit(chosen) != parse_unit(unit):
            raise ConfigError(f"[features] units gives {prop} the unit {chosen!r}, but the data says {unit!r} "
                              "(strict_units = true)")
        out.append(chosen)
    unknown = set(given) - set(names) - {n.rsplit("_", 1)[0] for n in names}
    if unknown:
        raise ConfigError(f"[features] units: {sorted(unknown)[0]!r} is not a property of the chosen primaries")
    return out


def build_space(cfg: Config, prim: Primaries, progress: Callable | None = None, structured: bool = True,
                stored: list[list[int]] | None = None):
    """The SissoSpace with every rung but the last stored, and what it took.

    structured=False walks each rung's whole product index by index (the same
    features in the same order, much slower): for tests and benchmarks.
    stored: the features each rung stores, as decided on other samples (nested CV decides
    them on all samples: the filters use no target); else the filters decide on these samples.
    A space's indices depend only on what earlier rungs stored, so the lists carry over.
    """
    f = cfg.features
    matrix, names, dataset_units = select_primaries(prim, f.primaries)
    units_sixths, base = unit_matrix(variable_units(cfg, names, dataset_units))
    space = _core.SissoSpace(matrix, names, units_sixths, cfg.ops_per_rung(), f.max_complexity, f.strict_units,
                             structured=structured)
    info = SissoSpaceInfo(base_units=base)
    info.rungs.append({"rung": 0, "generated": len(names), "kept": len(names), "seconds": 0.0})
    y = np.ascontiguousarray(prim.target, dtype=float)
    while space.lazy_rung < space.max_rung:
        started = time.perf_counter()
        if stored is not None:
            new = list(stored[len(info.stored)])
            info.rungs.append({"rung": space.lazy_rung, "kept": len(new), "decided_on": "other samples",
                               "seconds": 0.0})
        else:
            scr = _core.screen(space, y, keep=len(space), **screen_options(cfg), progress=progress)
            if scr.interrupted:
                raise KeyboardInterrupt  # no model exists yet while the space is built
            new = [int(i) for i in scr.indices if i >= space.n_stored]
            info.rungs.append({"rung": space.lazy_rung, **rung_counts(space, int(scr.n_candidates) - space.n_stored),
                               "kept": len(new), "value_duplicates": int(scr.n_value_duplicates),
                               "seconds": time.perf_counter() - started})
        info.stored.append(new)
        space.advance(new)
        info.stored_mb = space.stored_bytes / 2**20
        if f.memory_budget_mb is not None and info.stored_mb > f.memory_budget_mb:
            raise InputError(f"the stored rungs need {info.stored_mb:.0f} MB, above memory_budget_mb = "
                             f"{f.memory_budget_mb:g}: lower rung, ops or primaries, or raise the budget")
    return space, names, info


@dataclass(frozen=True, eq=False)
class SissoSource:
    """The recipe of a SISSO space, for tasks on other processes: the primaries and the config.

    A worker rebuilds the stored rungs (the same features: the build is
    deterministic) rather than receive them: the recipe is a few kB, the stored
    rungs can be GBs, and the last rung is never held anywhere."""

    cfg: Config
    prim: Primaries
    structured: bool
    key: str = ""

    @classmethod
    def make(cls, cfg: Config, prim: Primaries, structured: bool) -> "SissoSource":
        digest = hashlib.sha1(np.ascontiguousarray(prim.matrix, dtype=float).tobytes())
        digest.update(np.ascontiguousarray(prim.target, dtype=float).tobytes())
        digest.update(repr((prim.names, prim.units, cfg.features, cfg.ops_per_rung(), structured)).encode())
        return cls(cfg, prim, structured, "sisso:" + digest.hexdigest())

    def build(self) -> "_core.SissoSpace":
        return build_space(self.cfg, self.prim, structured=self.structured)[0]


def check_tasks(prim: Primaries) -> None:
    """Every task of a multi-task search has samples enough to fit a line and judge it (3)."""
    counts = np.bincount(prim.tasks, minlength=len(prim.task_names))
    for name, count in zip(prim.task_names, counts):
        if count < 3:
            raise InputError(f"task {name!r} has {count} sample(s): multi-task SISSO needs at least 3 per task")


def multitask_model(model: Model, values: np.ndarray, y: np.ndarray, tasks: np.ndarray) -> Model:
    """A model's formulas refit task by task (QR; an intercept and coefficients per task), with its errors
    over all samples; SingularModel when a task's fit is rank deficient."""
    predicted = np.empty_like(y)
    intercepts, coefficients, task_rmse = [], [], []
    for t in range(int(tasks.max()) + 1):
        rows = np.flatnonzero(tasks == t)
        try:
            fit = _core.fit_linear(np.ascontiguousarray(values[:, rows]), np.ascontiguousarray(y[rows]))
        except ValueError as exc:
            raise SingularModel(f"{model.formulas} over task {t + 1}: {exc}") from None
        intercepts.append(float(fit.intercept))
        coefficients.append([float(c) for c in fit.coefficients])
        predicted[rows] = fit.intercept + np.asarray(fit.coefficients) @ values[:, rows]
        task_rmse.append(float(fit.rmse))
    e = y - predicted
    model.task_intercepts, model.task_coefficients = intercepts, coefficients
    model.intercept, model.coefficients = intercepts[0], list(coefficients[0])
    model.rmse, model.mae, model.maxae = (float(np.sqrt(np.mean(e ** 2))), float(np.mean(np.abs(e))),
                                          float(np.max(np.abs(e))))
    model.r2 = float(1.0 - (e @ e) / np.sum((y - y.mean()) ** 2))
    model.notes["task_rmse"] = task_rmse
    return model


def screen_options(cfg: Config) -> dict[str, Any]:
    f = cfg.features
    return {"variance_filter": f.variance_filter, "dedup": f.dedup, "max_abs": f.max_abs, "min_abs": f.min_abs}


class SissoRoute(Route):
    """An operator feature space searched by SIS + exhaustive l0, or exhaustively, dimensions 1..max_dim.

    - method = "sis-l0": each dimension screens the space (SIS) against the target
      (1D) or the residuals of the best n_residual models of the previous dimension,
      adds the n_sis best new features to the union, and searches all combinations
      of the union (l0) with the Gram kernels of the paper route.
    - method = "exhaustive": one screening ranks every feature by its 1D fit, then
      all pairs of the best top_2d ("all": every kept feature), all triples of the
      best top_3d and all d-combinations (d >= 4) of the best top_nd are searched,
      as in the paper route.
    - multi-task (the primaries carry tasks): SIS ranks by the mean over the tasks of
      each task's r^2, and the l0 step (1D included) minimises the total SSE of
      per-task fits (_core.search_multitask); each model has coefficients per task.
    """

    #: Class switches for benchmarks: the structured enumeration of each rung and the
    #: screening cache (False, False: the unstructured walk, every SIS pass streamed).
    structured = True
    cache_screening = True

    def __init__(self, cfg: Config, prim: Primaries, progress: Callable | None = None, lap: Callable | None = None,
                 stored_rungs: list[list[int]] | None = None):
        super().__init__(cfg, prim, progress, lap)
        #: the features each stored rung keeps (space indices): given, decided on other samples (nested CV:
        #: on all of them); None: decided on these samples by generate(), which then records them here
        self.stored_rungs = stored_rungs

    def generate(self) -> None:
        started = time.perf_counter()
        self.space, self.variables, self.info = build_space(self.cfg, self.prim, self.progress, self.structured,
                                                            self.stored_rungs)
        self.stored_rungs = self.info.stored
        self.info.build_seconds = time.perf_counter() - started
        s = self.cfg.search
        # SIS screens the same space once per dimension: keep what the first pass found usable
        # (here: on Dask the blocks are screened by workers, which evaluate them again).
        passes = s.max_dim if s.method != "exhaustive" else 1
        local = self.cfg.distributed.backend == "local"
        self.cache = (_core.ScreenCache(cache_budget_mb(self.cfg, self.info.stored_mb))
                      if self.cache_screening and passes > 1 and local else None)
        self.recipe = SissoSource.make(self.cfg, self.prim, self.structured)
        register_source(self.recipe, self.space)  # tasks run in this process use this space, not a rebuilt one
        self.blocks: BlockedScreening | None = None
        self.y = np.ascontiguousarray(self.prim.target, dtype=float)
        self.tasks = self.prim.tasks  # None: one task
        if self.tasks is not None:
            check_tasks(self.prim)
        self.n_candidates = len(self.space)
        self.union: list[int] = []  # sis-l0: the screened subspaces so far; exhaustive: every kept feature, ranked

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with search_backend(self.cfg, screening=True) as backend:
            self.backend = backend
            if backend.distributed:  # SIS in blocks, one task each
                self.blocks = BlockedScreening(len(self.space), backend.n_tasks, self.cfg.features.dedup)
            yield

    def find(self, dim: int, models: list[Model]) -> Found:
        s = self.cfg.search
        started = time.perf_counter()
        if s.method == "exhaustive":
            if dim == 1:
                self.top_2d = len(self.space) if s.top_2d == "all" else s.top_2d
                need = max([s.keep] + [pool_size(s, d, self.top_2d) for d in range(2, s.max_dim + 1)])
                scr = self._screen(self.y[None, :], need)
                self.union = [int(i) for i in scr.indices]
            # multi-task 1D: the l0 step re-ranks every screened feature by its per-task fits
            pool = self.union if dim == 1 and self.tasks is not None else self.union[: pool_size(s, dim, self.top_2d)]
        else:
            previous = [m for m in models if m.dimension == dim - 1][: s.n_residual]
            targets = (self.y[None, :] if dim == 1 else
                       np.ascontiguousarray([self.y - m.predictions(self.space.evaluate(m.candidates), self.tasks)
                                             for m in previous]))
            scr = self._screen(targets, s.n_sis + len(self.union))
            in_union = set(self.union)
            self.union.extend([int(i) for i in scr.indices if int(i) not in in_union][: s.n_sis])
            pool = self.union
        if self.screened.interrupted:
            return Found([], interrupted=f"{'screening' if s.method == 'exhaustive' else 'SIS'} for {dim}D")
        if dim > 1 and len(pool) < dim:
            self.messages.append(f"{dim}D: only {len(pool)} features survived screening; no {dim}D model")
            return Found([])
        screened = time.perf_counter()
        # 1D: the screening's own ranking (multi-task: its score is not the total SSE, so l0 ranks)
        found = self._l0(dim, pool) if dim > 1 or self.tasks is not None else None
        done = time.perf_counter()
        if found is None:  # the best keep, one feature each
            members = [[k] for k in range(min(s.keep, len(pool)))]
            n_combinations, gram_flops, peak_bytes = len(pool), 0, 0
        else:
            members, n_combinations = found.members, found.n_combinations
            gram_flops, peak_bytes = found.gram_flops, found.peak_bytes
        stats = search_stats(len(pool), n_combinations, done - started, gram_flops=gram_flops, peak_bytes=peak_bytes,
                             sis_seconds=screened - started, l0_seconds=done - screened)
        stats["models_per_second"] = n_combinations / max(done - screened, 1e-12)  # the l0 step's rate
        combinations = [[pool[m] for m in row] for row in members]
        interrupted = found is not None and found.interrupted
        return Found(combinations, stats, f"the {dim}D l0 step" if interrupted else None)

    def _l0(self, dim: int, pool: list[int]) -> Any:
        """The l0 step: every dim-combination of the pool searched on the backend, as the paper route's
        searches (here: with a memory budget the pool is evaluated a block at a time; on Dask: slices);
        multi-task: the total SSE over the tasks, each with its own fit (local only)."""
        if self.tasks is not None:
            the_set = _core.MultiTaskSet.from_candidates(self.space, pool, self.y, self.tasks)
            return _core.search_multitask(the_set, dim, max_pair_corr=self.cfg.search.max_pair_corr,
                                          keep=self.cfg.search.keep, progress=self.progress)
        return self.backend(SearchSpec.of(self.recipe, self.y, pool), dim, self.progress)

    def _screen(self, targets: np.ndarray, keep: int) -> Any:
        started = time.perf_counter()
        if self.blocks is not None:
            options = screen_options(self.cfg)
            run = (lambda jobs: self.backend.screen_blocks(self.recipe, np.ascontiguousarray(targets), keep, options,
                                                           jobs, self.progress))
            self.screened = self.blocks.screen(run, keep)
            self.info.passes.append({"seconds": time.perf_counter() - started, "cached": False,
                                     "blocks": len(self.blocks.blocks), "reran": self.screened.reran})
            return self.screened
        reused = self.cache is not None and self.cache.ready
        self.screened = _core.screen(self.space, targets, keep=keep, **screen_options(self.cfg),
                                     progress=self.progress, cache=self.cache, tasks=self.tasks)
        self.info.passes.append({"seconds": time.perf_counter() - started, "cached": reused})
        return self.screened

    def when_empty(self, dim: int) -> str:
        return f"{dim}D: no combination of the {len(self.union):,} screened features is valid; stopping"

    def model(self, candidates: list[int]) -> Model:
        model = fitted_model(self.space, self.variables, self.y, candidates,
                             lambda i: self.space.unit(i, self.info.base_units), self.prim.display(self.variables))
        if self.tasks is None:
            return model
        return multitask_model(model, self.space.evaluate(candidates), self.y, self.tasks)

    def finish(self) -> dict[str, Any]:
        cfg, space, scr, info = self.cfg, self.space, self.screened, self.info
        n_candidates, n_kept = (len(space), 0) if scr is None else (int(scr.n_candidates), int(scr.n_kept))
        restricted = [t for t, op in OPERATORS.items() if op.dimensionless_operand]
        used = [t for t in restricted if any(t in ops for ops in cfg.ops_per_rung())]
        if cfg.features.strict_units and used:
            self.messages.append(f"strict_units: {', '.join(restricted[:-1])} and {restricted[-1]} were applied to "
                                 "dimensionless features only")
        self.messages += value_duplicates_message(scr, "features")
        if space.max_rung > 0:  # the last rung, streamed through screening
            info.rungs.append({"rung": space.lazy_rung, **rung_counts(space, n_candidates - space.n_stored),
                               "kept": n_kept - space.n_stored, "streamed": True})
        fsp = {"rungs": info.rungs, "size": n_candidates, "kept": n_kept, "stored_mb": info.stored_mb,
               "base_units": info.base_units, "build_seconds": info.build_seconds, "screenings": info.passes}
        if self.cache is not None:
            fsp["screening_cache"] = {"budget_mb": self.cache.budget_bytes / 2**20, "mb": self.cache.bytes / 2**20,
                                      "features": int(self.cache.size), "used": bool(self.cache.ready),
                                      "over_budget": bool(self.cache.over_budget)}
            self.cache.clear()  # the search is done: free it
        forget_sources()  # nor keep the space (and the l0 step's set) for later tasks here
        return {"feature_space": fsp, "backend": backend_description(cfg)}
