"""The SISSO route: an operator feature space grown rung by rung, then SIS + l0.

- The space (C++ SissoSpace) stores every rung but the last; each stored rung
  is the screened survivors of its lazy block (filters, value dedup), and the
  last rung is only ever streamed through screening: it is never held.
- SIS (sure independence screening) keeps the n_sis features most correlated
  with the target (dimension 1) or with the residuals of the best n_residual
  models of the previous dimension; the l0 step then searches ALL
  d-combinations of the union of the screened subspaces with the same
  Gram-tile kernels as the paper route.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import _core
from .config import Config
from .errors import ConfigError, InputError, stop_if_interrupted
from .primaries import Primaries
from .units import parse_unit, unit_matrix


@dataclass
class SissoSpaceInfo:
    """Sizes, time and memory of the feature space, rung by rung."""

    rungs: list[dict[str, Any]] = field(default_factory=list)
    base_units: list[str] = field(default_factory=list)
    stored_mb: float = 0.0


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


def build_space(cfg: Config, prim: Primaries, progress: Callable | None = None):
    """The SissoSpace with every rung but the last stored, and what it took."""
    f = cfg.features
    matrix, names, dataset_units = select_primaries(prim, f.primaries)
    units_sixths, base = unit_matrix(variable_units(cfg, names, dataset_units))
    space = _core.SissoSpace(matrix, names, units_sixths, cfg.ops_per_rung(), f.max_complexity, f.strict_units)
    info = SissoSpaceInfo(base_units=base)
    info.rungs.append({"rung": 0, "generated": len(names), "kept": len(names), "seconds": 0.0})
    y = np.ascontiguousarray(prim.target, dtype=float)
    while space.lazy_rung < space.max_rung:
        started = time.perf_counter()
        scr = _core.screen(space, y, keep=len(space), **screen_options(cfg), progress=progress)
        if scr.get("interrupted"):
            raise KeyboardInterrupt  # no model exists yet while the space is built
        new = [int(i) for i in scr["indices"] if i >= space.n_stored]
        info.rungs.append({"rung": space.lazy_rung, "generated": int(scr["n_candidates"]) - space.n_stored,
                           "kept": len(new), "value_duplicates": int(scr["n_value_duplicates"]),
                           "seconds": time.perf_counter() - started})
        space.advance(new)
        info.stored_mb = space.stored_bytes / 2**20
        if f.memory_budget_mb is not None and info.stored_mb > f.memory_budget_mb:
            raise InputError(f"the stored rungs need {info.stored_mb:.0f} MB, above memory_budget_mb = "
                             f"{f.memory_budget_mb:g}: lower rung, ops or primaries, or raise the budget")
    return space, names, info


def screen_options(cfg: Config) -> dict[str, Any]:
    f = cfg.features
    return {"variance_filter": f.variance_filter, "dedup": f.dedup, "max_abs": f.max_abs, "min_abs": f.min_abs}


def sis_l0(cfg: Config, space, y: np.ndarray, refit_all: Callable[[list[list[int]]], list], models: list,
           stats: dict[str, Any], messages: list[str], progress: Callable | None = None) -> dict[str, Any]:
    """SIS + exhaustive l0 for dimensions 1..max_dim.

    `refit_all(combinations) -> [Model]` refits combinations (lists of
    candidate indices) by QR, leaving out any that cannot be refit. Fills `models`,
    `stats` (per dimension) and `messages` as it goes, so that an interrupted
    run keeps what it found; returns the last screening's counts.
    """
    s = cfg.search
    union: list[int] = []
    in_union: set[int] = set()
    targets = y[None, :]
    last_screen: dict[str, Any] = {}
    for dim in range(1, s.max_dim + 1):
        started = time.perf_counter()
        scr = _core.screen(space, targets, keep=s.n_sis + len(union), **screen_options(cfg), progress=progress)
        stop_if_interrupted(scr, f"SIS for {dim}D")
        fresh = [int(i) for i in scr["indices"] if int(i) not in in_union][: s.n_sis]
        union.extend(fresh)
        in_union.update(fresh)
        last_screen = scr
        screened = time.perf_counter()
        if dim == 1:
            found = {"members": [[k] for k in range(min(s.keep, len(union)))], "n_combinations": len(union),
                     "gram_flops": 0}
        elif s.memory_budget_mb is not None:  # large n: the union is evaluated a block at a time (same result)
            kernel = _core.search_pairs_streamed if dim == 2 else _core.search_triples_streamed
            found = kernel(space, union, y, memory_budget_mb=s.memory_budget_mb, max_pair_corr=s.max_pair_corr,
                           keep=s.keep, progress=progress)
            found["members"] = found["members"].tolist()
        else:
            the_set = _core.StandardizedSet.from_candidates(space, union, y)
            kernel = _core.search_pairs if dim == 2 else _core.search_triples
            found = kernel(the_set, max_pair_corr=s.max_pair_corr, keep=s.keep, progress=progress)
            found["members"] = found["members"].tolist()
        dim_models = sorted(refit_all([[union[m] for m in members] for members in found["members"]]),
                            key=lambda m: m.rmse)
        if not dim_models:
            messages.append(f"{dim}D: no combination of the {len(union):,} screened features is valid; stopping")
            break
        models.extend(dim_models)
        stop_if_interrupted(found, f"the {dim}D l0 step")
        wall = time.perf_counter() - started
        stats[f"{dim}D"] = {"candidates": len(union), "combinations": int(found["n_combinations"]),
                            "sis_seconds": screened - started, "l0_seconds": wall - (screened - started),
                            "seconds": wall, "models_per_second": found["n_combinations"] / max(wall - (screened - started), 1e-12),
                            "gram_gflop": found["gram_flops"] / 1e9, "peak_mb": found.get("peak_bytes", 0) / 2**20}
        residuals = [y - m.intercept - np.asarray(m.coefficients) @ space.evaluate(m.candidates)
                     for m in dim_models[: s.n_residual]]
        targets = np.ascontiguousarray(residuals)
    return last_screen
