"""The units of work of the scale-out, the same for every backend.

- A combination search (pairs, triples, d >= 4) over a pool of candidates is
  split into slices (combinations whose first member lies in a range). Each
  slice is an independent task: it rebuilds the standardised candidates from a
  small spec (a recipe of the candidate source and the pool's indices, not the
  candidates' values), searches its slice in the C++ core and returns its best
  models. Merging keeps the best `keep` by the core's own total order (r2
  descending, then members ascending), so the merged result is the same for
  any number or size of slices.
- A screening (SIS) of a large source is split into blocks of indices
  (:class:`BlockedScreening`): each task screens one block and returns its top
  list; the lists merge by the screening's order (score descending, then
  index), and the value dedup across blocks is resolved so that the merged
  screening is the one of the whole source.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from .. import _core


class SourceRecipe(Protocol):
    """What a task needs to rebuild a candidate source: small to send, deterministic to build."""

    key: str  #: equal for recipes that build the same source

    def build(self) -> Any: ...


@dataclass(frozen=True, eq=False)
class PaperSource:
    """The paper grammar's generator: the primary matrix and the grammar's options (cheap to build)."""

    matrix: np.ndarray  #: primary variables (variables x samples)
    names: list[str]
    classes: list[list[int]]
    method: int
    variant: str
    key: str = field(default="")

    @classmethod
    def make(cls, matrix, names, classes, method, variant) -> "PaperSource":
        matrix = np.ascontiguousarray(matrix, dtype=float)
        digest = hashlib.sha1(matrix.tobytes())
        digest.update(repr((list(names), [list(c) for c in classes], method, variant)).encode())
        return cls(matrix, list(names), [list(c) for c in classes], method, variant, "paper:" + digest.hexdigest())

    def build(self) -> "_core.PaperGenerator":
        return _core.PaperGenerator(self.matrix, self.names, self.classes, self.method, self.variant)


_sources: dict[str, Any] = {}


def built_source(recipe: SourceRecipe) -> Any:
    """The recipe's source, built once per process (a worker runs many tasks of one search)."""
    if recipe.key not in _sources:
        _sources.clear()  # one source at a time: bound the memory
        _sources[recipe.key] = recipe.build()
    return _sources[recipe.key]


def register_source(recipe: SourceRecipe, source: Any) -> None:
    """A source this process already built (the client's), so that its tasks run here reuse it."""
    _sources.clear()
    _sources[recipe.key] = source


def forget_sources() -> None:
    """Free the sources built or registered here (a search is done)."""
    _sources.clear()
    _worker_cache.clear()


@dataclass(frozen=True, eq=False)
class SearchSpec:
    """Everything a task needs to rebuild the pool of a search."""

    source: SourceRecipe
    target: np.ndarray
    pool: np.ndarray  #: source indices of the pool's candidates, in 1D rank order
    key: str = field(default="")

    @classmethod
    def of(cls, source: SourceRecipe, target, pool) -> "SearchSpec":
        target = np.ascontiguousarray(target, dtype=float)
        pool = np.ascontiguousarray(pool, dtype=np.uint64)
        digest = hashlib.sha1(source.key.encode())
        digest.update(target.tobytes())
        digest.update(pool.tobytes())
        return cls(source, target, pool, digest.hexdigest())

    @classmethod
    def make(cls, matrix, names, classes, method, variant, target, pool) -> "SearchSpec":
        """The spec of a pool of the paper grammar's formulas."""
        return cls.of(PaperSource.make(matrix, names, classes, method, variant), target, pool)

    def generator(self) -> Any:
        """The candidate source (built once per process)."""
        return built_source(self.source)

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


def best_first(entries: list[tuple[float, Any]], keep: int) -> list[tuple[float, Any]]:
    """The best `keep` of (score, tie) entries in the core's total order: score descending, then tie
    ascending (a combination's members, a candidate's index): the merge rule of slices and blocks."""
    return sorted(entries, key=lambda e: (-e[0], e[1]))[:keep]


def merge_slices(parts: list[SliceResult], keep: int) -> SliceResult:
    """Best `keep` models over all slices, in the core's order; counters summed."""
    models = best_first([(r2, tuple(members)) for part in parts for members, r2 in zip(part.members, part.r2)], keep)
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


# -- screening in blocks ------------------------------------------------------

#: The counters of a screening, summed over blocks (as the core's ScreenCounts).
SCREEN_COUNTS = ("n_candidates", "n_screened", "n_out_of_range", "n_nonfinite", "n_low_variance",
                 "n_string_duplicates", "n_value_duplicates", "n_kept")


@dataclass
class BlockResult:
    """One block's screening as plain data: its top list (best first) and counters, and with
    report_values every kept candidate's value hash (what the blocks' dedup across blocks needs)."""

    indices: list[int]
    scores: list[float]
    counts: dict[str, int]
    kept_index: np.ndarray | None = None
    kept_hash: np.ndarray | None = None
    interrupted: bool = False
    dedup_bounded: bool = False


