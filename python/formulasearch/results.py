"""Fitted models and the result of a run: tables, printing, save and load."""
from __future__ import annotations

import json
import math
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from ._core import Formula
from .errors import InputError
from .formula import simplified, to_sympy

SCHEMA_VERSION = 1


@dataclass
class Model:
    """A linear model target ~ intercept + sum(coefficients[i] * formulas[i])."""

    dimension: int
    formulas: list[str]  #: readable infix, e.g. "(rp_B^3 - exp(rs_B))/rp_A^2"
    codes: list[str]  #: stable postfix serialisation of each formula
    intercept: float
    coefficients: list[float]
    rmse: float
    mae: float
    maxae: float
    r2: float
    candidates: list[int] = field(default_factory=list)  #: generation-order index of each formula
    latex: list[str] = field(default_factory=list)  #: LaTeX of each formula
    units: list[str] = field(default_factory=list)  #: unit of each formula (SISSO route), "" if dimensionless
    trees: list[Any] = field(default_factory=list)  #: expression tree of each formula: {"op": ..., "args": [...]}
    cv_rmse: float | None = None  #: out-of-sample RMSE of this fixed model ([validation] method)
    cv_method: str = ""  #: "loo", "kfold", "splits" or "" (not validated)
    refined_from: int | None = None  #: for a refined model: the index of the model it refines
    notes: dict[str, Any] = field(default_factory=dict)  #: e.g. refinement details
    #: classification results only (then intercept/coefficients are the separator that predicts, rmse... None):
    #: separator ("accuracy" or "logistic"), overlap_count, overlap_size, overlap_samples (1 or 2 formulas),
    #: log_loss, accuracy, balanced_accuracy, confusion (rows: true class, columns: predicted), threshold
    #: (one formula: its value where the class changes, with `above` the class above it; more: t of
    #: coefficients . x > t), margin (accuracy score), cv_accuracy, cv_folds, and for more than two
    #: classes the one-vs-rest intercepts and coefficients
    classification: dict[str, Any] = field(default_factory=dict)
    #: multi-task models only (Result.tasks names the tasks): each task's intercept and coefficients, in task
    #: order; `intercept` and `coefficients` then repeat the first task's, and rmse... are over all tasks
    task_intercepts: list[float] = field(default_factory=list)
    task_coefficients: list[list[float]] = field(default_factory=list)

    @property
    def multitask(self) -> bool:
        return bool(self.task_intercepts)

    def predictions(self, values: np.ndarray, tasks: np.ndarray | None = None) -> np.ndarray:
        """intercept + coefficients . values (d x n, e.g. from :meth:`values`); a multi-task model predicts each
        sample with its task's (`tasks`: the task index of each sample, into Result.tasks)."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        if not self.multitask:
            return self.intercept + np.asarray(self.coefficients) @ values
        if tasks is None:
            raise InputError("a multi-task model predicts each sample with its task's coefficients: "
                             "give the task of every sample")
        tasks = np.asarray(tasks, dtype=int)
        return (np.asarray(self.task_intercepts)[tasks]
                + np.sum(np.asarray(self.task_coefficients)[tasks] * values.T, axis=1))

    def values(self, names: list[str], matrix: np.ndarray) -> np.ndarray:
        """Each formula over the samples of a primary matrix (rows: the variables
        named by `names`, e.g. Result.variables): d x n_samples."""
        return np.vstack([Formula.from_postfix(code, names).evaluate(matrix) for code in self.codes])

    def sympy(self, names: list[str], k: int = 0, simplify: bool = False):
        """Formula k as a sympy expression over the variable names (Result.variables);
        simplify=True gives sympy's simplified form of the same formula."""
        return (simplified if simplify else to_sympy)(self.codes[k], names)

    def equation(self, target: str = "y", digits: int = 4) -> str:
        if self.multitask:  # the shared descriptor; task_equations gives each task's numbers
            return f"{target} = c0 + " + " + ".join(f"c{i}*[{f}]" for i, f in enumerate(self.formulas, start=1)) \
                + " (per task)"
        terms = [f"{self.intercept:.{digits}f}"]
        for c, f in zip(self.coefficients, self.formulas):
            terms.append(f"{'-' if c < 0 else '+'} {abs(c):.{digits}f}*[{f}]")
        return f"{target} = " + " ".join(terms)

    def task_equations(self, tasks: list[str], target: str = "y", digits: int = 4) -> list[str]:
        """A multi-task model's equation for each task (named by `tasks`, Result.tasks)."""
        out = []
        for name, b, coefs in zip(tasks, self.task_intercepts, self.task_coefficients):
            terms = [f"{b:.{digits}f}"] + [f"{'-' if c < 0 else '+'} {abs(c):.{digits}f}*[{f}]"
                                           for c, f in zip(coefs, self.formulas)]
            out.append(f"{name}: {target} = " + " ".join(terms))
        return out


