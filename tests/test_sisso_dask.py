"""The SISSO route on Dask: SIS over blocks of the feature space and the l0 step
as slices of combinations give exactly the local run's models, also when a
worker is killed while tasks are running.

The blocks' merge is checked first without Dask (the merge rules alone), then
whole runs on a LocalCluster against the local run."""
import contextlib
import os
import signal

import numpy as np
import pytest

import formulasearch as fs
from formulasearch import _core
from formulasearch.config import Config
from formulasearch.search.route import FILTER_COUNTS
from formulasearch.search.sisso import SissoSource, screen_options
from formulasearch.search.slices import BlockedScreening, best_first, built_source, screen_block

PRIMARIES = ["IP_A", "IP_B", "EA_A", "EA_B", "rs_A", "rs_B", "rp_A", "rp_B"]
FEATURES = {"generator": "sisso", "rung": 2, "primaries": PRIMARIES}


@pytest.fixture(scope="module")
def space():
    """A rung-2 space of 42,809 indices; about a quarter of its usable features repeat an earlier one's values."""
    prim = fs.build_primaries(fs.datasets.octet())
    cfg = Config.load({"features": FEATURES})
    recipe = SissoSource.make(cfg, prim, True)
    return recipe, built_source(recipe), screen_options(cfg), prim.target


def blocks_here(recipe, targets, keep, options, jobs=None):
    """run(jobs) of BlockedScreening, each block screened in this process; `jobs` records the calls."""
    def run(batch):
        if jobs is not None:
            jobs.append(batch)
        return [screen_block(recipe, targets, b, e, keep, options, seen, report) for b, e, seen, report in batch]
    return run


def same_screening(merged, whole):
    assert merged.indices.tolist() == whole.indices.tolist()
    assert merged.score.tolist() == whole.score.tolist()  # bit for bit: each candidate is scored on its own
    for key in ("n_candidates", "n_kept", *FILTER_COUNTS):
        assert getattr(merged, key) == getattr(whole, key), key


@pytest.mark.parametrize("n_blocks", [1, 5, 13])
@pytest.mark.parametrize("keep", [1, 60])
def test_blocks_merge_to_the_whole_screening_in_every_pass(space, n_blocks, keep):
    recipe, source, options, y = space
    blocked = BlockedScreening(len(source), n_blocks, options["dedup"])
    assert blocked.blocks[0][0] == 0 and blocked.blocks[-1][1] == len(source)
    assert all(a[1] == b[0] for a, b in zip(blocked.blocks, blocked.blocks[1:]))
    whole = _core.screen(source, y, keep=keep, **options)
    same_screening(blocked.screen(blocks_here(recipe, y, keep, options), keep), whole)
    # A later SIS pass: several targets (residuals), the blocks seeded with the hashes found in the first pass.
    targets = np.ascontiguousarray([y - 0.3 * y.mean() * np.sin(np.arange(y.size)), y ** 2])
    jobs = []
    merged = blocked.screen(blocks_here(recipe, targets, keep, options, jobs), keep)
    same_screening(merged, _core.screen(source, targets, keep=keep, **options))
    assert len(jobs) == 1 and not any(report for *_, report in jobs[0])  # one pass, no hashes sent back


def test_duplicates_across_blocks_are_dropped_and_a_crowded_block_is_screened_again(space):
    """A target planted on a feature that repeats one of an earlier block: the later copy tops its
    block's list, the merge drops it, and the block whose full list lost members is screened again."""
    recipe, source, options, y = space
    n_blocks, keep = 5, 5
    first = BlockedScreening(len(source), n_blocks, "value")
    parts = [screen_block(recipe, y, b, e, 1, options, None, True) for b, e in first.blocks]
    hashes = np.concatenate([p.kept_hash for p in parts])
    _, firsts = np.unique(hashes, return_index=True)
    repeated = np.ones(hashes.size, dtype=bool)
    repeated[firsts] = False
    copy = int(np.concatenate([p.kept_index for p in parts])[repeated][-40])
    target = source.evaluate([copy])[0] + 0.01 * np.random.default_rng(0).standard_normal(y.size)

    whole = _core.screen(source, target, keep=keep, **options)
    assert copy not in whole.indices.tolist()  # locally a value duplicate
    blocked = BlockedScreening(len(source), n_blocks, "value")
    jobs = []
    merged = blocked.screen(blocks_here(recipe, target, keep, options, jobs), keep)
    same_screening(merged, whole)
    assert merged.reran >= 1 and len(jobs) == 2 and all(not report for *_, report in jobs[1])
    # The merge without the dedup across blocks would keep the copy: the test is not vacuous.
    unseeded = [screen_block(recipe, target, b, e, keep, options) for b, e in blocked.blocks]
    naive = [i for _, i in best_first([(s, i) for p in unseeded for i, s in zip(p.indices, p.scores)], keep)]
    assert copy in naive and naive != whole.indices.tolist()


