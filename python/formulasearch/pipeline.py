"""run(config): the one place that orders the steps.

config -> dataset -> primary variables -> candidates (C++) -> screening (C++)
-> pairs / triples (C++) -> QR refit of the kept models (C++) -> Result.
With [search] task = "classification": classes from the target -> screening
by class separation (C++) -> pairs (C++) -> separators and their CV accuracy
(formulasearch.classification).
"""
from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from . import _core, classification, refine, sisso, validation
from .config import Config
from .datasets import Dataset, load_dataset, octet
from .errors import ConfigError, InputError, Interrupted, stop_if_interrupted
from .postfix import expression_tree
from .entries import entry_primaries
from .primaries import Primaries, build_primaries
from .results import Model, Result
from .tasks import SearchSpec, merge_slices, search_slice, search_streamed

ProgressFn = Callable[[str, int, int], Any]


class SingularModel(ValueError):
    """A combination whose QR refit is rank deficient (e.g. a numerically constant formula)."""


def _refit_all(make, candidate_lists, messages: list[str]) -> list[Model]:
    """Refit each combination; one that cannot be refit is skipped and reported, not fatal."""
    models = []
    for candidates in candidate_lists:
        try:
            models.append(make(candidates))
        except SingularModel as exc:
            messages.append(f"skipped a model that cannot be refit: {exc}")
    return models


def _interrupt_message(exc: BaseException) -> str:
    stage = exc.args[0] if isinstance(exc, Interrupted) and exc.args else "the search"
    return f"interrupted (Ctrl-C) during {stage}: the tables hold the best models found until then"


def run(config: Config | Mapping[str, Any] | str | Path | None = None, *,
        dataset: Dataset | None = None, primaries: Primaries | None = None,
        progress: ProgressFn | None = None) -> Result:
    """Generate candidates, rank them in 1D and search pairs and triples.

    `config` is a Config, a dict of tables ({"search": {"max_dim": 2}}), a TOML
    path, or None for the default job (paper generation 1 on the octet data).
    `dataset` overrides [data] with a Dataset already in memory; `primaries`
    gives the primary variables directly (any samples, not only AB compounds;
    prediction from atomic tables is then not available). `progress` is
    called as progress(stage, done, total) during long steps.
    """
    cfg = Config.load(config)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now - clock
        clock = now

    previous_threads = _core.max_threads()
    if cfg.search.threads:
        _core.set_threads(cfg.search.threads)
    try:
        from_entries = primaries is None and dataset is None and cfg.data.entries is not None
        data_messages: list[str] = []
        if from_entries:
            primaries, data_messages = entry_primaries(cfg.data, cfg.features.classes, progress)
        ds = None if primaries is not None else _resolve_dataset(cfg, dataset)
        prim = primaries if primaries is not None else build_primaries(ds, cfg.data.properties)
        lap("data")
        classifying = cfg.search.task == "classification"
        if classifying:
            search = classification.search
        else:
            search = _sisso_search if cfg.features.generator == "sisso" else _search
        result = search(cfg, prim, progress, lap)
        result.labels = [str(label) for label in prim.labels]
        result.target_values = [float(v) for v in prim.target]
        if ds is not None:
            _record_data(result, ds, dataset is not None)
        elif from_entries:  # [data] says where the samples came from; the messages say how many
            result.messages[:0] = data_messages
        else:
            result.config["data"] = {"dataset": "in-memory: primaries"}
        try:
            if classifying:
                if not result.interrupted:
                    classification.validate(cfg, prim, result)
                    lap("validation")
                if cfg.classification.nested and not result.interrupted:
                    result.validation["nested"] = classification.nested_cv(cfg, prim, result, progress)
                    lap("nested CV")
            elif not result.interrupted:
                _validate_models(cfg, prim, result)
                lap("validation")
            if cfg.refine.enabled and not result.interrupted and not classifying:
                _refine_models(cfg, prim, result)
                lap("refinement")
            if cfg.validation.nested and not result.interrupted and not classifying:
                result.validation["nested"] = _nested_cv(cfg, prim, result.variables, search, progress)
                lap("nested CV")
        except KeyboardInterrupt:  # the models found stay; later stages are skipped
            result.interrupted = True
            result.messages.append("interrupted (Ctrl-C) after the search: validation, refinement or "
                                   "nested CV left incomplete")
        result.threads = _core.max_threads()
    finally:
        _core.set_threads(previous_threads)
    result.timings = timings
    result.peak_memory_mb = peak_memory_mb()
    return result


