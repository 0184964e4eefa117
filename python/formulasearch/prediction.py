"""Predict the target for new compounds with the models of a run.

    >>> from formulasearch import predict
    >>> predict(result, pd.DataFrame({"formula": ["GaN", "MgO", "C"]}))
        A  B formula   pred_1D   pred_2D   pred_3D
    0  Ga  N     GaN  ...

A model is evaluated from its stored postfix codes (``Model.codes``) and the
variable names of the run (``Result.variables``, e.g. ``IP_A``, ``rs_B``): the
primary matrix of the new compounds is built from an atomic table (the row
``P_A`` holds property ``P`` of the element on site A of each compound), each
formula is read back with :meth:`formulasearch.Formula.from_postfix` and
evaluated, and the prediction is ``intercept + sum(coefficients * values)``.
The readable formula strings are never parsed.

Compound formulas (a ``formula`` column, e.g. "GaN") are read with pymatgen,
imported only when such a column is used.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._core import Formula
from .data.compounds import FORMULA, SITE_RULES, SITES, formula_sites, read_formulas, site_column
from .data.datasets import SYMBOL, check_atoms, numeric_column, octet
from .data.elements import elemental_table
from .data.composition_features import is_composition_feature
from .data.entries import EntryTable, entry_primaries, load_entries
from .data.feature_table import configured_table_primaries, formula_column_of, read_samples, table_compositions
from .data.tables import TableSource, one_line, read_table, short_list, units_from_headers
from .errors import InputError
from .results import Model, Result, ResultSource, as_result, chosen_models, load_result
from .search.classification import predict as predict_classes, separators

__all__ = ["predict", "predict_entries", "predict_table", "formula_sites", "descriptor_values", "fitted", "SITE_RULES"]



def predict(
    result: ResultSource,
    compounds: TableSource,
    atoms: TableSource | None = None,
    dimension: int | None = None,
    model: int | Sequence[int] | None = None,
    site_rule: str = "electronegativity",
    tasks: Any = None,
) -> pd.DataFrame:
    """Predictions of the target for new compounds by the models of ``result``
    (for a classification result: the class each classifier predicts, by name).

    Parameters
    ----------
    result
        A :class:`Result` (from :func:`formulasearch.run` or
        :func:`formulasearch.load_result`) or the path of a results JSON.
    compounds
        A DataFrame or CSV path with either columns ``A`` and ``B`` (element
        symbols on each site) or a column ``formula`` with formulas such as
        "GaN", "MgO" or "C". When ``A`` and ``B`` are present they are used and
        a ``formula`` column is only carried to the output.
        A formula must have one element (then A = B, e.g. "C" is C-C) or two
        elements in equal amounts ("GaAs", "Ga2As2"); see :func:`formula_sites`
        for which element goes on site A (``site_rule``).
    atoms
        The atomic table (DataFrame or CSV with a ``symbol`` column, like the
        one given to :func:`formulasearch.load_dataset`). Default: the table the
        result was trained on, re-read from ``result.config["data"]`` (the
        built-in octet table, or the ``atoms`` CSV path; a relative path that
        does not exist from the working directory is also tried next to the
        results file when ``result`` is a path). A run made with
        ``run(dataset=...)`` records no data source: pass ``atoms`` then.
    dimension
        Use the best model of this dimension only.
    model
        Use ``result.models[model]`` (an index, or a list of indices) only.
    site_rule
        "electronegativity" (default: lower Pauling electronegativity on A; a pair the models were trained on keeps its training orientation, e.g. Ge-Si) or "as_written"; see :func:`formula_sites`.
    tasks
        Multi-task models only (``result.tasks``): the task of each compound,
        by name (one name for all, or one per compound); a table of samples may
        carry them in its task column instead (``[data] task_column``).

    Returns
    -------
    One row per compound, in input order: columns ``A``, ``B`` (and
    ``formula`` if given), then one column per model: ``pred_1D``,
    ``pred_2D``, ... for the best model of each dimension; the model ranked
    k > 1 within its dimension is named ``pred_{d}D_{k}``. Default: the best
    model of every dimension present. A formula undefined for a compound (e.g.
    the log of a negative value) gives NaN or inf there, as the core computes it.

    Raises
    ------
    InputError
        One line, for an element with no atomic data (or no finite value of a
        property a chosen model uses), an unreadable formula, a formula with
        other than one or two distinct elements, a missing column, or a model
        or dimension the results do not hold.
    """
    base_dir: Path | None = None
    if isinstance(result, (str, os.PathLike)):
        base_dir = Path(result).parent
        result = load_result(result)
    if not isinstance(result, Result):
        raise TypeError(f"predict needs a Result or the path of a results JSON, got {type(result).__name__}")
    if site_rule not in SITE_RULES:
        raise InputError(f"site_rule must be one of {', '.join(SITE_RULES)}, got {site_rule!r}")

    if trained_on_table(result):
        return predict_table(result, compounds, dimension, model, tasks)
    if trained_on_entries(result):
        raise InputError("these models were trained on DFT entries (structure and composition features), not on "
                         "sites A and B: predict with formulasearch.predict.predict_entries(result, entries)")
    variables = [str(v) for v in result.variables]
    if not variables:
        raise InputError("the results list no variables (Result.variables), so their formula codes cannot be read")
    chosen = _choose_models(result, dimension, model)
    parsed = [(column, m, _read_codes(m, variables, index)) for column, index, m in chosen]

    table, from_formulas = _compound_table(compounds, site_rule)
    if from_formulas and site_rule == "electronegativity":
        table = _training_orientation(table, result)
    atom_table = _atom_table(result, atoms, base_dir)
    if atoms is None:
        atom_table = _with_pymatgen_elements(atom_table, table, result)
    used = _used_variables([m for _, _, m in chosen], variables)
    matrix = _primary_matrix(table, atom_table, variables, used)

    codes = task_codes(result, tasks, len(table), None, "the compounds")
    out = table.copy()
    for column, m, formulas in parsed:
        out[column] = _classify(result, m, formulas, matrix) if result.task == "classification" else \
            _evaluate(m, formulas, matrix, codes)
    return out


def task_codes(result: Result, tasks: Any, n: int, column: pd.Series | None, where: str) -> np.ndarray | None:
    """The task index (into result.tasks) of each of n new samples: from `tasks` (one name, or one per
    sample), else from the samples' task column; None for single-task results."""
    if not result.tasks:
        if tasks is not None:
            raise InputError("these models were trained on one task: tasks= does not apply")
        return None
    if tasks is not None:
        names = [tasks] * n if isinstance(tasks, (str, int)) else list(tasks)
    elif column is not None:
        names = list(column)
    else:
        key = _data_settings(result).get("task_column")
        raise InputError(f"these models are multi-task ({', '.join(result.tasks)}): {where} need the task of "
                         f"each sample ({f'a column {key!r}, or ' if key else ''}tasks=...)")
    if len(names) != n:
        raise InputError(f"{len(names)} tasks given for {n} samples: give one task per sample (or one for all)")
    known = {name: k for k, name in enumerate(result.tasks)}
    codes = []
    for i, name in enumerate(names):
        key = str(name).strip()
        if key not in known:
            raise InputError(f"sample {i + 1}: task {key!r} is not one the models were trained on "
                             f"({', '.join(result.tasks)})")
        codes.append(known[key])
    return np.asarray(codes, dtype=int)


