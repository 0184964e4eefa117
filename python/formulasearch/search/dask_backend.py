"""Scale-out on Dask: the slices and screening blocks of search.slices run as Dask tasks.

A LocalCluster of worker processes by default, or any running scheduler given
by address (so dask-jobqueue, Kubernetes or SSH clusters work unchanged).
Workers run the C++ core; each rebuilds the candidate source once from the
small broadcast recipe (the paper grammar's primaries; the SISSO space's
primaries and config). A task whose worker dies is re-run elsewhere by Dask,
and since slices and blocks are pure functions of their spec, the merged
result is the same as a local run.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from .. import _core
from ..errors import ConfigError
from .slices import (BlockJob, BlockResult, SearchSpec, SliceResult, SourceRecipe, merge_slices, plan_slices,
                     screen_block, search_slice, stage_name)


def _require_dask():
    try:
        import distributed  # noqa: F401
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ConfigError("[distributed] backend = \"dask\" needs dask.distributed: pip install \"formulasearch[dask]\"") from None
    return distributed


@contextmanager
def dask_client(address: str | None, n_workers: int) -> Iterator[Any]:
    """A client of the given scheduler, or of a LocalCluster started for this run."""
    distributed = _require_dask()
    if address:
        try:
            client = distributed.Client(address, timeout="20s")
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        with client:
            yield client
        return
    # One task at a time per worker process; the core's OpenMP threads share
    # the machine's cores between workers.
    cores = os.cpu_count() or 1
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, env={"OMP_NUM_THREADS": str(max(1, cores // n_workers))}) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def search_on_dask(client, spec: SearchSpec, dim: int, options: dict[str, Any], n_tasks: int,
                   progress: Callable[[str, int, int], Any] | None = None,
                   memory_budget_mb: float | None = None) -> SliceResult:
    """Run every slice of one search on the cluster and merge them exactly.

    With a memory budget each task streams its slice (search_slice): a worker
    holds at most that many MiB of standardised candidates (and, for triples,
    the K x K correlations) instead of the whole pool."""
    distributed = _require_dask()
    streamed = memory_budget_mb is not None
    tile = options.get("tile", _core.SearchOptions().tile)  # the core's default unless the options set one
    slices = plan_slices(len(spec.pool), dim, n_tasks, tile, streamed=streamed)
    spec_future = client.scatter(spec, broadcast=True, hash=False)  # a fresh key: see screen_on_dask
    futures = [client.submit(search_slice, spec_future, dim, first, last, options, None, memory_budget_mb,
                             pure=False, retries=5)
               for first, last in slices]
    parts = []
    for done, future in enumerate(distributed.as_completed(futures), start=1):
        parts.append(future.result())
        if progress is not None:
            progress(stage_name(dim), done, len(futures))
    return merge_slices(parts, options["keep"])


def screen_on_dask(client, source: SourceRecipe, targets: np.ndarray, keep: int, options: dict[str, Any],
                   jobs: list[BlockJob], progress: Callable[[str, int, int], Any] | None = None) -> list[BlockResult]:
    """Screen blocks of a source on the cluster (see slices.BlockedScreening); the results in the jobs' order.
    Progress counts the indices of the finished blocks, as a local screening counts its own."""
    distributed = _require_dask()
    # hash=False: a fresh key per pass. With the content's key, the previous pass's future, released
    # when it goes out of scope, can delete the data this pass just scattered ("lost dependencies").
    source_future = client.scatter(source, broadcast=True, hash=False)
    futures = [client.submit(screen_block, source_future, targets, begin, end, keep, options, earlier, report,
                             pure=False, retries=5)
               for begin, end, earlier, report in jobs]
    position = {future.key: k for k, future in enumerate(futures)}
    results: list[BlockResult | None] = [None] * len(futures)
    total, done = sum(end - begin for begin, end, _, _ in jobs), 0
    for future in distributed.as_completed(futures):
        k = position[future.key]
        results[k] = future.result()
        done += jobs[k][1] - jobs[k][0]
        if progress is not None:
            progress("screening", done, total)
    return results  # type: ignore[return-value]