def screen_block(source: SourceRecipe, targets: np.ndarray, begin: int, end: int, keep: int,
                 options: dict[str, Any], earlier_values: np.ndarray | None = None, report_values: bool = False,
                 progress: Callable | None = None) -> BlockResult:
    """Screen the candidates [begin, end) of a source (a task: the source is rebuilt once per process)."""
    found = _core.screen(built_source(source), targets, keep=keep, begin=begin, end=end,
                         earlier_values=None if earlier_values is None else earlier_values.tolist(),
                         report_values=report_values, progress=progress, **options)
    return BlockResult(found.indices.tolist(), found.score.tolist(), {k: int(getattr(found, k)) for k in SCREEN_COUNTS},
                       np.array(found.kept_index) if report_values else None,
                       np.array(found.kept_hash) if report_values else None, bool(found.interrupted),
                       bool(found.dedup_bounded))


@dataclass
class MergedScreen:
    """The screening of the whole source, merged from its blocks (read as the core's ScreenResult)."""

    indices: np.ndarray
    score: np.ndarray
    interrupted: bool
    n_candidates: int = 0
    n_screened: int = 0
    n_out_of_range: int = 0
    n_nonfinite: int = 0
    n_low_variance: int = 0
    n_string_duplicates: int = 0
    n_value_duplicates: int = 0
    n_kept: int = 0
    dedup_bounded: bool = False  #: some block forgot duplicate keys past its dedup_limit (counts: lower bounds)
    reran: int = 0  #: blocks screened again to settle the dedup across blocks (first screening only)


def plan_blocks(size: int, n_blocks: int) -> list[tuple[int, int]]:
    """[0, size) in n_blocks contiguous ranges of about equal size (screening costs the same per index)."""
    n_blocks = max(1, min(n_blocks, size))
    bounds = [size * k // n_blocks for k in range(n_blocks + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


# (begin, end, earlier_values, report_values): one block's task
BlockJob = tuple[int, int, "np.ndarray | None", bool]


class BlockedScreening:
    """Screenings of one source in blocks, merged into exactly the screening of the whole source.

    Each block's top list merges by score, then index (the core's TopK). What is
    not local to a block is the value dedup: a candidate equal (up to sign and
    scale) to one of an earlier block is a duplicate. The first screening has
    each block record its kept candidates' value hashes; here the hashes seen
    in an earlier block are found (the client holds one hash per kept candidate,
    as a local screening does), the duplicates leave the top lists and the
    counts, and a block whose full top list lost members is screened again
    with those hashes as seen, unless the merged list ends above its last
    member (then nothing it lacks could enter). Later screenings (other
    targets: SIS on residuals) give each block its earlier hashes from the
    start, so one pass suffices.
    """

    def __init__(self, size: int, n_blocks: int, dedup: str):
        self.blocks = plan_blocks(size, n_blocks)
        self.value_dedup = dedup == "value"
        self.earlier: list[np.ndarray] | None = None  # per block: the hashes of earlier blocks it repeats

    def screen(self, run: Callable[[list[BlockJob]], list[BlockResult]], keep: int) -> MergedScreen:
        """The merged screening; run(jobs) screens the blocks (here or as tasks) and returns them in order."""
        first = self.value_dedup and self.earlier is None
        earlier = self.earlier or [None] * len(self.blocks)
        parts = run([(b, e, seen if self.value_dedup else None, first) for (b, e), seen in zip(self.blocks, earlier)])
        reran = self._settle_duplicates(parts, run, keep) if first and not any(p.interrupted for p in parts) else 0
        top = best_first([(s, i) for p in parts for i, s in zip(p.indices, p.scores)], keep)
        counts = {k: sum(p.counts[k] for p in parts) for k in SCREEN_COUNTS}
        return MergedScreen(np.array([i for _, i in top], dtype=np.uint64), np.array([s for s, _ in top]),
                            any(p.interrupted for p in parts), reran=reran,
                            dedup_bounded=any(p.dedup_bounded for p in parts), **counts)

    def _settle_duplicates(self, parts: list[BlockResult], run, keep: int) -> int:
        hashes = np.concatenate([p.kept_hash for p in parts])
        block_of = np.concatenate([np.full(len(p.kept_hash), k) for k, p in enumerate(parts)])
        _, firsts = np.unique(hashes, return_index=True)  # blocks in order: the first occurrence of each hash
        repeated = np.ones(len(hashes), dtype=bool)
        repeated[firsts] = False
        index = np.concatenate([p.kept_index for p in parts])
        self.earlier = [hashes[repeated & (block_of == k)] for k in range(len(parts))]
        truncated = []
        for k, part in enumerate(parts):
            dropped = set(index[repeated & (block_of == k)].tolist())
            part.counts["n_kept"] -= len(dropped)
            part.counts["n_value_duplicates"] += len(dropped)
            full = len(part.indices) == keep
            last = (part.scores[-1], part.indices[-1]) if part.indices else None
            kept = [(i, s) for i, s in zip(part.indices, part.scores) if i not in dropped]
            if full and len(kept) < len(part.indices):
                truncated.append((k, last))  # its list no longer reaches `keep`: it may lack some below `last`
            part.indices, part.scores = [i for i, _ in kept], [s for _, s in kept]
            part.kept_index = part.kept_hash = None
        top = best_first([(s, i) for p in parts for i, s in zip(p.indices, p.scores)], keep)
        bottom = (-top[-1][0], top[-1][1]) if len(top) == keep else None
        rerun = [k for k, last in truncated if bottom is None or not bottom < (-last[0], last[1])]
        if rerun:
            again = run([(*self.blocks[k], self.earlier[k], False) for k in rerun])
            for k, part in zip(rerun, again):
                parts[k].indices, parts[k].scores, parts[k].interrupted = part.indices, part.scores, part.interrupted
        return len(rerun)