@dataclass
class Result:
    """Everything a run produced. Models of each dimension are sorted by RMSE."""

    config: dict[str, Any]
    n_candidates: int
    n_kept: int
    models: list[Model]
    target: str = "y"
    variables: list[str] = field(default_factory=list)  #: names the postfix codes refer to
    headers: dict[str, str] = field(default_factory=dict)  #: variable -> its table column's header, where they differ
    screening: dict[str, int] = field(default_factory=dict)  #: counts dropped by each filter
    timings: dict[str, float] = field(default_factory=dict)  #: wall seconds per stage
    peak_memory_mb: float = 0.0
    threads: int = 1
    backend: dict[str, Any] = field(default_factory=lambda: {"name": "local"})  #: where the searches ran
    search_stats: dict[str, dict[str, float]] = field(default_factory=dict)  #: per search stage: work and speed
    feature_space: dict[str, Any] = field(default_factory=dict)  #: SISSO route: rungs, sizes, memory
    validation: dict[str, Any] = field(default_factory=dict)  #: settings and the nested-CV report
    atoms: dict[str, dict[str, float]] = field(default_factory=dict)  #: atomic values the models use, by element
    compounds: list[list[str]] = field(default_factory=list)  #: training compounds as [A, B]
    labels: list[str] = field(default_factory=list)  #: training sample labels (e.g. "GaAs")
    target_values: list[float] = field(default_factory=list)  #: training target, in sample order
    interrupted: bool = False  #: the run was stopped (Ctrl-C) and holds the best models found until then
    messages: list[str] = field(default_factory=list)
    task: str = "regression"  #: "regression" or "classification" (models separate classes; see Model.classification)
    classes: list[str] = field(default_factory=list)  #: classification: class names, in class order
    class_labels: list[int] = field(default_factory=list)  #: classification: class of each training sample
    tasks: list[str] = field(default_factory=list)  #: multi-task SISSO: task names, in task order
    task_labels: list[int] = field(default_factory=list)  #: multi-task: task of each training sample (into tasks)
    schema_version: int = SCHEMA_VERSION

    def best(self, dimension: int) -> Model | None:
        return best_of_dimension(self.models, dimension)

    def sympy(self, model: int = 0, k: int = 0, simplify: bool = False):
        """Formula k of models[model] as a sympy expression (raw, or simplified)."""
        return self.models[model].sympy(self.variables, k, simplify)

    def table(self, dimension: int | None = None) -> pd.DataFrame:
        """Models as a DataFrame (one row per model), optionally of one dimension."""
        rows = []
        for m in self.models:
            if dimension is not None and m.dimension != dimension:
                continue
            if self.task == "classification":
                rows.append(_classification_row(m))
                continue
            row = {"dimension": m.dimension, "rmse": m.rmse, "cv_rmse": m.cv_rmse, "mae": m.mae, "maxae": m.maxae,
                   "r2": m.r2, "intercept": m.intercept, "refined_from": m.refined_from}
            for i, (f, c) in enumerate(zip(m.formulas, m.coefficients), start=1):
                row[f"formula_{i}"] = f
                row[f"coef_{i}"] = c
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return _finite_or_none(asdict(self))

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")

    @classmethod
    def from_dict(cls, data: Any) -> "Result":
        """Rebuild a Result; anything that is not a results object is an InputError."""
        if not isinstance(data, dict):
            raise InputError(f"not a formulasearch results object (a JSON {type(data).__name__})")
        known = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        if required - set(data):
            raise InputError(f"not a formulasearch results object: missing {', '.join(sorted(required - set(data)))}")
        if set(data) - known:
            raise InputError(f"unknown key '{sorted(set(data) - known)[0]}' in results (schema {SCHEMA_VERSION})")
        data = dict(data)
        try:
            models = [Model(**m) for m in data.pop("models")]
            return cls(models=models, **data)
        except TypeError as exc:
            raise InputError(f"malformed model in results: {exc}") from None

    @classmethod
    def from_json(cls, path: str | Path) -> "Result":
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} is not valid JSON: {exc}") from None
        try:
            return cls.from_dict(data)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None

    def summary(self, per_dimension: int | None = None) -> str:
        """A readable table of the best models per dimension."""
        lines = [f"{self.n_candidates:,} candidate formulas, {self.n_kept:,} kept after filters"]
        if self.tasks:
            counts = [self.task_labels.count(k) for k in range(len(self.tasks))]
            lines.append(f"multi-task: {len(self.tasks)} tasks share each descriptor, coefficients per task: "
                         + ", ".join(f"{name} ({n})" for name, n in zip(self.tasks, counts)))
        if self.interrupted:
            lines.insert(0, "INTERRUPTED: partial results, the best models found before Ctrl-C")
        if self.task == "classification":
            lines += _classification_summary(self, per_dimension)
        max_dim = int(self.config.get("search", {}).get("max_dim", 3))
        dims = [] if self.task == "classification" else sorted({m.dimension for m in self.models} | set(range(1, max_dim + 1)))
        for d in dims:  # every searched dimension, "(none)" where it gave no model
            ms = [m for m in self.models if m.dimension == d]
            if d > max_dim:
                continue
            lines.append("")
            lines.append(f"{d}D models")
            if not ms:
                lines.append("  (none)")
                continue
            ranked = [m for m in ms if m.refined_from is None]
            ms = (ranked[:per_dimension] if per_dimension else ranked) + [m for m in ms if m.refined_from is not None]
            cv = next((m.cv_method for m in ms if m.cv_method), "")
            cv_head = f"CV-{cv.upper()}" if cv else ""
            lines.append(f"  {'rank':>4}  {'RMSE':>8}  {cv_head:>8}  {'MAE':>8}  {'MaxAE':>8}  {'R2':>7}  model")
            for rank, m in enumerate(ms, start=1):
                cv_text = f"{m.cv_rmse:8.5f}" if m.cv_rmse is not None else " " * 8
                label = f"r{self.models[m.refined_from].dimension}.{self._rank(m.refined_from)}" \
                    if m.refined_from is not None else str(rank)
                lines.append(f"  {label:>4}  {m.rmse:8.5f}  {cv_text}  {m.mae:8.5f}  {m.maxae:8.5f}  {m.r2:7.4f}  "
                             f"{m.equation(self.target)}")
                lines += [" " * 8 + line for line in (m.task_equations(self.tasks, self.target) if m.multitask else [])]
        if any(m.refined_from is not None for m in self.models):
            lines.append("")
            lines.append("rD.k: model k of dimension D with tuned coefficients on its terms ([refine]); "
                         "its CV error is next to the unrefined one's")
        baseline = self.validation.get("baseline")
        if baseline and self.task != "classification":
            cv = f", CV-{baseline['method'].upper()} {baseline['cv_rmse']:.5f}" if baseline.get("cv_rmse") is not None else ""
            lines.append("")
            lines.append(f"the mean predictor (no formula): RMSE {baseline['rmse']:.5f}{cv}")
        nested = self.validation.get("nested")
        if nested and nested.get("dimensions"):
            lines.append("")
            lines.append(f"Nested CV of the whole search ({nested['folds']} outer folds; the search is redone in each). "
                         "It is the error to expect from running this search on new data, not the error of the "
                         "formulas printed above:")
            if nested.get("interrupted"):
                lines.append(f"  interrupted (Ctrl-C): {nested.get('folds_completed', 0)} of {nested['folds']} outer "
                             "folds finished; the numbers below are over those")
            if nested.get("baseline_rmse") is not None:
                lines.append(f"  the mean predictor: outer-fold RMSE {nested['baseline_rmse']:.5f}")
            for dim, rep in nested["dimensions"].items():
                lines.append(f"  {dim}: outer-fold RMSE {rep['mean_rmse']:.5f} +- {rep['std_rmse']:.5f} "
                             f"(min {rep['min_rmse']:.5f}, max {rep['max_rmse']:.5f}, {rep['folds_with_model']} folds)")
                for formula, count in rep["most_selected"][:3]:
                    lines.append(f"      selected in {count:>2}/{nested['folds']} folds: {formula}")
        if self.messages:
            lines.append("")
            lines.extend(f"note: {msg}" for msg in self.messages)
        timing = ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items())
        lines.append("")
        for rung in self.feature_space.get("rungs", []):
            visited = (f" (visited {rung['visited']:,} of a {rung['product']:,} product)"
                       if rung.get("product") is not None else "")
            lines.append(f"rung {rung['rung']}: {rung['generated']:,} features generated{visited}, {rung['kept']:,} kept"
                         + (f" ({rung['seconds']:.2f} s)" if rung.get("seconds") else ""))
        if self.feature_space:
            lines.append(f"feature space: {self.feature_space['size']:,} features; stored rungs "
                         f"{self.feature_space['stored_mb']:.1f} MB")
        for stage, st in self.search_stats.items():
            if "l0_seconds" in st:
                lines.append(f"{stage} SIS + l0: {st['combinations']:,} combinations of {st['candidates']:,} screened "
                             f"features; SIS {st['sis_seconds']:.2f} s, l0 {st['l0_seconds']:.2f} s "
                             f"({st['models_per_second']:.3g} models/s)")
                continue
            speed = f"{st['models_per_second']:.3g} models/s" + (
                f", cross-products {st['gram_gflops_per_second']:.1f} GFLOP/s" if "gram_gflops_per_second" in st else "")
            lines.append(f"{stage} search: {st['combinations']:,} combinations of {st['candidates']:,} formulas in "
                         f"{st['seconds']:.2f} s ({speed})")
        where = self.backend.get("name", "local")
        if where == "dask":
            where = f"dask ({self.backend.get('address')}, {self.backend.get('n_workers')} workers)"
        lines.append(f"time: {timing}; peak memory {self.peak_memory_mb:.0f} MB; {self.threads} threads; backend {where}")
        return "\n".join(lines)

    def _rank(self, index: int) -> int:
        """1-based rank of models[index] among the unrefined models of its dimension."""
        d = self.models[index].dimension
        ranked = [i for i, m in enumerate(self.models) if m.dimension == d and m.refined_from is None]
        return ranked.index(index) + 1

    def __repr__(self) -> str:
        return f"Result({len(self.models)} models, {self.n_candidates:,} candidates, {self.n_kept:,} kept)"