# --------------------------------------------------------------------------
# formulas of compounds


def _data_settings(result: Result) -> dict[str, Any]:
    return (result.config.get("data") or {}) if isinstance(result.config, dict) else {}


def trained_on_entries(result: Result) -> bool:
    return bool(_data_settings(result).get("entries"))


def trained_on_table(result: Result) -> bool:
    return bool(_data_settings(result).get("table"))


def predict_table(result: ResultSource, samples: Any, dimension: int | None = None,
                  model: int | Sequence[int] | None = None, tasks: Any = None) -> pd.DataFrame:
    """Predictions for new samples by models trained on a ``[data] table``.

    ``samples``: a CSV or train.dat path, or a DataFrame, holding the columns the
    models use (by header, with or without unit tails, or by variable name) and,
    for composition features, the column of chemical formulas. Returns the id and
    formula columns (when present) and one ``pred_*`` column per model, named as
    in :func:`predict`. A sample with a missing value gets a NaN prediction.
    Multi-task models predict each sample with its task's coefficients: its
    cell of the task column (``[data] task_column``), or ``tasks`` (one name
    for all samples, or one per sample).
    """
    result, _ = _load(result)
    data = _data_settings(result)
    variables = [str(v) for v in result.variables]
    chosen = _choose_models(result, dimension, model)
    parsed = [(column, m, _read_codes(m, variables, index)) for column, index, m in chosen]
    frame, _, where = read_samples(samples, data.get("format") if not isinstance(samples, pd.DataFrame) else None)
    used = _used_variables([m for _, _, m in chosen], variables)
    labels = [str(i + 1) for i in range(len(frame))]
    formula_col = formula_column_of(frame, data.get("formula"))
    matrix = np.full((len(variables), len(frame)), np.nan)
    compositions: list[str] = []
    for k in used:
        v = variables[k]
        header = result.headers.get(v, v)
        column = header if header in frame.columns else v if v in frame.columns else None
        if column is not None:
            matrix[k] = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        elif is_composition_feature(v) and formula_col is not None:
            compositions.append(v)
        else:
            raise InputError(f"{where} has no column {header!r}, a variable of the models"
                             + (" (nor a column of formulas to compute it from)" if is_composition_feature(v) else ""))
    if compositions:
        computed = table_compositions(frame, formula_col, compositions, labels)
        for v in compositions:
            matrix[variables.index(v)] = computed[v].to_numpy(dtype=float)
    task_col = data.get("task_column")
    codes = task_codes(result, tasks, len(frame), frame[task_col] if task_col in frame.columns else None, where)
    keep = [c for c in (data.get("id"), formula_col, task_col if result.tasks else None, "id", "name")
            if c and c in frame.columns]
    out = frame[list(dict.fromkeys(keep))].copy()
    for column, m, formulas in parsed:
        out[column] = _classify(result, m, formulas, matrix) if result.task == "classification" else \
            _evaluate(m, formulas, matrix, codes)
    return out


