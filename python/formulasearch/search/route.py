"""The route skeleton: every search (paper grammar, SISSO, classification) runs through :func:`search`.

A route builds its candidate source, then for each dimension d = 1..max_dim finds
the best combinations of d candidates (screening for d = 1, the combination
kernels beyond) and refits each as a model. The skeleton owns what the routes
share: the order of the steps, Ctrl-C (the models found so far stay, the stage is
named), combinations that cannot be refit (skipped and said), stage timings and
the search stats. A route fills in :meth:`Route.generate`, :meth:`Route.find`
and :meth:`Route.model`.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .. import _core
from ..config import Config
from ..data.primaries import Primaries
from ..errors import Interrupted
from ..results import Model, Result

ProgressFn = Callable[[str, int, int], Any]
LapFn = Callable[[str], None]


class SingularModel(ValueError):
    """A combination whose refit is rank deficient (e.g. a numerically constant formula)."""


@dataclass
class Found:
    """What the search of one dimension returned."""

    combinations: list[list[int]]  #: candidate indices of each kept combination, best first by the search's score
    stats: dict[str, float] | None = None  #: the stage's account (see :func:`search_stats`); None: not a search
    interrupted: str | None = None  #: the stage a Ctrl-C stopped (`combinations` are the best found until then)


def search_stats(candidates: int, combinations: int, seconds: float, scored: int | None = None,
                 gram_flops: float = 0.0, peak_bytes: float | None = None, **extra: float) -> dict[str, float]:
    """The performance account of a search stage, from what the kernel actually evaluated
    (an interrupted search counts the combinations it scored, not the ones it planned)."""
    rate = (lambda amount: amount / seconds if seconds > 0 else 0.0)
    stats = {"candidates": candidates, "combinations": combinations, "seconds": seconds,
             "models_per_second": rate(combinations)}
    if scored is not None:
        stats["scored"] = scored
    if gram_flops:
        stats.update(gram_gflop=gram_flops / 1e9, gram_gflops_per_second=rate(gram_flops) / 1e9)
    if peak_bytes is not None:
        stats["peak_mb"] = peak_bytes / 2**20
    stats.update(extra)
    return stats


#: The counters of a screening other than its totals (n_candidates, n_kept), in report order.
FILTER_COUNTS = ("n_screened", "n_nonfinite", "n_out_of_range", "n_low_variance", "n_string_duplicates",
                 "n_value_duplicates")


def screening_counts(screened: _core.ScreenCounts | None) -> dict[str, int]:
    """What each filter of a screening dropped, as plain data for the Result (and its JSON); {} before one ran."""
    return {} if screened is None else {k: int(getattr(screened, k)) for k in FILTER_COUNTS}


def chance_r2(n_samples: int, n_candidates: int) -> float:
    """About the R^2 that the best of n_candidates formulas of pure noise reaches on n_samples by chance
    (the largest of M squared correlations is about 2 ln M / (n - 2) for Gaussian noise); at most 1."""
    if n_candidates < 2:
        return 0.0
    return 1.0 if n_samples <= 2 else min(1.0, 2.0 * math.log(n_candidates) / (n_samples - 2))


def selection_warning(n_samples: int, n_candidates: int) -> list[str]:
    """A warning when the samples are too few for the number of formulas searched ([] otherwise)."""
    chance = chance_r2(n_samples, n_candidates)
    if chance < 0.5:
        return []
    return [f"few samples for this search: among {n_candidates:,} formulas, the best fit to {n_samples} samples of "
            f"pure noise would reach R^2 of about {chance:.2f} by chance alone; a small in-sample error says little "
            "here, the cross-validated and nested-CV errors are what to trust"]


def interrupt_message(exc: BaseException) -> str:
    stage = exc.args[0] if isinstance(exc, Interrupted) and exc.args else "the search"
    return f"interrupted (Ctrl-C) during {stage}: the tables hold the best models found until then"


def value_duplicates_message(screened: _core.ScreenCounts | None, what: str, hint: str = "") -> list[str]:
    """The note on value duplicates a screening dropped ([] when none)."""
    n = 0 if screened is None else int(screened.n_value_duplicates)
    if not n:
        return []
    # Past the screening's dedup_limit keys only the candidates that entered the top list are remembered.
    at_least = "at least " if screened.dedup_bounded else ""
    return [f"{at_least}{n:,} {what} dropped as value duplicates (equal to an earlier one up to sign and "
            f"scale){hint}"]


class Route:
    """One kind of search. Subclasses fill in generate, find and model."""

    task = "regression"
    #: models of a dimension are reported by this key (None: in the order the search ranked them)
    order_by: Callable[[Model], Any] | None = staticmethod(lambda m: m.rmse)

    def __init__(self, cfg: Config, prim: Primaries, progress: ProgressFn | None = None, lap: LapFn | None = None):
        self.cfg, self.prim, self.progress = cfg, prim, progress
        self.lap: LapFn = lap or (lambda stage: None)
        self.messages: list[str] = []
        #: the (last) screening, with its counters (n_candidates, n_kept, what each filter dropped); None before one
        self.screened: _core.ScreenCounts | None = None
        #: the candidate source's size: the candidates counted while no screening has run
        self.n_candidates = 0
        self.variables: list[str] = list(prim.names)

    # -- to fill in ---------------------------------------------------------
    @property
    def max_dim(self) -> int:
        return self.cfg.search.max_dim

    def generate(self) -> None:
        """Build the candidate source (and set `variables`, `n_candidates`)."""
        raise NotImplementedError

    def find(self, dim: int, models: list[Model]) -> Found:
        """The best combinations of `dim` candidates (`models`: those of lower dimensions, best first)."""
        raise NotImplementedError

    def model(self, candidates: list[int]) -> Model:
        """The refit model of one combination; SingularModel when it cannot be refit."""
        raise NotImplementedError

    def when_empty(self, dim: int) -> str | None:
        """A closing note when dimension `dim` gave no model and no higher one can follow (None: go on)."""
        return None

    def running(self) -> contextlib.AbstractContextManager:
        """A context held while the dimensions are searched (e.g. a Dask client)."""
        return contextlib.nullcontext()

    def finish(self) -> dict[str, Any]:
        """After the search (also an interrupted one): closing messages, and route-specific Result fields."""
        return {}

    # -- shared -------------------------------------------------------------
    def refit(self, combinations: list[list[int]]) -> list[Model]:
        """Each combination refit; one that cannot be is skipped and reported, not fatal."""
        models = []
        for candidates in combinations:
            try:
                models.append(self.model(candidates))
            except SingularModel as exc:
                self.messages.append(f"skipped a model that cannot be refit: {exc}")
        return models


def search(route: Route, lap: LapFn | None = None) -> Result:
    """Run a route: generation, then dimensions 1..max_dim; Ctrl-C keeps what was found."""
    if lap is not None:
        route.lap = lap
    route.generate()
    route.lap("generation")
    models: list[Model] = []
    stats: dict[str, dict[str, float]] = {}
    interrupted = False
    try:
        with route.running():
            for dim in range(1, route.max_dim + 1):
                found = route.find(dim, models)
                if found.stats is not None:
                    stats[f"{dim}D"] = found.stats
                dim_models = route.refit(found.combinations)
                if route.order_by is not None:  # stable: exact ties keep the search's tie-break
                    dim_models.sort(key=route.order_by)
                models.extend(dim_models)
                if found.interrupted:
                    raise Interrupted(found.interrupted)
                route.lap(f"{dim}D")
                note = None if dim_models else route.when_empty(dim)
                if note:
                    route.messages.append(note)
                    break
    except (Interrupted, KeyboardInterrupt) as exc:
        interrupted = True
        route.messages.append(interrupt_message(exc))
    fields = route.finish()
    s = route.screened
    n_candidates, n_kept = (route.n_candidates, 0) if s is None else (int(s.n_candidates), int(s.n_kept))
    route.messages += selection_warning(route.prim.n_samples, n_kept)
    return Result(config=route.cfg.to_dict(), n_candidates=n_candidates, n_kept=n_kept,
                  models=models, target=route.prim.target_name, variables=list(route.variables),
                  screening=screening_counts(s), messages=route.messages, search_stats=stats,
                  interrupted=interrupted, task=route.task, **fields)


def max_threads() -> int:
    """Threads the core's kernels use now."""
    return _core.max_threads()


@contextlib.contextmanager
def threads(count: int) -> Iterator[None]:
    """The core's kernels run with `count` threads (0: keep the current setting) inside the block."""
    previous = _core.max_threads()
    if count:
        _core.set_threads(count)
    try:
        yield
    finally:
        _core.set_threads(previous)