def _classification_row(m: Model) -> dict[str, Any]:
    c = m.classification
    row = {"dimension": m.dimension, "overlap_count": c.get("overlap_count"), "overlap_size": c.get("overlap_size"),
           "log_loss": c.get("log_loss"), "accuracy": c.get("accuracy"),
           "balanced_accuracy": c.get("balanced_accuracy"), "cv_accuracy": c.get("cv_accuracy"),
           "separator": c.get("separator", "logistic"), "threshold": c.get("threshold"), "intercept": m.intercept}
    for i, (f, coef) in enumerate(zip(m.formulas, m.coefficients), start=1):
        row[f"formula_{i}"] = f
        row[f"coef_{i}"] = coef
    return row


#: How each [classification] score ranks, in words.
SCORE_NAMES = {"overlap": "domain overlap", "logistic": "logistic loss",
               "accuracy": "training accuracy (then margin, then balanced accuracy)"}


def threshold_text(m: Model, classes: list[str]) -> str:
    """The decision rule of a two-class classifier in words: 'f > t predicts B' (one formula) or
    'score = c . x > t predicts B'."""
    c = m.classification
    t = c.get("threshold")
    if t is None or isinstance(t, list) or len(classes) != 2:
        return ""
    if m.dimension == 1 and "above" in c:
        below = classes[0] if c["above"] == classes[1] else classes[1]
        return f"{m.formulas[0]} > {t:.6g} predicts {c['above']} (below: {below})"
    terms = "".join((f"{k:.6g}" if i == 1 else f" {'-' if k < 0 else '+'} {abs(k):.6g}") + f"*D{i}"
                    for i, k in enumerate(m.coefficients, start=1))
    return f"{terms} > {t:.6g} predicts {classes[1]}"