def predict_entries(
    result: ResultSource,
    entries: Any,
    dimension: int | None = None,
    model: int | Sequence[int] | None = None,
    entry_filter: Any = None,
) -> pd.DataFrame:
    """Predictions for new structures by models trained with ``[data] entries``.

    ``entries``: an entry file or folder (read with the features and settings
    the result was trained with, from ``result.config["data"]``), an
    :class:`formulasearch.entries.EntryTable`, or a DataFrame holding a column
    for every variable of the result. ``entry_filter`` selects entries of a
    file (default: all). Returns the ``id`` and ``formula`` columns (when
    present) and one ``pred_*`` column per model, named as in :func:`predict`.
    A sample with a NaN feature gets a NaN prediction (nothing is filled in).
    """
    result, _ = _load(result)
    variables = [str(v) for v in result.variables]
    chosen = _choose_models(result, dimension, model)
    parsed = [(column, m, _read_codes(m, variables, index)) for column, index, m in chosen]
    if isinstance(entries, EntryTable):
        frame = entries.frame
    elif isinstance(entries, pd.DataFrame):
        frame = entries
    else:
        data = (result.config.get("data") or {}) if isinstance(result.config, dict) else {}
        frame = load_entries(entries, entry_filter, data.get("fields") or [], data.get("structure_features") or [],
                             data.get("composition_features") or [], data.get("structure_options")).frame
    missing = [v for v in variables if v not in frame.columns]
    if missing:
        raise InputError(f"the samples have no column {missing[0]!r}, a variable of the models "
                         f"(variables: {', '.join(variables)})")
    matrix = np.ascontiguousarray(frame[variables].apply(pd.to_numeric, errors="coerce").to_numpy(float).T)
    out = frame[[c for c in ("id", "formula") if c in frame.columns]].copy()
    for column, m, formulas in parsed:
        out[column] = _evaluate(m, formulas, matrix)
    return out




def _compound_table(compounds: TableSource, site_rule: str) -> tuple[pd.DataFrame, bool]:
    """A fresh DataFrame with A, B (and formula) of each compound, and whether
    the sites came from formulas (rather than A/B columns)."""
    df, where = read_table(compounds, "compounds")
    columns = [str(c) for c in df.columns]
    has_sites = all(site in df.columns for site in SITES)
    if not has_sites and FORMULA not in df.columns:
        raise InputError(
            f"{where} needs columns 'A' and 'B' or a column 'formula' "
            f"(it has: {short_list(columns) or 'no columns'})"
        )
    if len(df) == 0:
        raise InputError(f"{where} is empty: it has a header but no compound rows")
    df = df.reset_index(drop=True)
    out = pd.DataFrame(index=df.index)
    if has_sites:
        for site in SITES:
            out[site] = site_column(df, site)
        if FORMULA in df.columns:
            out[FORMULA] = df[FORMULA]
        return out, False
    sites, texts = read_formulas(df, site_rule)
    out["A"] = pd.Series([a for a, _ in sites], index=df.index, dtype=object)
    out["B"] = pd.Series([b for _, b in sites], index=df.index, dtype=object)
    out[FORMULA] = pd.Series(texts, index=df.index, dtype=object)
    return out, True


