"""run(config): the one place that orders the steps.

config -> dataset or entries -> primary variables -> the route's search (paper grammar,
SISSO or classification; formulasearch.search) -> validation of the kept models ->
refinement -> nested CV of the whole search (formulasearch.validation) -> Result.
"""
from __future__ import annotations

import functools
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .config import Config
from .data.datasets import Dataset, load_dataset, octet
from .data.entries import entry_primaries
from .data.feature_table import configured_table_primaries
from .data.primaries import Primaries, build_primaries
from .formula import latex_name
from .results import Model, Result
from .search import refine
from .search.classification import ClassificationRoute, core_class_weight
from .search.paper import PaperRoute
from .search.route import Route, max_threads, search, threads
from .search.sisso import SissoRoute
from .validation import (model_cv, nested_classification, nested_regression, validate_classifiers,
                         validate_models)
from .validation.sweep import sweep, sweep_reason

ProgressFn = Callable[[str, int, int], Any]


def route_for(cfg: Config) -> type[Route]:
    """The route a config asks for."""
    if cfg.search.task == "classification":
        return ClassificationRoute
    return SissoRoute if cfg.features.generator == "sisso" else PaperRoute


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

    with threads(cfg.search.threads):
        d = cfg.data
        from_entries = primaries is None and dataset is None and d.entries is not None
        from_table = primaries is None and dataset is None and d.table is not None
        data_messages: list[str] = []
        if from_entries:
            primaries, data_messages = entry_primaries(d, cfg.features.classes, progress)
        elif from_table:
            primaries, data_messages = configured_table_primaries(d, cfg.features.classes)
        ds = None if primaries is not None else _resolve_dataset(cfg, dataset)
        prim = primaries if primaries is not None else build_primaries(ds, cfg.data.properties)
        if prim.tasks is not None and not cfg.multitask:  # tasks given with the samples (e.g. groups=)
            cfg.validate_multitask(given_by="samples split into tasks")
        lap("data")
        route = route_for(cfg)
        searched = route(cfg, prim, progress)
        result = search(searched, lap)
        if prim.display_names is not None:
            result.headers = {n: h for n, h in zip(prim.names, prim.display_names) if n != h}
        result.labels = [str(label) for label in prim.labels]
        if prim.tasks is not None:
            result.tasks, result.task_labels = list(prim.task_names), [int(t) for t in prim.tasks]
        result.target_values = [float(v) for v in prim.target]
        if ds is not None:
            _record_data(result, ds, dataset is not None)
        elif from_entries or from_table:  # [data] says where the samples came from; the messages say how many
            result.messages[:0] = data_messages
        else:
            result.config["data"] = {"dataset": "in-memory: primaries"}
        classifying = cfg.search.task == "classification"
        try:
            if not result.interrupted:
                (validate_classifiers if classifying else validate_models)(cfg, prim, result)
                lap("validation")
            if cfg.refine.enabled and not result.interrupted and not classifying:
                _refine_models(cfg, prim, result)
                lap("refinement")
            nested = cfg.classification.nested if classifying else cfg.validation.nested
            if nested and not result.interrupted:
                report = result.validation["nested"] = _nested_cv(cfg, prim, result, route, progress,
                                                                       _stored_rungs(searched))
                lap("nested CV")
                if report.get("interrupted"):  # the folds finished stay in the report
                    result.interrupted = True
                    result.messages.append(f"interrupted (Ctrl-C) during nested CV after "
                                           f"{report.get('folds_completed', 0)} of {report['folds']} outer folds")
        except KeyboardInterrupt:  # the models found stay; later stages are skipped
            result.interrupted = True
            result.messages.append("interrupted (Ctrl-C) after the search: validation, refinement or "
                                   "nested CV left incomplete")
        result.threads = max_threads()
    result.timings = timings
    result.peak_memory_mb = peak_memory_mb()
    return result


