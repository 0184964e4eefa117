"""A table of samples: one row per sample, a target column and feature columns, as users bring them.

Two formats:

* **CSV** (comma-separated, a header line): any columns. Headers may carry units,
  ``IP_A (eV)``: a parenthesised tail separated from the name by whitespace (the
  SISSO++ convention). ``IP(A)`` or ``(IP(A)+IP(B))`` are names, not units. Once any
  header carries a unit, a header without one is dimensionless.
* **SISSO's train.dat** (whitespace-separated): the first column names the samples,
  the second is the property, the others are features.

The format is read from the extension (``.csv``; ``.dat``, ``.txt``) or, failing
that, from the first line (commas or not). Column names that are not identifiers
(``|IP(A)-EA(B)|/r_p(A)^2``) get a readable sanitised variable name for formula
codes; the original header is kept for display. A column of chemical formulas
(``formula`` or ``composition``) can give composition features.
"""
from __future__ import annotations

import csv
import io
import keyword
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..formula import OPERATORS
from .composition_features import DEFAULT_FEATURES, check_features, composition_table, feature_unit, parse_name
from .elements import elemental_table
from .primaries import Primaries, primaries_from_table, with_tasks
from .tables import CSV_OPTIONS, coerce_numeric, is_numeric, one_line, short_list
from .units import split_header

FORMATS = ("csv", "sisso")
#: names of a column of chemical formulas, tried in this order (case-insensitive)
FORMULA_COLUMNS = ("formula", "composition")
#: a column named like this names the samples, even when it holds numbers (case-insensitive; also *_id)
ID_COLUMNS = ("id", "name", "material", "materials", "sample", "index")
_OPERATOR_WORDS = {token for token in OPERATORS if token.isidentifier()}


@dataclass(frozen=True)
class FeatureTable:
    """A samples table read and checked: columns renamed to variable names, units and original headers kept."""

    frame: pd.DataFrame  #: one row per sample; feature and target columns are float64, named by variable name
    target: str  #: variable name of the target column
    features: list[str]  #: variable names of the numeric feature columns, in table order
    labels: list[str]  #: one label per sample (the id column, else the row number from 1)
    units: dict[str, str] = field(default_factory=dict)  #: variable name -> unit ("" unknown, "1" dimensionless)
    headers: dict[str, str] = field(default_factory=dict)  #: variable name -> the column's header (unit taken off)
    format: str = "csv"  #: "csv" or "sisso"
    formula_column: str | None = None  #: the column of chemical formulas, if any
    id_column: str | None = None  #: the column naming the samples, if any
    where: str = "the table"  #: a phrase naming the table in messages
    tasks: list[str] | None = None  #: multi-task: the task of each sample (its task column, or its block of rows)
    task_column: str | None = None  #: the column naming the tasks, if any

    def display_name(self, variable: str) -> str:
        return self.headers.get(variable, variable)


def variable_names(headers: Sequence[str]) -> list[str]:
    """Names usable in formula codes, one per header: identifiers that are no operator word, all distinct.

    A header that is already such a name is kept; any other is sanitised
    (``|IP(A)-EA(B)|/r_p(A)^2`` -> ``IP_A_EA_B_r_p_A_2``) and numbered if taken.
    """
    out: list[str] = []
    taken: set[str] = set()
    for header in headers:
        name = str(header).strip()
        if not (name.isidentifier() and name.isascii()) or name in _OPERATOR_WORDS or keyword.iskeyword(name):
            name = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "x"
            if name[0].isdigit():
                name = "x_" + name
            if name in _OPERATOR_WORDS or keyword.iskeyword(name):
                name += "_"
        base, k = name, 2
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        out.append(name)
    return out