# --------------------------------------------------------------------------
# the atomic table


def _training_orientation(table: pd.DataFrame, result: Result) -> pd.DataFrame:
    """A pair the model was trained on keeps the training table's A/B order
    (e.g. Ge-Si and Sn-Si in the octet data, against the electronegativity rule)."""
    trained = {(a, b) for a, b in result.compounds}
    swap = [(b, a) in trained and (a, b) not in trained for a, b in zip(table["A"], table["B"])]
    if any(swap):
        table = table.copy()
        a_col, b_col = table["A"].copy(), table["B"].copy()
        table.loc[swap, "A"], table.loc[swap, "B"] = b_col[swap], a_col[swap]
    return table


def _with_pymatgen_elements(atom_table: pd.DataFrame, table: pd.DataFrame, result: Result) -> pd.DataFrame:
    """Elements the training set did not have: when every property the models
    use came from pymatgen ([data] elemental), look their values up there too."""
    data = (result.config.get("data") or {}) if isinstance(result.config, dict) else {}
    elemental = list(data.get("elemental") or [])
    new = sorted({str(e) for e in pd.concat([table["A"], table["B"]])} - set(map(str, atom_table.index)))
    if not new or not elemental or not set(atom_table.columns) <= set(elemental):
        return atom_table
    extra = elemental_table(new, list(atom_table.columns))
    return pd.concat([atom_table, extra])


def _atom_table(result: Result, atoms: TableSource | None, base_dir: Path | None) -> pd.DataFrame:
    if atoms is not None:
        df, where = read_table(atoms, "atoms")
        df, _ = units_from_headers(df)
        return check_atoms(df, where)
    if result.atoms:  # the values the models were trained on, saved with them
        return pd.DataFrame.from_dict(result.atoms, orient="index").rename_axis(SYMBOL)
    data = (result.config.get("data") or {}) if isinstance(result.config, dict) else {}
    path = data.get("atoms")
    if path:
        p = Path(path)
        if not p.exists() and not p.is_absolute() and base_dir is not None and (base_dir / p).exists():
            p = base_dir / p
        if not p.exists():
            raise InputError(
                f"the atoms file the results were trained on, '{path}', is not found; "
                "give the atomic table (atoms=..., or --atoms)"
            )
        df, where = read_table(p, "atoms")
        df, _ = units_from_headers(df)
        return check_atoms(df, where)
    name = data.get("dataset", "octet")
    if name == "octet":
        return octet().atoms
    raise InputError(f"the results name an unknown built-in dataset {name!r}; give the atomic table (atoms=...)")


# --------------------------------------------------------------------------
# models


def _choose_models(result: Result, dimension: Any, model: Any) -> list[tuple[str, int, Model]]:
    """(column name, index in result.models, model) of each model to evaluate."""
    models = result.models
    if not models:
        raise InputError("the results hold no models")
    if dimension is not None and model is not None:
        raise InputError("give either a dimension or a model index, not both")
    rank: list[int] = []
    seen: dict[int, int] = {}
    for m in models:
        seen[m.dimension] = seen.get(m.dimension, 0) + 1
        rank.append(seen[m.dimension])

    def column(i: int) -> str:
        d = models[i].dimension
        return f"pred_{d}D" if rank[i] == 1 else f"pred_{d}D_{rank[i]}"

    dims = sorted(seen)
    if model is not None:
        chosen = chosen_models(models, model)
        if any(i < 0 for i, _ in chosen):
            raise InputError("a Model given as `model` must be one of the results' models")
        return [(column(i), i, m) for i, m in chosen]
    if dimension is not None:
        if isinstance(dimension, bool) or not isinstance(dimension, (int, np.integer)):
            raise InputError(f"dimension must be an integer, got {dimension!r}")
        if int(dimension) not in seen:
            raise InputError(
                f"the results hold no {int(dimension)}D model (dimensions: {', '.join(str(d) for d in dims)})"
            )
        dims = [int(dimension)]
    out = []
    for d in dims:
        i = next(k for k, m in enumerate(models) if m.dimension == d)
        out.append((column(i), i, models[i]))
    return out