def _primary_rows(prim: Primaries, variables: list[str]) -> np.ndarray:
    return np.ascontiguousarray(prim.matrix[[prim.names.index(v) for v in variables]])


def _record_data(result: Result, ds: Dataset, in_memory: bool) -> None:
    """Save with the models what prediction needs: the atomic values of the
    properties they use, and the training compounds' A/B orientation."""
    props = sorted({v.rsplit("_", 1)[0] for v in result.variables})
    used = ds.atoms[[p for p in props if p in ds.atoms.columns]]
    result.atoms = {str(sym): {k: float(v) for k, v in row.items()} for sym, row in used.iterrows()}
    result.compounds = [[str(a), str(b)] for a, b in zip(ds.compounds["A"], ds.compounds["B"])]
    if in_memory:  # the config's [data] did not supply this data
        result.config["data"] = {"dataset": f"in-memory: {ds.name}"}


def _validate_models(cfg: Config, prim: Primaries, result: Result) -> None:
    """Out-of-sample RMSE of every kept model (its formulas fixed), same folds for all."""
    v = cfg.validation
    result.validation["method"] = v.method
    result.validation["settings"] = {"k": v.k, "n_splits": v.n_splits, "test_fraction": v.test_fraction,
                                     "seed": v.seed, "rank_1d": v.rank_1d}
    if v.method == "none":
        return
    if v.method == "kfold" and v.k > prim.target.size:
        result.messages.append(f"validation: k = {v.k} folds for {prim.target.size} samples; using leave-one-out instead")
        v = replace(v, method="loo")
    matrix = _primary_rows(prim, result.variables)
    for m in result.models:
        values = m.values(result.variables, matrix)
        try:
            m.cv_rmse = validation.model_cv(values, prim.target, v)
        except ValueError as exc:  # e.g. a sample with leverage 1
            m.notes["cv_error"] = str(exc)
        m.cv_method = v.method


def _refine_models(cfg: Config, prim: Primaries, result: Result) -> None:
    """Tune a coefficient on each term of the chosen models; refined models are
    added after the others, with refined_from pointing at their source."""
    matrix = _primary_rows(prim, result.variables)
    y = np.ascontiguousarray(prim.target, dtype=float)
    chosen = [i for i, m in enumerate(result.models)
              if cfg.refine.models == "all" or m is result.best(m.dimension)]
    for i in chosen:
        out = refine.refine_model(result.models[i], matrix, result.variables, y, cfg.refine, cfg.validation,
                                  [latex_name(v) for v in result.variables])
        if not out["refined"]:
            result.messages.append(f"refine: model {i} ({result.models[i].dimension}D) not improved")
            continue
        model = out["model"]
        model.refined_from = i
        model.cv_rmse, model.cv_method = out["cv_rmse"], result.models[i].cv_method
        model.notes = {"constants": out["constants"], "mse_unrefined": out["mse_unrefined"],
                       "cv_rmse_unrefined": out["cv_rmse_unrefined"], "steps": out["notes"]}
        result.models.append(model)


