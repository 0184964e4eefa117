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


def combination_kernel(dim: int) -> Callable[..., Any]:
    """The core's search of `dim`-combinations over a StandardizedSet: kernel(set, **options).
    Pairs and triples by the Gram-tile kernels, 4 and more members by the d-combination walk."""
    if dim == 2:
        return _core.search_pairs
    if dim == 3:
        return _core.search_triples
    return lambda the_set, **options: _core.search_combinations(the_set, dim, **options)


def streamed_kernel(dim: int) -> Callable[..., Any]:
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


@dataclass
class SliceResult:
    """A search's best combinations and counts as plain Python data, named as in _core.SearchResult:
    what a slice sends between processes, and what merging slices gives."""

    members: list[list[int]]  #: positions of each combination's members in the pool, best first
    r2: list[float]
    n_combinations: int  #: combinations evaluated (all of the slice's unless cancelled)
    n_scored: int
    gram_flops: int
    seconds: float
    peak_bytes: int
    cancelled: bool
    interrupted: bool

    @classmethod
    def of(cls, found: "_core.SearchResult") -> "SliceResult":
        """The core's result as plain data (picklable; no view into the C++ result)."""
        return cls(found.members.tolist(), found.r2.tolist(), int(found.n_combinations), int(found.n_scored),
                   int(found.gram_flops), float(found.seconds), int(found.peak_bytes), bool(found.cancelled),
                   bool(found.interrupted))


def search_streamed(spec: SearchSpec, dim: int, options: dict[str, Any], memory_budget_mb: float,
                    progress: Callable | None = None, first: int = 0, last: int | None = None) -> SliceResult:
    """The combination search of a spec (or one slice of it) within a memory budget: the pool
    is evaluated a block at a time instead of held (the same result as search_slice over it)."""
    kernel = streamed_kernel(dim)
    found = kernel(spec.generator(), spec.pool.tolist(), spec.target, memory_budget_mb=memory_budget_mb,
                   first=first, last=last, progress=progress, **options)
    return SliceResult.of(found)


def search_slice(spec_or_set, dim: int, first: int, last: int | None, options: dict[str, Any],
                 progress: Callable | None = None, memory_budget_mb: float | None = None) -> SliceResult:
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
    return SliceResult.of(found)


def merge_slices(parts: list[SliceResult], keep: int) -> SliceResult:
    """Best `keep` models over all slices, in the core's order; counters summed."""
    models = [(r2, tuple(members)) for part in parts for members, r2 in zip(part.members, part.r2)]
    models.sort(key=lambda m: (-m[0], m[1]))
    models = models[:keep]
    return SliceResult(members=[list(m[1]) for m in models], r2=[m[0] for m in models],
                       n_combinations=sum(part.n_combinations for part in parts),
                       n_scored=sum(part.n_scored for part in parts),
                       gram_flops=sum(part.gram_flops for part in parts),
                       seconds=sum(part.seconds for part in parts),  # compute time, over all tasks
                       peak_bytes=max((part.peak_bytes for part in parts), default=0),  # of one task
                       cancelled=any(part.cancelled for part in parts),
                       interrupted=any(part.interrupted for part in parts))


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
