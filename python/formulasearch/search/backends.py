"""Where the pair and triple searches of the paper route run: here, streamed within a memory budget, or on Dask.

Every backend is a function (spec, dim, progress) -> the merged search result of
the whole pool, so the route does not know where the slices ran; merging follows
the core's order, so the models are the same on every backend.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from ..config import Config
from .dask_backend import dask_client, search_on_dask
from .slices import SearchSpec, SliceResult, merge_slices, search_slice, search_streamed

Backend = Callable[[SearchSpec, int, Any], SliceResult]


@contextlib.contextmanager
def search_backend(cfg: Config) -> Iterator[Backend]:
    """The backend the config asks for, open for the duration of the block."""
    options = {"max_pair_corr": cfg.search.max_pair_corr, "keep": cfg.search.keep}
    dist = cfg.distributed
    budget = cfg.search.memory_budget_mb
    if dist.backend == "local" or cfg.search.max_dim < 2:
        def local(spec: SearchSpec, dim: int, progress) -> SliceResult:
            if budget is not None:
                return merge_slices([search_streamed(spec, dim, options, budget, progress)], options["keep"])
            return merge_slices([search_slice(spec.build(progress), dim, 0, None, options, progress)],
                                options["keep"])

        yield local
        return
    with dask_client(dist.address, dist.n_workers) as client:
        n_tasks = dist.tasks_per_worker * max(1, len(client.scheduler_info().get("workers", {})) or dist.n_workers)
        yield lambda spec, dim, progress: search_on_dask(client, spec, dim, options, n_tasks, progress, budget)


def backend_description(cfg: Config) -> dict[str, Any]:
    """Where the searches ran, as recorded in the Result."""
    backend: dict[str, Any] = {"name": cfg.distributed.backend}
    if cfg.distributed.backend == "dask":
        backend.update(address=cfg.distributed.address or "LocalCluster", n_workers=cfg.distributed.n_workers)
    return backend