def _nested_cv(cfg: Config, prim: Primaries, variables: list[str], search,
               progress: ProgressFn | None) -> dict[str, Any]:
    """The whole search redone on the training part of each outer fold."""
    inner = Config.from_dict(cfg.to_dict())
    inner.validation.method, inner.validation.nested = "none", False
    inner.refine.enabled = False
    inner.distributed.backend = "local"
    inner.search.keep = 1

    def subset(samples: np.ndarray) -> Primaries:
        return replace(prim, matrix=np.ascontiguousarray(prim.matrix[:, samples]),
                       target=np.ascontiguousarray(prim.target[samples]),
                       labels=[prim.labels[i] for i in samples])

    def run_search(train: np.ndarray):
        return search(inner, subset(train), None, lambda stage: None).models

    def evaluate(model: Model, test: np.ndarray) -> np.ndarray:
        values = model.values(variables, _primary_rows(prim, variables)[:, test])
        return model.intercept + np.asarray(model.coefficients) @ values

    v = cfg.validation
    return validation.nested_cv(run_search, evaluate, np.asarray(prim.target, dtype=float), v.outer_folds, v.seed,
                                cfg.search.max_dim, progress)


def _resolve_dataset(cfg: Config, dataset: Dataset | None) -> Dataset:
    d = cfg.data
    if dataset is None:
        if d.dataset == "octet":
            dataset = octet()
            if (d.target and d.target != dataset.target) or d.elemental:
                # The octet table, with another target and/or pymatgen columns added.
                extended = load_dataset(dataset.compounds, dataset.atoms, d.target or dataset.target,
                                        dataset.classes, dataset.units, dataset.name, elemental=d.elemental)
                citation = " ".join(c for c in (dataset.citation, extended.citation) if c)
                dataset = replace(extended, citation=citation)
        else:
            dataset = load_dataset(d.compounds, d.atoms, d.target, elemental=d.elemental, site_rule=d.site_rule)
    if cfg.features.classes is not None:
        dataset = replace(load_dataset(dataset.compounds, dataset.atoms, dataset.target, cfg.features.classes,
                                       dataset.units, dataset.name), citation=dataset.citation)
    return dataset


def _search(cfg: Config, prim: Primaries, progress: ProgressFn | None, lap: Callable[[str], None]) -> Result:
    f, s = cfg.features, cfg.search
    generator = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, f.method, f.variant)
    lap("generation")
    y = np.ascontiguousarray(prim.target, dtype=float)
    top_2d = len(generator) if s.top_2d == "all" else s.top_2d
    need = max(s.keep, top_2d if s.max_dim >= 2 else 0, s.top_3d if s.max_dim >= 3 else 0)
    v = cfg.validation
    splits = _core.random_splits(y.size, v.n_splits, v.test_fraction, v.seed) if v.rank_1d == "splits" else None
    models: list[Model] = []
    messages: list[str] = []
    stats: dict[str, dict[str, float]] = {}
    scr: dict[str, Any] = {"n_candidates": len(generator), "n_kept": 0}
    interrupted = False
    try:
        scr = _core.screen(generator, y, keep=need, variance_filter=f.variance_filter, dedup=f.dedup,
                           rank_splits=splits, progress=progress)
        lap("screening")
        top = scr["indices"]
        if f.dedup == "value" and scr["n_value_duplicates"]:
            messages.append(f"{scr['n_value_duplicates']:,} formulas dropped as value duplicates "
                            "(equal to an earlier formula up to sign and scale); dedup = \"string\" keeps them")
        models = _refit_all(lambda c: _model(generator, prim.names, y, c), [[int(i)] for i in top[: s.keep]],
                            messages)
        stop_if_interrupted(scr, "screening")
        lap("1D")
        with _search_backend(cfg) as search:
            for dim, limit in ((2, top_2d), (3, s.top_3d)):
                if s.max_dim < dim:
                    continue
                pool = top[:limit]
                if len(pool) < dim:
                    messages.append(f"{dim}D: only {len(pool)} formulas survived screening; no {dim}D model")
                    continue
                spec = SearchSpec.make(prim.matrix, prim.names, prim.classes, f.method, f.variant, y, pool)
                started = time.perf_counter()
                found = search(spec, dim, progress)
                stats[f"{dim}D"] = _search_stats(found, len(pool), time.perf_counter() - started)
                if not found["members"] and not found.get("interrupted"):
                    messages.append(f"{dim}D: no combination of the top {len(pool):,} formulas has every pairwise "
                                    f"|r| < {s.max_pair_corr:g}; no {dim}D model")
                dim_models = _refit_all(lambda c: _model(generator, prim.names, y, c),
                                        [[int(pool[m]) for m in members] for members in found["members"]], messages)
                # The Gram score ranked them; the reported order follows the QR refit
                # (stable, so exact ties keep the search's tie-break).
                models.extend(sorted(dim_models, key=lambda m: m.rmse))
                stop_if_interrupted(found, f"the {dim}D search")
                lap(f"{dim}D")
    except (Interrupted, KeyboardInterrupt) as exc:
        interrupted = True
        messages.append(_interrupt_message(exc))
    models_1d = sorted((m for m in models if m.dimension == 1), key=lambda m: m.rmse)
    models = models_1d + [m for m in models if m.dimension > 1]
    screening = _screening_counts(scr)
    backend = {"name": cfg.distributed.backend}
    if cfg.distributed.backend == "dask":
        backend.update(address=cfg.distributed.address or "LocalCluster", n_workers=cfg.distributed.n_workers)
    return Result(config=cfg.to_dict(), n_candidates=int(scr["n_candidates"]), n_kept=int(scr["n_kept"]),
                  models=models, target=prim.target_name, variables=list(prim.names), screening=screening,
                  messages=messages, backend=backend, search_stats=stats, interrupted=interrupted)


