"""The unit of work of a combination search (pairs, triples, d >= 4), the same for every backend.

A search over a pool of candidates is split into slices (combinations whose
first member lies in a range). Each slice is an independent task: it rebuilds
the standardised candidates from a small spec (the primary matrix and the pool's
indices, not the candidates' values), searches its slice in the C++ core and
returns its best models. Merging keeps the best `keep` by the core's own total
order (r2 descending, then members ascending), so the merged result is the
same for any number or size of slices.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import _core


@dataclass(frozen=True, eq=False)
class SearchSpec:
    """Everything a task needs to rebuild the pool of a search."""

    matrix: np.ndarray  #: primary variables (variables x samples)
    names: list[str]
    classes: list[list[int]]
    method: int
    variant: str
    target: np.ndarray
    pool: np.ndarray  #: generation-order indices of the pool's candidates, in 1D rank order
    key: str = field(default="")

    @classmethod
    def make(cls, matrix, names, classes, method, variant, target, pool) -> "SearchSpec":
        digest = hashlib.sha1()
        for part in (np.ascontiguousarray(matrix, dtype=float), np.ascontiguousarray(target, dtype=float),
                     np.ascontiguousarray(pool, dtype=np.uint64)):
            digest.update(part.tobytes())
        digest.update(repr((names, classes, method, variant)).encode())
        return cls(matrix, list(names), [list(c) for c in classes], method, variant,
                   np.ascontiguousarray(target, dtype=float), np.ascontiguousarray(pool, dtype=np.uint64),
                   digest.hexdigest())

    def generator(self) -> "_core.PaperGenerator":
        return _core.PaperGenerator(self.matrix, self.names, self.classes, self.method, self.variant)

    def build(self, progress=None) -> "_core.StandardizedSet":
        return _core.StandardizedSet.from_candidates(self.generator(), self.pool.tolist(), self.target, progress)


_worker_cache: dict[str, Any] = {}


def combination_kernel(dim: int) -> Callable[..., dict[str, Any]]:
    """The core's search of `dim`-combinations over a StandardizedSet: kernel(set, **options).
    Pairs and triples by the Gram-tile kernels, 4 and more members by the d-combination walk."""
    if dim == 2:
        return _core.search_pairs
    if dim == 3:
        return _core.search_triples
    return lambda the_set, **options: _core.search_combinations(the_set, dim, **options)


def streamed_kernel(dim: int) -> Callable[..., dict[str, Any]]:
    """The same within a memory budget: kernel(source, indices, target, memory_budget_mb=..., **options)."""
    if dim == 2:
        return _core.search_pairs_streamed
    if dim == 3:
        return _core.search_triples_streamed
    return lambda source, indices, target, **options: _core.search_combinations_streamed(
        source, indices, target, dim, **options)


def stage_name(dim: int) -> str:
    """The progress stage of a search of `dim`-combinations."""
    return {2: "pairs", 3: "triples"}.get(dim, f"{dim}-combinations")


def cached_set(spec: SearchSpec):
    """The spec's standardised set, built once per process (a worker runs many slices)."""
    if spec.key not in _worker_cache:
        _worker_cache.clear()  # one search at a time: bound the memory
        _worker_cache[spec.key] = spec.build()
    return _worker_cache[spec.key]


def _plain(found: dict[str, Any]) -> dict[str, Any]:
    return {"members": found["members"].tolist(), "r2": found["r2"].tolist(),
            "n_combinations": int(found["n_combinations"]), "n_scored": int(found["n_scored"]),
            "gram_flops": int(found["gram_flops"]), "seconds": float(found["seconds"]),
            "peak_bytes": int(found["peak_bytes"]),
            "cancelled": bool(found["cancelled"]), "interrupted": bool(found.get("interrupted", False))}


def search_streamed(spec: SearchSpec, dim: int, options: dict[str, Any], memory_budget_mb: float,
                    progress: Callable | None = None, first: int = 0, last: int | None = None) -> dict[str, Any]:
    """The combination search of a spec (or one slice of it) within a memory budget: the pool
    is evaluated a block at a time instead of held (the same result as search_slice over it)."""
    kernel = streamed_kernel(dim)
    found = kernel(spec.generator(), spec.pool.tolist(), spec.target, memory_budget_mb=memory_budget_mb,
                   first=first, last=last, progress=progress, **options)
    return _plain(found)


def search_slice(spec_or_set, dim: int, first: int, last: int | None, options: dict[str, Any],
                 progress: Callable | None = None, memory_budget_mb: float | None = None) -> dict[str, Any]:
    """Search one slice; returns plain Python data (cheap to send between processes).

    With a memory budget (and a spec) the slice is searched streamed: the worker
    evaluates only its part of the pool, a block at a time, instead of holding
    the whole standardised set."""
    if memory_budget_mb is not None:
        if not isinstance(spec_or_set, SearchSpec):
            raise TypeError("a memory budget needs a SearchSpec (the pool to evaluate), not a built set")
        return search_streamed(spec_or_set, dim, options, memory_budget_mb, progress, first, last)
    the_set = cached_set(spec_or_set) if isinstance(spec_or_set, SearchSpec) else spec_or_set
    kernel = combination_kernel(dim)
    found = kernel(the_set, first=first, last=last, progress=progress, **options)
    return _plain(found)


def merge_slices(parts: list[dict[str, Any]], keep: int) -> dict[str, Any]:
    """Best `keep` models over all slices, in the core's order; counters summed."""
    models = [(r2, tuple(members)) for part in parts for members, r2 in zip(part["members"], part["r2"])]
    models.sort(key=lambda m: (-m[0], m[1]))
    models = models[:keep]
    merged = {key: sum(part[key] for part in parts) for key in ("n_combinations", "n_scored", "gram_flops")}
    merged["seconds"] = sum(part["seconds"] for part in parts)  # compute time, over all tasks
    merged["peak_bytes"] = max((part.get("peak_bytes", 0) for part in parts), default=0)  # of one task
    merged["members"] = [list(m[1]) for m in models]
    merged["r2"] = [m[0] for m in models]
    merged["cancelled"] = any(part["cancelled"] for part in parts)
    merged["interrupted"] = any(part.get("interrupted", False) for part in parts)
    return merged


def plan_slices(m: int, dim: int, n_tasks: int, tile: int, streamed: bool = False) -> list[tuple[int, int]]:
    """Split [0, m) into about n_tasks ranges of about equal work.

    Pair slices are aligned to the Gram tile; with `streamed`, slices of
    three or more members are aligned to 16 (the streamed kernels' blocks). The work of a range is
    the number of combinations whose first member falls in it.
    """
    step = tile if dim == 2 else (16 if streamed else 1)
    starts = list(range(0, m, step))
    work = [_core.count_combinations(m, dim, s, s + step) for s in starts]
    total = sum(work)
    if total == 0 or n_tasks <= 1:
        return [(0, m)]
    slices, begin, acc = [], 0, 0
    for s, w in zip(starts, work):
        acc += w
        if acc >= total * (len(slices) + 1) / n_tasks and len(slices) < n_tasks - 1:
            slices.append((begin, s + step))
            begin = s + step
    if begin < m:
        slices.append((begin, m))
    return slices