def _read_codes(m: Model, variables: list[str], index: int) -> list[Formula]:
    if len(m.codes) != len(m.coefficients) or not m.codes:
        raise InputError(
            f"model {index} is malformed: {len(m.codes)} formula codes but {len(m.coefficients)} coefficients"
        )
    formulas = []
    for code in m.codes:
        try:
            formulas.append(Formula.from_postfix(code, variables))
        except (ValueError, TypeError, RuntimeError) as exc:
            raise InputError(f"model {index}: cannot read the formula code {code!r}: {one_line(exc)}") from None
    return formulas


def _used_variables(models: list[Model], variables: list[str]) -> list[int]:
    """Indices of the variables the models' codes refer to, in variable order."""
    names = {tok for m in models for code in m.codes for tok in str(code).split()}
    return [i for i, v in enumerate(variables) if v in names]


def _split_variable(name: str) -> tuple[str, str]:
    prop, sep, site = name.rpartition("_")
    if not sep or not prop or site not in SITES:
        raise InputError(f"variable {name!r} of the results is not a site property of the form P_A or P_B")
    return prop, site


def _primary_matrix(table: pd.DataFrame, atoms: pd.DataFrame, variables: list[str], used: list[int]) -> np.ndarray:
    """(variables x compounds) matrix; rows of variables no chosen model uses are NaN."""
    labels = table[FORMULA].astype(str).tolist() if FORMULA in table.columns else [
        f"{a}{b}" for a, b in zip(table["A"], table["B"])
    ]
    symbols = atoms.index.astype(str)
    rows: dict[str, np.ndarray] = {}
    for site in SITES:
        rows[site] = symbols.get_indexer(table[site].astype(str))
    missing = np.flatnonzero((rows["A"] < 0) | (rows["B"] < 0))
    if missing.size:
        i = int(missing[0])
        element = table["A"].iloc[i] if rows["A"][i] < 0 else table["B"].iloc[i]
        known = [str(k) for k in symbols]
        more = f"; {missing.size - 1} more compound(s) have elements with no atomic data" if missing.size > 1 else ""
        raise InputError(
            f"compound {labels[i]!r} (row {i + 1}): element {element!r} has no atomic data "
            f"(the atomic table has {short_list(known)}){more}"
        )
    matrix = np.full((len(variables), len(table)), np.nan)
    columns = [str(c) for c in atoms.columns]
    for k in used:
        prop, site = _split_variable(variables[k])
        if prop not in atoms.columns:
            raise InputError(
                f"the atomic table has no property {prop!r}, which the models use (columns: {short_list(columns)})"
            )
        values = numeric_column(atoms, prop)[rows[site]]
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"compound {labels[i]!r} (row {i + 1}): element {table[site].iloc[i]!r} has no value of "
                f"property {prop!r} ({values[i]}), which the models use"
            )
        matrix[k] = values
    return np.ascontiguousarray(matrix)


def _evaluate(m: Model, formulas: list[Formula], matrix: np.ndarray, tasks: np.ndarray | None = None) -> np.ndarray:
    def number(x: Any) -> float:
        return float("nan") if x is None else float(x)

    if m.multitask:  # each sample with its task's intercept and coefficients
        return m.predictions(np.vstack([np.asarray(f.evaluate(matrix), dtype=np.float64) for f in formulas]), tasks)

    pred = np.full(matrix.shape[1], number(m.intercept))
    for c, f in zip(m.coefficients, formulas):
        pred = pred + number(c) * np.asarray(f.evaluate(matrix), dtype=np.float64)
    return pred


def _classify(result: Result, m: Model, formulas: list[Formula], matrix: np.ndarray) -> list[str | None]:
    """Class names predicted by a classifier's logistic separator; None where a formula is not finite."""
    values = np.vstack([np.asarray(f.evaluate(matrix), dtype=np.float64) for f in formulas])
    classes = predict_classes(*separators(m), np.nan_to_num(values))
    finite = np.all(np.isfinite(values), axis=0)
    return [result.classes[k] if ok else None for k, ok in zip(classes, finite)]


# --------------------------------------------------------------------------
# the training compounds