def _sisso_search(cfg: Config, prim: Primaries, progress: ProgressFn | None, lap: Callable[[str], None]) -> Result:
    """Operator feature space (stored rungs, last rung streamed), then SIS + l0."""
    if cfg.distributed.backend != "local":
        raise ConfigError("[distributed] backend = \"dask\" runs the paper route's searches; "
                          "the SISSO route runs locally for now")
    space, names, info = sisso.build_space(cfg, prim, progress)
    lap("generation")
    y = np.ascontiguousarray(prim.target, dtype=float)
    unit_of = lambda i: space.unit(i, info.base_units)  # noqa: E731
    models: list[Model] = []
    stats: dict[str, Any] = {}
    messages: list[str] = []
    scr: dict[str, Any] = {"n_candidates": len(space), "n_kept": 0}
    interrupted = False
    try:
        refit_all = lambda lists: _refit_all(lambda c: _model(space, names, y, c, unit_of), lists, messages)  # noqa: E731
        scr = sisso.sis_l0(cfg, space, y, refit_all, models, stats, messages, progress)
    except (Interrupted, KeyboardInterrupt) as exc:
        interrupted = True
        messages.append(_interrupt_message(exc))
    lap("SIS + l0")
    if cfg.features.strict_units and any(op in ("exp", "exp-", "log", "sin", "cos") for ops in cfg.ops_per_rung() for op in ops):
        messages.append("strict_units: exp, exp-, log, sin and cos were applied to dimensionless features only")
    if scr.get("n_value_duplicates"):
        messages.append(f"{scr['n_value_duplicates']:,} features dropped as value duplicates of earlier ones "
                        "(equal up to sign and scale)")
    info.rungs.append({"rung": space.lazy_rung, "generated": int(scr["n_candidates"]) - space.n_stored,
                       "kept": int(scr["n_kept"]) - space.n_stored, "streamed": True})
    feature_space = {"rungs": info.rungs, "size": int(scr["n_candidates"]), "kept": int(scr["n_kept"]),
                     "stored_mb": info.stored_mb, "base_units": info.base_units}
    screening = _screening_counts(scr)
    return Result(config=cfg.to_dict(), n_candidates=int(scr["n_candidates"]), n_kept=int(scr["n_kept"]),
                  models=models, target=prim.target_name, variables=names, screening=screening,
                  messages=messages, search_stats=stats, feature_space=feature_space, interrupted=interrupted)