def _record_data(result: Result, ds: Dataset, in_memory: bool) -> None:
    """Save with the models what prediction needs: the atomic values of the
    properties they use, and the training compounds' A/B orientation."""
    props = sorted({v.rsplit("_", 1)[0] for v in result.variables})
    used = ds.atoms[[p for p in props if p in ds.atoms.columns]]
    result.atoms = {str(sym): {k: float(v) for k, v in row.items()} for sym, row in used.iterrows()}
    result.compounds = [[str(a), str(b)] for a, b in zip(ds.compounds["A"], ds.compounds["B"])]
    if in_memory:  # the config's [data] did not supply this data
        result.config["data"] = {"dataset": f"in-memory: {ds.name}"}


def _refine_models(cfg: Config, prim: Primaries, result: Result) -> None:
    """Tune a coefficient on each term of the chosen models; refined models are
    added after the others, with refined_from pointing at their source."""
    matrix = prim.rows(result.variables)
    y = np.ascontiguousarray(prim.target, dtype=float)
    chosen = [i for i, m in enumerate(result.models)
              if cfg.refine.models == "all" or m is result.best(m.dimension)]
    cv = lambda values: model_cv(values, y, cfg.validation)  # noqa: E731
    for i in chosen:
        out = refine.refine_model(result.models[i], matrix, result.variables, y, cfg.refine, cv,
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


def _stored_rungs(searched: Route) -> list[list[int]] | None:
    """What the SISSO search over all samples stored in each rung but the last (None: another route)."""
    return searched.stored_rungs if isinstance(searched, SissoRoute) else None


def _inner_search(cfg: Config, prim: Primaries, route: type[Route],
                  stored: list[list[int]] | None = None) -> Callable[[np.ndarray], list[Model]]:
    """The whole search on some samples, as nested CV reruns it: its best model per dimension, no
    validation, refinement or scale-out. The SISSO route's stored rungs are `stored`, those of all the
    samples (their filters use no target), so that every training part searches the same feature space."""
    if stored:
        route = functools.partial(SissoRoute, stored_rungs=stored)
    inner = Config.from_dict(cfg.to_dict())
    inner.search.keep = 1
    inner.distributed.backend = "local"
    if cfg.search.task == "classification":
        inner.classification.nested = False
    else:
        inner.validation.method, inner.validation.nested = "none", False
        inner.refine.enabled = False
    return lambda train: search(route(inner, prim.subset(train))).models


def _nested_cv(cfg: Config, prim: Primaries, result: Result, route: type[Route],
               progress: ProgressFn | None, stored: list[list[int]] | None) -> dict[str, Any]:
    """The whole search redone on the training part of each outer fold (SISSO: over `stored`, the stored
    rungs of the search over all samples)."""
    run_search = _inner_search(cfg, prim, route, stored)
    matrix = prim.rows(result.variables)
    if cfg.search.task == "classification":
        c = cfg.classification
        report = nested_classification(run_search, lambda m: m.values(result.variables, matrix),
                                       np.asarray(result.class_labels, dtype=np.int32), c.outer_folds, c.seed + 1,
                                       c.l2, progress, c.score, core_class_weight(c.class_weight, result.classes))
        report.update(mode="refit", mode_reason=f"fold by fold: {sweep_reason(cfg)}")
        return report

    def predict_fold(model: Model, test: np.ndarray) -> np.ndarray:
        tasks = None if prim.tasks is None else prim.tasks[test]
        return model.predictions(model.values(result.variables, matrix[:, test]), tasks)

    v = cfg.validation
    reason = sweep_reason(cfg, prim)
    started = time.perf_counter()
    report = nested_regression(run_search, predict_fold, np.asarray(prim.target, dtype=float), v.outer_folds,
                               v.seed, cfg.search.max_dim, progress,
                               None if reason else (lambda folds: sweep(cfg, prim, folds, progress, stored)),
                               prim.tasks)
    if reason and v.nested_mode != "refit":
        report["mode_reason"] = f"fold by fold: {reason}"
    report["seconds"] = time.perf_counter() - started
    return report


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


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2**20