def descriptor_values(
    result: ResultSource,
    model: int | Model,
    atoms: TableSource | None = None,
    primaries: Any = None,
) -> np.ndarray:
    """Each formula's values on the training samples of ``result``.

    ``model`` is an index into ``result.models`` or a :class:`Model`. Returns a
    (dimension x n_training) float array, samples in the order of
    ``result.labels`` / ``result.target_values``. The values are computed
    from the model's postfix codes on the primary matrix of the training
    compounds (``result.compounds``), built from the atomic values saved with
    the result (``result.atoms``; or ``atoms``, or the data named in the
    config, as for :func:`predict`).

    A run made with ``run(primaries=...)`` records no compounds: pass the same
    :class:`formulasearch.Primaries` as ``primaries`` (its rows are matched to
    ``result.variables`` by name).
    """
    result, base_dir = _load(result)
    m, index = _model_of(result, model)
    variables = [str(v) for v in result.variables]
    if not variables:
        raise InputError("the results list no variables (Result.variables), so their formula codes cannot be read")
    formulas = _read_codes(m, variables, index)
    matrix = _training_matrix(result, variables, _used_variables([m], variables), atoms, primaries, base_dir)
    return np.vstack([np.asarray(f.evaluate(matrix), dtype=np.float64) for f in formulas])


def fitted(
    result: ResultSource,
    model: int | Model,
    atoms: TableSource | None = None,
    primaries: Any = None,
) -> np.ndarray:
    """The model's predictions on its training samples (n_training,), in the
    order of ``result.target_values``: ``intercept + coefficients @ descriptor_values``."""
    result, _ = _load(result)
    m, _ = _model_of(result, model)
    values = descriptor_values(result, m, atoms=atoms, primaries=primaries)
    if m.multitask:
        return m.predictions(values, np.asarray(result.task_labels, dtype=int))
    coef = np.array([float("nan") if c is None else float(c) for c in m.coefficients])
    intercept = float("nan") if m.intercept is None else float(m.intercept)
    return intercept + coef @ values


def _load(result: ResultSource) -> tuple[Result, Path | None]:
    """The Result and the folder of its JSON (None for a Result given directly)."""
    loaded = as_result(result)
    return loaded, Path(result).parent if isinstance(result, (str, os.PathLike)) else None


def _model_of(result: Result, model: Any) -> tuple[Model, int]:
    """The model and its index in result.models (-1 for a Model not in the list)."""
    if isinstance(model, Model):
        index = next((i for i, m in enumerate(result.models) if m is model), -1)
        return model, index
    if isinstance(model, bool) or not isinstance(model, (int, np.integer)):
        raise InputError(f"model must be an index into result.models or a Model, got {model!r}")
    n = len(result.models)
    if not -n <= int(model) < n:
        raise InputError(f"model {model} does not exist: the results hold {n} models" + (f" (0-{n - 1})" if n else ""))
    index = int(model) % n
    return result.models[index], index


def _training_matrix(result: Result, variables: list[str], used: list[int], atoms: TableSource | None,
                     primaries: Any, base_dir: Path | None) -> np.ndarray:
    """(variables x training samples) primary matrix; rows no formula uses are NaN."""
    n = len(result.target_values) if result.target_values else None
    if primaries is None and trained_on_entries(result):  # the samples are re-read as the run read them
        primaries, _ = entry_primaries(result.config["data"], base_dir=base_dir)
    elif primaries is None and trained_on_table(result):
        primaries, _ = configured_table_primaries(result.config["data"], base_dir=base_dir)
    if primaries is not None:
        names = [str(v) for v in primaries.names]
        pm = np.asarray(primaries.matrix, dtype=np.float64)
        if n is not None and pm.shape[1] != n:
            raise InputError(f"the primaries have {pm.shape[1]} samples but the results were trained on {n}")
        matrix = np.full((len(variables), pm.shape[1]), np.nan)
        for k in used:
            if variables[k] not in names:
                raise InputError(f"the primaries have no variable {variables[k]!r}, which the model uses")
            matrix[k] = pm[names.index(variables[k])]
        return np.ascontiguousarray(matrix)
    if not result.compounds:
        raise InputError(
            "the results list no training compounds (Result.compounds; e.g. a run made with primaries=...): "
            "pass the primaries the run was made with (primaries=...)"
        )
    if n is not None and len(result.compounds) != n:
        raise InputError(f"the results list {len(result.compounds)} training compounds but {n} target values")
    table = pd.DataFrame({"A": [str(a) for a, _ in result.compounds], "B": [str(b) for _, b in result.compounds]})
    if len(result.labels) == len(table):
        table[FORMULA] = [str(label) for label in result.labels]
    return _primary_matrix(table, _atom_table(result, atoms, base_dir), variables, used)
