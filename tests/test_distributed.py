"""Scale-out: the same search split into Dask tasks gives exactly the local
result, also when a worker is killed while tasks are running."""
import os
import signal

import numpy as np
import pytest

import formulasearch as fs
from formulasearch import _core
from formulasearch.search.slices import SearchSpec, merge_slices, plan_slices, search_slice

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def spec():
    prim = fs.build_primaries(fs.datasets.octet())
    gen = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1)
    top = _core.screen(gen, prim.target, keep=12000, dedup="string").indices
    return SearchSpec.make(prim.matrix, prim.names, prim.classes, 1, "paper", prim.target, top)


OPTIONS = {"max_pair_corr": 0.9, "keep": 8}


def local(spec, dim, pool=None):
    the_set = spec.build()
    return merge_slices([search_slice(the_set, dim, 0, None, OPTIONS)], OPTIONS["keep"])


@pytest.mark.parametrize("n_tasks", [1, 3, 17])
def test_slices_merge_to_the_whole_search(spec, n_tasks):
    whole = local(spec, 2)
    the_set = spec.build()
    slices = plan_slices(len(spec.pool), 2, n_tasks, 256)
    assert slices[0][0] == 0 and slices[-1][1] == len(spec.pool)
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:]))
    parts = [search_slice(the_set, 2, a, b, OPTIONS) for a, b in slices]
    merged = merge_slices(parts, OPTIONS["keep"])
    assert merged.members == whole.members and merged.r2 == whole.r2
    assert merged.n_combinations == len(spec.pool) * (len(spec.pool) - 1) // 2


def test_dask_local_cluster_matches_local_run():
    config = {"features": {"dedup": "string"},
              "search": {"max_dim": 3, "top_2d": 2000, "top_3d": 400, "keep": 5, "max_pair_corr": 0.95}}
    here = fs.run(config)
    there = fs.run({**config, "distributed": {"backend": "dask", "n_workers": 2, "tasks_per_worker": 3}})
    assert there.backend["name"] == "dask"
    assert [(m.formulas, m.rmse, m.intercept, m.coefficients) for m in here.models] == \
           [(m.formulas, m.rmse, m.intercept, m.coefficients) for m in there.models]
    assert here.search_stats["3D"]["combinations"] == there.search_stats["3D"]["combinations"]


def test_killed_worker_task_is_retried_and_result_is_identical(spec):
    from formulasearch.search.dask_backend import dask_client, search_on_dask

    whole = local(spec, 2)
    killed = []
    with dask_client(None, 2) as client:
        pids = client.run(os.getpid)  # worker address -> pid
        busy = {}

        def kill_one_worker_mid_run(stage, done, total):
            # After the first task finished, kill a worker that still has tasks.
            if done == 1 and not killed:
                processing = client.processing()
                busy.update(processing)
                victim = max(processing, key=lambda w: len(processing[w]))
                killed.append((victim, len(processing[victim])))
                os.kill(pids[victim], signal.SIGKILL)

        merged = search_on_dask(client, spec, 2, OPTIONS, n_tasks=24, progress=kill_one_worker_mid_run)
    assert killed and killed[0][1] > 0, "no worker was busy when killed: the test did not exercise a retry"
    assert merged.members == whole.members
    assert merged.r2 == whole.r2
    assert merged.n_combinations == whole.n_combinations


# Small enough that the 12000-candidate pool streams in several blocks, large
# enough for the per-thread running sums (0.5 MiB a thread) of two threads.
BUDGET_MB = 6


@pytest.fixture
def two_threads(monkeypatch):
    """Two threads here and per Dask worker, whatever the machine: the per-thread
    buffers count against the budget, so the budget must not depend on the cores."""
    import formulasearch.search.dask_backend as dist

    previous = _core.max_threads()
    _core.set_threads(2)
    monkeypatch.setattr(dist.os, "cpu_count", lambda: 4)  # LocalCluster: 4 cores / 2 workers
    yield
    _core.set_threads(previous)


@pytest.mark.parametrize("n_tasks", [1, 3, 17])
@pytest.mark.usefixtures("two_threads")
def test_streamed_slices_merge_to_the_whole_search(spec, n_tasks):
    whole = local(spec, 2)
    slices = plan_slices(len(spec.pool), 2, n_tasks, 256, streamed=True)
    parts = [search_slice(spec, 2, a, b, OPTIONS, memory_budget_mb=BUDGET_MB) for a, b in slices]
    merged = merge_slices(parts, OPTIONS["keep"])
    assert merged.members == whole.members and merged.r2 == whole.r2
    assert merged.n_combinations == whole.n_combinations and merged.n_scored == whole.n_scored
    assert all(0 < part.peak_bytes <= BUDGET_MB * 2**20 for part in parts)


@pytest.mark.usefixtures("two_threads")
def test_streamed_triple_slices_merge_to_the_whole_search(spec):
    small = SearchSpec.of(spec.source, spec.target, spec.pool[:300])
    whole = local(small, 3)
    slices = plan_slices(len(small.pool), 3, 4, 256, streamed=True)
    assert all(a % 16 == 0 for a, _ in slices)
    parts = [search_slice(small, 3, a, b, OPTIONS, memory_budget_mb=2) for a, b in slices]
    merged = merge_slices(parts, OPTIONS["keep"])
    assert merged.members == whole.members and merged.r2 == whole.r2
    assert merged.n_combinations == whole.n_combinations and merged.n_scored == whole.n_scored


@pytest.mark.usefixtures("two_threads")
def test_dask_with_memory_budget_streams_each_task_and_matches_local(spec):
    from formulasearch.search.dask_backend import dask_client, search_on_dask

    whole = local(spec, 2)
    assert whole.peak_bytes > BUDGET_MB * 2**20  # the whole pool would not fit
    with dask_client(None, 2) as client:
        merged = search_on_dask(client, spec, 2, OPTIONS, n_tasks=5, memory_budget_mb=BUDGET_MB)
    assert merged.members == whole.members and merged.r2 == whole.r2
    assert merged.n_combinations == whole.n_combinations
    assert 0 < merged.peak_bytes <= BUDGET_MB * 2**20  # the largest of one task's


@pytest.mark.usefixtures("two_threads")
def test_dask_run_with_memory_budget_matches_local_in_memory_run():
    config = {"features": {"dedup": "string"},
              "search": {"max_dim": 3, "top_2d": 2000, "top_3d": 400, "keep": 5, "max_pair_corr": 0.95}}
    here = fs.run(config)
    there = fs.run({**config, "search": {**config["search"], "memory_budget_mb": BUDGET_MB},
                    "distributed": {"backend": "dask", "n_workers": 2, "tasks_per_worker": 3}})
    assert there.backend["name"] == "dask"
    assert [(m.formulas, m.rmse, m.intercept, m.coefficients) for m in here.models] == \
           [(m.formulas, m.rmse, m.intercept, m.coefficients) for m in there.models]
    for dim in ("2D", "3D"):
        assert here.search_stats[dim]["combinations"] == there.search_stats[dim]["combinations"]
        assert 0 < there.search_stats[dim]["peak_mb"] <= BUDGET_MB