def confusion_lines(m: Model, classes: list[str], indent: str = "    ") -> list[str]:
    """A classifier's confusion matrix as text: rows are the true classes, columns the predicted ones."""
    matrix = m.classification.get("confusion")
    if not matrix:
        return []
    width = max(8, *(len(n) for n in classes))
    lines = [indent + " " * width + "  " + "  ".join(f"{n:>{width}}" for n in classes) + "   (predicted)"]
    for name, row in zip(classes, matrix):
        lines.append(indent + f"{name:>{width}}  " + "  ".join(f"{v:>{width}}" for v in row))
    return lines


def _classification_summary(result: Result, per_dimension: int | None) -> list[str]:
    """The classifier tables: overlap, log-loss and accuracies of each kept model; the decision rule and
    confusion matrix of the best one of each dimension."""
    settings = result.config.get("classification", {})
    score = settings.get("score", "overlap")
    counts = {name: result.class_labels.count(k) for k, name in enumerate(result.classes)}
    weighted = settings.get("class_weight", "none") != "none"
    lines = ["classes: " + ", ".join(f"{name} ({n})" for name, n in counts.items())
             + f"; ranked by {SCORE_NAMES.get(score, score)}" + ("; classes weighted alike" if weighted else "")]
    predicting = "the accuracy separator" if score == "accuracy" else "the logistic separator"
    for d in sorted({m.dimension for m in result.models}):
        ms = [m for m in result.models if m.dimension == d][:per_dimension or None]
        folds = next((m.classification.get("cv_folds") for m in ms if m.classification.get("cv_folds")), None)
        cv_head = f"CV{folds}-acc" if folds else ""
        lines += ["", f"{d}D classifiers",
                  f"  {'rank':>4}  {'overlap':>7}  {'size':>8}  {'logloss':>7}  {'acc':>6}  {'bal-acc':>7}  "
                  f"{cv_head:>9}  separator"]
        for rank, m in enumerate(ms, start=1):
            c = m.classification
            cv, bal = c.get("cv_accuracy"), c.get("balanced_accuracy")
            overlap = "" if c.get("overlap_count") is None else c["overlap_count"]
            size = "" if c.get("overlap_size") is None else f"{c['overlap_size']:8.4f}"
            lines.append(f"  {rank:>4}  {overlap:>7}  {size:>8}  "
                         f"{c.get('log_loss', 0.0):7.4f}  {c.get('accuracy', 0.0):6.3f}  "
                         f"{'' if bal is None else f'{bal:.3f}':>7}  "
                         f"{'' if cv is None else f'{cv:.3f}':>9}  {m.equation('score')}")
        if ms and ms[0].classification.get("confusion"):
            rule = threshold_text(ms[0], result.classes)
            lines += [f"  best {d}D: " + (rule if rule else f"{predicting} predicts") + "; confusion matrix (rows: true)"]
            lines += confusion_lines(ms[0], result.classes)
    nested = result.validation.get("nested")
    if nested:
        lines += ["", f"Nested CV of the whole search ({nested['folds']} outer stratified folds): accuracy "
                      f"{nested['accuracy']:.3f} ({nested['correct']}/{nested['n_samples']})"]
        for formula, count in nested["most_selected"][:3]:
            lines.append(f"      selected in {count:>2}/{nested['folds']} folds: {formula}")
    lines += ["", f"separator: {predicting}; "
              + (f"score > 0 predicts {result.classes[1]}" if len(result.classes) == 2 else
                 "the class with the largest one-vs-rest score is predicted")]
    return lines