def header_units(headers: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Headers without their unit tails, and {name: unit}. Once any header carries a unit, the others are
    dimensionless ("1"), as in SISSO++; with no unit anywhere every unit is unknown ("")."""
    names, units = [], {}
    for header in headers:
        name, unit = split_header(str(header))
        name = name.strip()
        names.append(name)
        units[name] = "" if unit is None else unit.strip()
    if any(units.values()):
        units = {name: unit or "1" for name, unit in units.items()}
    return names, units


def detect_format(path: Path | None, first_line: str) -> str:
    """ "csv" or "sisso": by extension, else by the first line (a comma means CSV)."""
    suffix = path.suffix.lower() if path is not None else ""
    if suffix == ".csv":
        return "csv"
    if suffix in (".dat", ".txt"):
        return "sisso"
    return "csv" if "," in first_line else "sisso"


def _raw_header(text: str, fmt: str) -> list[str]:
    first = text.splitlines()[0] if text.strip() else ""
    if fmt == "sisso":
        return first.split()
    return next(csv.reader(io.StringIO(first), skipinitialspace=True), [])


def _read(source: Any, fmt: str | None) -> tuple[pd.DataFrame, list[str], str, str]:
    """(frame with the raw headers, raw headers, format, phrase naming the table)."""
    if isinstance(source, pd.DataFrame):
        if fmt not in (None, "csv"):
            raise InputError(f"format {fmt!r} reads a file; a DataFrame is a table already")
        return source.copy(), [str(c) for c in source.columns], "csv", "the samples table"
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"a samples table is a CSV or train.dat path or a pandas DataFrame, not {type(source).__name__}")
    path = Path(source)
    where = f"table file '{path}'"
    if not path.is_file():
        raise InputError(f"{where} not found" if not path.exists() else f"{where} is not a file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where} is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise InputError(f"{where} is empty")
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"[data] format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    fmt = fmt or detect_format(path, text.splitlines()[0])
    try:
        if fmt == "sisso":
            frame = pd.read_csv(io.StringIO(text), sep=r"\s+", engine="python")
        else:
            frame = pd.read_csv(io.StringIO(text), **CSV_OPTIONS)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{where} is not a readable {'train.dat' if fmt == 'sisso' else 'CSV'}: "
                         f"{one_line(exc)}") from None
    return frame, _raw_header(text, fmt), fmt, where


def read_feature_table(source: Any, target: str | None = None, id: str | None = None,
                       features: Sequence[str] | None = None, format: str | None = None,
                       formula: str | None = None, task_column: str | None = None,
                       task_sizes: Sequence[int] | None = None) -> FeatureTable:
    """Read and check a samples table (see the module's docstring).

    ``target``: the target column (by header, with or without its unit; SISSO
    format: default the second column). ``id``: the column naming the samples
    (default: a column named id, *_id, name, material(s), sample or index, else the
    first non-numeric column other than the formulas, else the row number; SISSO
    format: the first column). ``features``: the feature columns
    (default: every other numeric column). ``formula``: a column of chemical
    formulas (default: a column named formula or composition, if any).
    ``task_column``: a column naming each sample's task (multi-task SISSO; not a
    feature); ``task_sizes``: the tasks as consecutive blocks of rows of these
    sizes, as in SISSO's train.dat (tasks named task1, task2, ...).
    Every problem is one InputError line naming the column and the row.
    """
    frame, raw, fmt, where = _read(source, format)
    repeated = [h for i, h in enumerate(raw) if h in raw[:i]]
    if repeated:
        raise InputError(f"{where} has two columns named {repeated[0]!r}; each column needs its own name")
    if len(frame) == 0:
        raise InputError(f"{where} has a header but no rows")
    headers, units_by_header = header_units(frame.columns)
    if len(set(headers)) < len(headers):
        twice = next(h for i, h in enumerate(headers) if h in headers[:i])
        raise InputError(f"{where}: two columns are named {twice!r} once their units are taken off")
    frame.columns = headers
    by_name = {h: h for h in headers}

    def column(name: str | None, what: str) -> str | None:
        if name is None:
            return None
        bare = split_header(str(name))[0].strip()
        if bare not in by_name:
            raise InputError(f"{where} has no {what} column {name!r} (columns: {short_list(headers)})")
        return bare

    if fmt == "sisso":
        if len(headers) < 3:
            raise InputError(f"{where}: a train.dat needs a name column, the property and at least one feature "
                             f"(it has {len(headers)} columns)")
        id_col = column(id, "id") or headers[0]
        target_col = column(target, "target") or headers[1]
    else:
        if target is None:
            raise InputError(f"name the target column of {where} (columns: {short_list(headers)})")
        target_col = column(target, "target")
        id_col = column(id, "id")
    formula_col = column(formula, "formula")
    task_col = column(task_column, "task")
    if task_col is not None and task_col == target_col:
        raise InputError(f"the target {target_col!r} cannot also be the task column")
    if formula_col is None:
        formula_col = formula_column_of(frame.drop(columns=[target_col]))
    # a column of numbers with a stray word in it is a feature with a typo, not a column of names
    numeric_looking = {h for h in headers if is_numeric(frame[h]) or _mostly_numbers(frame[h])}
    if id_col is None:
        candidates = [h for h in headers if h not in (target_col, formula_col, task_col)]
        id_col = next((h for h in candidates if h.lower() in ID_COLUMNS or h.lower().endswith("_id")),
                      next((h for h in candidates if h not in numeric_looking), None))
    if features is None:
        chosen = [h for h in headers if h not in (target_col, id_col, formula_col, task_col) and h in numeric_looking]
    else:
        chosen = [column(f, "feature") for f in features]
        twice = [c for i, c in enumerate(chosen) if c in chosen[:i]]
        if twice:
            raise InputError(f"feature {twice[0]!r} is chosen twice")
        if target_col in chosen:
            raise InputError(f"the target {target_col!r} cannot also be a feature")
        if task_col in chosen:
            raise InputError(f"the task column {task_col!r} cannot also be a feature")
    labels = ([str(v).strip() for v in frame[id_col]] if id_col is not None
              else [str(i + 1) for i in range(len(frame))])
    for name in [target_col, *chosen]:
        values, bad = coerce_numeric(frame[name])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{where}: column {name!r} must be numeric, but sample {labels[i]!r} (row {i + 1}) "
                             f"has {frame[name].iloc[i]!r}")
        frame[name] = values
    if not chosen and formula_col is None:
        raise InputError(f"{where} has no numeric feature column besides the target {target_col!r} "
                         f"(columns: {short_list(headers)})")
    tasks = _tasks_of(frame, task_col, task_sizes, labels, where)
    names = variable_names([target_col, *chosen])
    renames = dict(zip([target_col, *chosen], names))
    frame = frame.rename(columns=renames)
    return FeatureTable(frame=frame.reset_index(drop=True), target=renames[target_col], features=names[1:],
                        labels=labels, units={renames[h]: units_by_header[h] for h in renames},
                        headers={v: k for k, v in renames.items()}, format=fmt, formula_column=formula_col, id_column=id_col,
                        where=where, tasks=tasks, task_column=task_col)


def _tasks_of(frame: pd.DataFrame, column: str | None, sizes: Sequence[int] | None, labels: Sequence[str],
              where: str) -> list[str] | None:
    """The task of each sample: its cell of the task column, or its block of rows (task1, task2, ...)."""
    if column is not None:
        cells = frame[column]
        empty = [i for i, v in enumerate(cells) if pd.isna(v) or not str(v).strip()]
        if empty:
            raise InputError(f"{where}: sample {labels[empty[0]]!r} (row {empty[0] + 1}) has no task in column "
                             f"{column!r}")
        return [str(v).strip() for v in cells]
    if sizes is None:
        return None
    if sum(sizes) != len(frame):
        raise InputError(f"{where} has {len(frame)} samples, but task_sizes {list(sizes)} add up to {sum(sizes)}")
    return [f"task{k + 1}" for k, size in enumerate(sizes) for _ in range(size)]


def _mostly_numbers(column: pd.Series) -> bool:
    """More than half of the filled cells read as numbers."""
    values, bad = coerce_numeric(column)
    filled = int(np.count_nonzero(~np.isnan(values)) + np.count_nonzero(bad))
    return filled > 0 and np.count_nonzero(~np.isnan(values)) > filled / 2


def read_samples(source: Any, format: str | None = None) -> tuple[pd.DataFrame, str, str]:
    """A table of samples as it is (e.g. new samples to predict): columns named by their headers without the
    unit tails, the format read, and a phrase naming the table."""
    frame, raw, fmt, where = _read(source, format)
    repeated = [h for i, h in enumerate(raw) if h in raw[:i]]
    if repeated:
        raise InputError(f"{where} has two columns named {repeated[0]!r}; each column needs its own name")
    frame.columns = header_units(frame.columns)[0]
    return frame, fmt, where


def formula_column_of(frame: pd.DataFrame, name: str | None = None) -> str | None:
    """The column of chemical formulas: the one named, else one named formula or composition."""
    if name is not None:
        return name if name in frame.columns else None
    return next((h for h in frame.columns for f in FORMULA_COLUMNS if str(h).lower() == f), None)


def table_compositions(frame: pd.DataFrame, column: str, names: Sequence[str], labels: Sequence[str]) -> pd.DataFrame:
    """The composition features of a formula column (NaN where an element lacks a property)."""
    return composition_table(_compositions(frame[column], labels), check_features(names))


def configured_table_primaries(data: Any, classes: Mapping[str, Sequence[str]] | None = None,
                               base_dir: str | Path | None = None) -> tuple[Primaries, list[str]]:
    """The primary variables that ``[data] table`` settings describe (a DataConfig or its dict, e.g. a saved
    result's ``config["data"]``); a relative path that does not exist is also looked for in `base_dir`."""
    get = data.get if isinstance(data, Mapping) else lambda key, default=None: getattr(data, key, default)
    path = Path(get("table"))
    if base_dir is not None and not path.exists() and not path.is_absolute():
        path = Path(base_dir) / path
    table = read_feature_table(path, get("target"), get("id"), get("features"), get("format"), get("formula"),
                               get("task_column"), get("task_sizes"))
    return table_primaries(table, get("composition_features"), classes, get("missing") or "drop")


def table_primaries(table: FeatureTable, composition_features: Sequence[str] | None = None,
                    classes: Mapping[str, Sequence[str]] | None = None,
                    missing: str = "drop") -> tuple[Primaries, list[str]]:
    """The primary variables of a samples table: its numeric features, then the composition features of its
    formula column (None: the default set when the table has no numeric feature); and what was done, in words.

    With ``missing = "drop"`` a sample with a NaN feature or target (e.g. an element
    pymatgen has no value for) is left out and counted; ``"error"`` names the first.
    """
    frame = table.frame
    messages = [f"read {len(frame):,} samples from {table.where} ({'SISSO train.dat' if table.format == 'sisso' else 'CSV'}"
                f" format): target {table.display_name(table.target)!r}, {len(table.features)} feature column(s)"
                + (f", samples named by {table.id_column!r}" if table.id_column else "")
                + (f", formulas in {table.formula_column!r}" if table.formula_column else "")]
    features = list(table.features)
    units = dict(table.units)
    if composition_features is None and not features and table.formula_column is not None:
        composition_features = list(DEFAULT_FEATURES)
        messages.append(f"no feature named: the default composition features ({', '.join(DEFAULT_FEATURES)})")
    if composition_features:
        if table.formula_column is None:
            raise InputError(f"composition features need a column of chemical formulas in {table.where} "
                             f"(named {' or '.join(FORMULA_COLUMNS)}, or [data] formula = COLUMN)")
        names = check_features(composition_features)
        clash = [n for n in names if n in frame.columns]
        if clash:
            raise InputError(f"composition feature {clash[0]!r} is also a column of {table.where}")
        compositions = _compositions(frame[table.formula_column], table.labels)
        computed = composition_table(compositions, names)
        if missing == "error" and computed.isna().any(axis=None):
            raise InputError(_missing_value(computed, compositions, table.labels))
        frame = pd.concat([frame, computed.set_index(frame.index)], axis=1)
        features += names
        units.update({n: feature_unit(n) or ("1" if any(units.values()) else "") for n in names})
        messages.append(f"{len(names)} composition features of the {table.formula_column!r} column")
    tasks = table.tasks
    if missing == "drop":
        before = len(frame)
        complete = np.isfinite(frame[[*features, table.target]].to_numpy(dtype=float)).all(axis=1)
        labels = [label for label, ok in zip(table.labels, complete) if ok]
        if tasks is not None:
            tasks = [task for task, ok in zip(tasks, complete) if ok]
        frame = frame.loc[complete].reset_index(drop=True)
        if before - len(frame):
            messages.append(f"{before - len(frame):,} of {before:,} samples dropped: a missing feature or target "
                            "(missing = \"error\" reports the first instead)")
        if len(frame) == 0:
            raise InputError(f"every sample of {table.where} has a missing feature or target")
    else:
        labels = table.labels
    constant = [f for f in features if np.ptp(frame[f].to_numpy(dtype=float)) == 0]
    if constant:  # common in descriptor tables (counts of groups no sample has); said, not dropped
        named = ", ".join(repr(table.display_name(f)) for f in constant[:3]) + (", ..." if len(constant) > 3 else "")
        messages.append(f"{len(constant):,} of {len(features):,} feature columns are constant over the samples "
                        f"({named}): they fit nothing, and an operator uses each as a fixed number, mostly making "
                        "duplicates of other formulas; [data] features = [...] picks the columns to use")
    prim = primaries_from_table(frame, features, table.target, classes, units, labels=labels,
                                headers={v: h for v, h in table.headers.items() if h != v})
    prim = replace(prim, target_name=table.display_name(table.target))
    if tasks is not None:
        prim = with_tasks(prim, tasks)
        counts = ", ".join(f"{name} ({int(np.sum(prim.tasks == k))})" for k, name in enumerate(prim.task_names))
        messages.append(f"{len(prim.task_names)} tasks (multi-task SISSO): {counts}")
    return prim, messages


def _missing_value(computed: pd.DataFrame, compositions: list[Any], labels: Sequence[str]) -> str:
    """The first sample whose composition feature is NaN, and the element that lacks the property."""
    row = int(np.flatnonzero(computed.isna().any(axis=1).to_numpy())[0])
    name = str(computed.columns[computed.iloc[row].isna().to_numpy()][0])
    prop = parse_name(name)[0]
    symbols = [str(el) for el in compositions[row].get_el_amt_dict()]
    values = elemental_table(symbols, [prop], allow_missing=True)[prop]
    lacking = [s for s in symbols if np.isnan(values[s])]
    return (f"sample {labels[row]!r} (row {row + 1}, {compositions[row].reduced_formula}): pymatgen has no value of "
            f"{prop} for {', '.join(lacking)}, so no {name}; missing = \"drop\" leaves such samples out")


def _compositions(cells: pd.Series, labels: Sequence[str]) -> list[Any]:
    """pymatgen Compositions of a formula column; InputError naming the first that does not parse."""
    from pymatgen.core import Composition, Element  # pymatgen is slow to import: only compositions need it

    out = []
    for i, (cell, label) in enumerate(zip(cells, labels)):
        try:
            comp = Composition(str(cell).strip())
            if not comp.elements:
                raise ValueError("no element")
            strange = [str(el) for el in comp.elements if not isinstance(el, Element)]
            if strange:
                raise ValueError(f"{strange[0]!r} is not a chemical element")
        except Exception as exc:  # pymatgen raises ValueError, KeyError, ... for bad text
            raise InputError(f"sample {label!r} (row {i + 1}): cannot read the formula {cell!r}: {one_line(exc)}") from None
        out.append(comp)
    return out