def test_a_block_is_screened_without_a_cache_and_within_the_source(space):
    recipe, source, options, y = space
    with pytest.raises(ValueError, match="cache"):
        _core.screen(source, y, keep=3, end=10, cache=_core.ScreenCache(10.0), **options)
    with pytest.raises(ValueError, match="past its end"):
        _core.screen(source, y, keep=3, begin=20, end=10, **options)


distributed = pytest.importorskip("distributed")

JOB = {"features": FEATURES, "search": {"max_dim": 3, "n_sis": 30, "keep": 5}, "validation": {"method": "none"}}
DASK = {"backend": "dask", "n_workers": 2, "tasks_per_worker": 3}


def assert_same_models(here, there):
    assert [m.dimension for m in here.models] == [m.dimension for m in there.models]
    for a, b in zip(here.models, there.models):
        assert a.formulas == b.formulas and a.candidates == b.candidates
        assert a.intercept == pytest.approx(b.intercept, abs=1e-12, rel=0)
        assert a.coefficients == pytest.approx(b.coefficients, abs=1e-12, rel=0)
    assert here.n_candidates == there.n_candidates and here.n_kept == there.n_kept
    assert here.screening == there.screening
    for dim in ("2D", "3D"):
        assert here.search_stats[dim]["combinations"] == there.search_stats[dim]["combinations"]


@pytest.mark.parametrize("search", [{}, {"method": "exhaustive", "top_2d": 300, "top_3d": 60, "n_sis": None}])
def test_sisso_on_dask_gives_the_local_models(search):
    job = {**JOB, "search": {k: v for k, v in {**JOB["search"], **search}.items() if v is not None}}
    here = fs.run(job)
    stages = []
    there = fs.run({**job, "distributed": DASK}, progress=lambda stage, done, total: stages.append(stage))
    assert here.backend == {"name": "local"}
    assert there.backend["name"] == "dask"
    assert_same_models(here, there)
    passes = there.feature_space["screenings"]
    assert passes and all(p["blocks"] == 6 and not p["cached"] for p in passes)  # every pass screened in blocks
    assert "screening" in stages and "pairs" in stages and "triples" in stages  # progress as the paper route's


def test_sisso_on_dask_with_a_worker_killed_mid_run_gives_the_local_models(monkeypatch):
    import formulasearch.search.backends as backends

    clients = []
    opened = backends.dask_client

    @contextlib.contextmanager
    def recorded(*args):
        with opened(*args) as client:
            clients.append(client)
            yield client

    monkeypatch.setattr(backends, "dask_client", recorded)
    # A larger space (more, longer blocks) so that the workers are busy when the first block returns.
    job = {**JOB, "features": {**FEATURES, "primaries": PRIMARIES + ["rd_A", "rd_B"]}}
    here = fs.run(job)
    killed = []

    def kill_one_worker_mid_run(stage, done, total):
        # After the first block of the first SIS pass came back (the space is built here before the
        # cluster starts), kill a worker that still has tasks.
        if stage == "screening" and clients and not killed:
            client = clients[0]
            processing = client.processing()
            victim = max(processing, key=lambda w: len(processing[w]))
            killed.append((victim, len(processing[victim])))
            os.kill(client.run(os.getpid)[victim], signal.SIGKILL)

    there = fs.run({**job, "distributed": {**DASK, "tasks_per_worker": 8}}, progress=kill_one_worker_mid_run)
    assert killed and killed[0][1] > 0, "no worker was busy when killed: the test did not exercise a retry"
    assert there.backend["name"] == "dask" and not there.interrupted
    assert_same_models(here, there)


def test_ctrl_c_on_dask_keeps_the_models_found_so_far():
    def interrupt(stage, done, total):
        if stage == "triples":  # the 3D l0 step, on the workers
            raise KeyboardInterrupt

    job = {**JOB, "features": {**FEATURES, "rung": 1}}
    here = fs.run(job)
    there = fs.run({**job, "distributed": DASK}, progress=interrupt)
    assert there.interrupted and "interrupted (Ctrl-C)" in " ".join(there.messages)
    assert [(m.formulas, m.coefficients) for m in there.models] == \
           [(m.formulas, m.coefficients) for m in here.models if m.dimension < 3]