def best_of_dimension(models: list[Model], dimension: int | None = None, unrefined: bool = False) -> Model | None:
    """The first (best-ranked) model of a dimension, or of the highest dimension present when None;
    `unrefined`: a model the search found (not a refinement of one) when there is such a model."""
    if dimension is None:
        dimension = max((m.dimension for m in models), default=None)
    of_dim = [m for m in models if m.dimension == dimension]
    if unrefined:
        of_dim = [m for m in of_dim if m.refined_from is None] or of_dim
    return of_dim[0] if of_dim else None


def chosen_models(models: list[Model], choice: Any) -> list[tuple[int, Model]]:
    """(index in models, model) of each model named by `choice`: an index (negative counts from the end),
    a Model of the list, or a list of them. InputError for anything else."""
    if isinstance(choice, Model):
        return [(next((i for i, m in enumerate(models) if m is choice), -1), choice)]
    if isinstance(choice, (int, np.integer)) and not isinstance(choice, bool):
        n = len(models)
        if not -n <= int(choice) < n:
            raise InputError(f"model {choice} does not exist: the results hold {n} models (0-{n - 1})")
        i = int(choice) % n
        return [(i, models[i])]
    try:
        items = list(choice)
    except TypeError:
        raise InputError(f"a model is an index into the results' models, a Model or a list of them, "
                         f"not {choice!r}") from None
    if not items:
        raise InputError("no model given")
    out = []
    for item in items:
        if isinstance(item, (bool, str)) or not isinstance(item, (int, np.integer, Model)):
            raise InputError(f"model entries must be indices or Models, got {item!r}")
        out += chosen_models(models, item)
    return out


def load_result(path: str | Path) -> Result:
    """Read a results JSON written by Result.to_json."""
    return Result.from_json(path)


#: What plots, report and predict accept for a result: a Result or the path of its JSON.
ResultSource = Union[Result, str, "os.PathLike[str]"]


def as_result(result: ResultSource) -> Result:
    """The Result itself, or the one read from a results JSON path; TypeError for anything else."""
    if isinstance(result, (str, os.PathLike)):
        return load_result(result)
    if not isinstance(result, Result):
        raise TypeError(f"expected a Result or the path of a results JSON, got {type(result).__name__}")
    return result


def _finite_or_none(obj: Any) -> Any:
    """JSON has no NaN/inf: write them as null rather than invalid JSON."""
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
