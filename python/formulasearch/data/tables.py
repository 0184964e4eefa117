"""Reading and checking user tables: the helpers every data source shares.

A table is a CSV path or a pandas DataFrame. Problems are reported as one-line
:class:`InputError` messages; row numbers count the data rows from 1.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Union

import numpy as np
import pandas as pd

from ..errors import InputError
from .units import split_header

TableSource = Union[str, "os.PathLike[str]", pd.DataFrame]

# pandas 3 parses floats exactly by default (and deprecates float_precision);
# older versions need round_trip to give the same doubles as Python's float().
CSV_OPTIONS: dict[str, Any] = {"skipinitialspace": True}
if int(pd.__version__.split(".")[0]) < 3:
    CSV_OPTIONS["float_precision"] = "round_trip"


def short_list(items: Iterable[Any], limit: int = 12) -> str:
    """'a, b, c' or 'a, b, ..., z (40 in all)' for long lists."""
    items = [str(x) for x in items]
    if len(items) <= limit:
        return ", ".join(items)
    head = ", ".join(items[: limit - 1])
    return f"{head}, ..., {items[-1]} ({len(items)} in all)"

def one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(part.strip() for part in text.splitlines() if part.strip())

def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)

def is_missing(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like cell
        return False

def coerce_numeric(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """float64 values of a column and a mask of cells that hold something non-numeric.

    Missing cells (NaN, None, blank strings) become NaN and are not flagged.
    """
    if is_numeric(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool)
    values = np.full(len(series), np.nan)
    bad = np.zeros(len(series), dtype=bool)
    for i, cell in enumerate(series.tolist()):
        if is_missing(cell):
            continue
        if isinstance(cell, (bool, np.bool_)):
            bad[i] = True
            continue
        try:
            values[i] = float(cell.strip() if isinstance(cell, str) else cell)
        except (TypeError, ValueError):
            bad[i] = True
    return values, bad

def cell_text(value: Any) -> str:
    return "empty" if is_missing(value) else repr(value) if isinstance(value, str) else str(value)

def read_table(source: Any, what: str) -> tuple[pd.DataFrame, str]:
    """The table as a fresh DataFrame and a phrase naming it for messages."""
    if isinstance(source, pd.DataFrame):
        df = source.copy()
        where = f"the {what} table"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        where = f"{what} file '{path}'"
        if not path.exists():
            raise InputError(f"{what} file not found: '{path}'")
        if path.is_dir():
            raise InputError(f"{what} file '{path}' is a directory, not a CSV file")
        try:
            df = pd.read_csv(path, **CSV_OPTIONS)
        except pd.errors.EmptyDataError:
            raise InputError(f"{what} file '{path}' is empty") from None
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{what} file '{path}' is not a readable CSV: not UTF-8 text (byte {exc.start})"
            ) from None
        except OSError as exc:
            raise InputError(
                f"cannot read {what} file '{path}': {exc.strerror or one_line(exc)}"
            ) from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(f"{what} file '{path}' is not a readable CSV: {one_line(exc)}") from None
    else:
        raise InputError(
            f"the {what} table must be a path to a CSV file or a pandas DataFrame, "
            f"not {type(source).__name__}"
        )
    df.columns = [c.strip() if isinstance(c, str) else c for c in df.columns]
    return df, where

def units_from_headers(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename "name (unit)" columns to "name" and return their units."""
    renames, units = {}, {}
    for col in df.columns:
        name, unit = split_header(col)
        if unit is not None:
            renames[col] = name
            units[name] = unit
    if len(set(renames.values())) < len(renames) or set(renames.values()) & (set(map(str, df.columns)) - set(renames)):
        raise InputError(f"two columns have the same name once their units are taken off: {sorted(renames)}")
    return (df.rename(columns=renames) if renames else df), units
