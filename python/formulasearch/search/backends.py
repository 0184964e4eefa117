"""Where the combination searches and the screenings in blocks run: here, streamed within a memory budget, or on Dask.

A backend searches a spec's combinations, backend(spec, dim, progress) -> the
merged search result of the whole pool, and screens blocks of a source,
backend.screen_blocks(...) -> the blocks' results, so the route does not know
where the slices ran; merging follows the core's order, so the models are the
same on every backend.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import numpy as np

from ..config import Config
from .dask_backend import dask_client, screen_on_dask, search_on_dask
from .slices import (BlockJob, BlockResult, SearchSpec, SliceResult, SourceRecipe, merge_slices, screen_block,
                     search_slice, search_streamed)


class Backend:
    """The searches and screenings of one run, here or on a cluster."""

    def __init__(self, search: Callable[[SearchSpec, int, Any], SliceResult], screen=None, n_tasks: int = 1):
        self.search = search
        self._screen = screen
        self.distributed = screen is not None  #: runs tasks elsewhere (the route screens in blocks)
        self.n_tasks = n_tasks  #: tasks a search or screening is split into

    def __call__(self, spec: SearchSpec, dim: int, progress) -> SliceResult:
        return self.search(spec, dim, progress)

    def screen_blocks(self, source: SourceRecipe, targets: np.ndarray, keep: int, options: dict[str, Any],
                      jobs: list[BlockJob], progress=None) -> list[BlockResult]:
        """The blocks' screenings, in the jobs' order."""
        if self._screen is not None:
            return self._screen(source, targets, keep, options, jobs, progress)
        return [screen_block(source, targets, begin, end, keep, options, earlier, report, progress)
                for begin, end, earlier, report in jobs]


@contextlib.contextmanager
def search_backend(cfg: Config, screening: bool = False) -> Iterator[Backend]:
    """The backend the config asks for, open for the duration of the block (`screening`: the route
    also screens on it, so a cluster is started even without a combination search)."""
    options = {"max_pair_corr": cfg.search.max_pair_corr, "keep": cfg.search.keep}
    dist = cfg.distributed
    budget = cfg.search.memory_budget_mb
    if dist.backend == "local" or (cfg.search.max_dim < 2 and not screening):
        def local(spec: SearchSpec, dim: int, progress) -> SliceResult:
            if budget is not None:
                return merge_slices([search_streamed(spec, dim, options, budget, progress)], options["keep"])
            return merge_slices([search_slice(spec.build(progress), dim, 0, None, options, progress)],
                                options["keep"])

        yield Backend(local)
        return
    with dask_client(dist.address, dist.n_workers) as client:
        n_tasks = dist.tasks_per_worker * max(1, len(client.scheduler_info().get("workers", {})) or dist.n_workers)
        yield Backend(lambda spec, dim, progress: search_on_dask(client, spec, dim, options, n_tasks, progress, budget),
                      lambda *args: screen_on_dask(client, *args), n_tasks)


def backend_description(cfg: Config) -> dict[str, Any]:
    """Where the searches ran, as recorded in the Result."""
    backend: dict[str, Any] = {"name": cfg.distributed.backend}
    if cfg.distributed.backend == "dask":
        backend.update(address=cfg.distributed.address or "LocalCluster", n_workers=cfg.distributed.n_workers)
    return backend