@contextmanager
def _search_backend(cfg: Config):
    """A function (spec, dim, progress) -> merged search result, local or on Dask."""
    options = {"max_pair_corr": cfg.search.max_pair_corr, "keep": cfg.search.keep}
    dist = cfg.distributed
    budget = cfg.search.memory_budget_mb
    if dist.backend == "local" or cfg.search.max_dim < 2:
        def local(spec, dim, progress):
            if budget is not None:
                return merge_slices([search_streamed(spec, dim, options, budget, progress)], options["keep"])
            return merge_slices([search_slice(spec.build(progress), dim, 0, None, options, progress)], options["keep"])

        yield local
        return
    from .distributed import dask_client, search_on_dask

    with dask_client(dist.address, dist.n_workers) as client:
        n_tasks = dist.tasks_per_worker * max(1, len(client.scheduler_info().get("workers", {})) or dist.n_workers)
        yield lambda spec, dim, progress: search_on_dask(client, spec, dim, options, n_tasks, progress, budget)


def _screening_counts(scr: dict[str, Any]) -> dict[str, int]:
    """What each filter dropped (the counters of a screening other than its totals)."""
    return {k: int(v) for k, v in scr.items() if k.startswith("n_") and k not in ("n_candidates", "n_kept")}


def _search_stats(found: dict[str, Any], pool: int, wall: float) -> dict[str, float]:
    """What the search did and how fast: the performance account of a stage."""
    return {"candidates": pool, "combinations": found["n_combinations"], "scored": found["n_scored"],
            "seconds": wall, "models_per_second": found["n_combinations"] / wall if wall > 0 else 0.0,
            "gram_gflop": found["gram_flops"] / 1e9,
            "gram_gflops_per_second": found["gram_flops"] / wall / 1e9 if wall > 0 else 0.0,
            "peak_mb": found.get("peak_bytes", 0) / 2**20}


def _model(source, names: list[str], y: np.ndarray, candidates: list[int],
           unit_of: Callable[[int], str] | None = None) -> Model:
    formulas = [source.formula(i) for i in candidates]
    values = source.evaluate(candidates)
    try:
        fit = _core.fit_linear(values, y)
    except ValueError as exc:
        raise SingularModel(f"{[f.to_string(names) for f in formulas]}: {exc}") from None
    codes = [f.to_postfix(names) for f in formulas]
    latex_names = [latex_name(n) for n in names]
    return Model(dimension=len(candidates), formulas=[f.to_string(names) for f in formulas], codes=codes,
                 intercept=fit["intercept"], coefficients=list(fit["coefficients"]), rmse=fit["rmse"],
                 mae=fit["mae"], maxae=fit["maxae"], r2=fit["r2"], candidates=candidates,
                 latex=[f.to_latex(latex_names) for f in formulas],
                 units=[unit_of(i) for i in candidates] if unit_of else [],
                 trees=[expression_tree(c) for c in codes])


_LATEX_SUBSCRIPTS = ("A", "B", "mean", "diff", "max", "min")  # sites, composition statistics


def latex_name(name: str) -> str:
    """'IP_A' -> '\\mathrm{IP}_{A}', 'X_mean' -> '\\mathrm{X}_{mean}', 'volume_per_atom' -> '\\mathrm{volume\\_per\\_atom}'."""
    base, _, suffix = name.rpartition("_")
    if base and suffix in _LATEX_SUBSCRIPTS:
        return f"\\mathrm{{{_escape(base)}}}_{{{suffix}}}"
    return f"\\mathrm{{{_escape(name)}}}"


def _escape(text: str) -> str:
    return text.replace("_", "\\_")


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2**20
