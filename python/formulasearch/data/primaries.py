"""Primary variables: the dense matrix the C++ core works on.

For each chosen atomic property P there are two primary variables, ``P_A`` (the
value of the element on site A of each compound) and ``P_B`` (site B). The
variables are ordered by property class (class order, then property order in
the class, A before B); a chosen property that belongs to no class forms a
class of its own, named after the property, placed after the dataset's classes
in the order the properties were given.

:func:`primaries_from_table` makes primary variables of any samples table
(e.g. entries read by :mod:`formulasearch.entries`): each chosen column is one
variable; see its docstring for the default classes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .composition_features import parse_name
from .compounds import SITES, check_elements, compound_ref
from .datasets import Dataset, check_classes, numeric_column
from .tables import cell_text, coerce_numeric, is_missing, short_list

__all__ = ["Primaries", "build_primaries", "primaries_from_table", "default_classes", "drop_incomplete", "with_tasks"]


@dataclass(frozen=True, eq=False, repr=False)
class Primaries:
    """Primary variables (rows) of every sample (columns), with names, classes and units."""

    matrix: np.ndarray  # (n_variables, n_samples) float64, C-contiguous
    names: list[str]  # "IP_A", "IP_B", "EA_A", ...
    classes: list[list[int]]  # variable indices of each class, class order
    class_names: list[str]
    units: list[str]  # unit of each variable
    target: np.ndarray  # (n_samples,) float64
    target_name: str
    labels: list[str]  # one per sample: A + B, e.g. "GaAs", "CC"
    display_names: list[str] | None = None  # how formulas print each variable (a table's headers); None: names
    tasks: np.ndarray | None = None  # multi-task: the task of each sample (int32, indices into task_names); None: one task
    task_names: list[str] | None = None  # multi-task: task names, in task order

    @property
    def n_variables(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.matrix.shape[1])

    def display(self, variables: Sequence[str] | None = None) -> list[str]:
        """The names formulas print for the (given) variables: a header that is not a plain name is bracketed."""
        variables = list(self.names) if variables is None else list(variables)
        if self.display_names is None:
            return variables
        shown = {n: d if d == n else f"[{d}]" for n, d in zip(self.names, self.display_names)}
        return [shown.get(v, v) for v in variables]

    def rows(self, variables: Sequence[str]) -> np.ndarray:
        """The rows of the named variables, in that order (variables x samples)."""
        return np.ascontiguousarray(self.matrix[[self.names.index(v) for v in variables]])

    def subset(self, samples: np.ndarray) -> "Primaries":
        """The same variables over some samples only (e.g. the training part of a fold)."""
        return replace(self, matrix=np.ascontiguousarray(self.matrix[:, samples]),
                       target=np.ascontiguousarray(self.target[samples]), labels=[self.labels[i] for i in samples],
                       tasks=None if self.tasks is None else np.ascontiguousarray(self.tasks[samples]))

    def to_frame(self) -> pd.DataFrame:
        """The variables as a samples x variables DataFrame indexed by label (plus the target)."""
        frame = pd.DataFrame(self.matrix.T, columns=list(self.names), index=list(self.labels))
        frame.index.name = "compound"
        frame[self.target_name] = self.target
        return frame

    def __repr__(self) -> str:
        return (
            f"Primaries({self.n_variables} variables x {self.n_samples} samples, "
            f"target={self.target_name!r}, classes={self.class_names!r})"
        )


def _chosen_properties(dataset: Dataset, properties: Sequence[str] | str | None) -> list[str]:
    available = dataset.properties
    if properties is None:
        chosen = list(available)
    elif isinstance(properties, str):
        chosen = [properties]
    else:
        try:
            chosen = list(properties)
        except TypeError:
            raise InputError(
                f"properties must be a list of property names, got {type(properties).__name__}"
            ) from None
    if not chosen:
        raise InputError(
            "no properties chosen: give at least one atomic property "
            f"(available: {short_list(available) or 'none'})"
        )
    columns = [str(c) for c in dataset.atoms.columns]
    seen: set[str] = set()
    for prop in chosen:
        if not isinstance(prop, str):
            raise InputError(f"property names must be strings, got {prop!r}")
        if prop in seen:
            raise InputError(f"property {prop!r} is chosen twice")
        seen.add(prop)
        if prop not in columns:
            raise InputError(f"unknown property {prop!r} (available: {short_list(available)})")
    return chosen


def build_primaries(dataset: Dataset, properties: Sequence[str] | None = None) -> Primaries:
    """The primary matrix of ``dataset`` for the chosen atomic properties.

    ``properties=None`` uses ``dataset.properties``. Raises :class:`InputError`
    (one line) for an unknown or non-numeric property, an element missing from
    the atomic table, a NaN/inf value of a used element, or a bad target value.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"build_primaries needs a Dataset, got {type(dataset).__name__}")
    compounds, atoms = dataset.compounds, dataset.atoms
    if len(compounds) == 0:
        raise InputError("the dataset has no compounds")
    for site in SITES:
        if site not in compounds.columns:
            raise InputError(
                "formulasearch searches binary AB compounds: the compounds table needs columns 'A' and 'B'"
            )
    if not atoms.index.is_unique:
        dup = atoms.index[atoms.index.duplicated()][0]
        raise InputError(f"the atomic table lists element {dup!r} more than once")

    chosen = _chosen_properties(dataset, properties)
    classes = check_classes(dataset.classes, atoms.columns)

    # Order: dataset classes first (members restricted to the chosen ones), then
    # each unclassified chosen property as a class of its own.
    chosen_set = set(chosen)
    groups: list[tuple[str, list[str]]] = []
    for cname, members in classes.items():
        used = [p for p in members if p in chosen_set]
        if used:
            groups.append((cname, used))
    classified = {p for members in classes.values() for p in members}
    taken = {name for name, _ in groups} | set(classes)
    for prop in chosen:
        if prop not in classified:
            cname = prop if prop not in taken else f"{prop} (own class)"
            taken.add(cname)
            groups.append((cname, [prop]))

    labels = [f"{a}{b}" for a, b in zip(compounds["A"].astype(str), compounds["B"].astype(str))]
    site_symbols = {site: compounds[site].astype(str) for site in SITES}
    check_elements(
        pd.DataFrame({site: site_symbols[site] for site in SITES}), atoms.index.astype(str)
    )
    symbols = atoms.index.astype(str)
    rows = {site: symbols.get_indexer(site_symbols[site]) for site in SITES}

    matrix_rows: list[np.ndarray] = []
    names: list[str] = []
    units: list[str] = []
    class_indices: list[list[int]] = []
    for _, members in groups:
        indices: list[int] = []
        for prop in members:
            values = numeric_column(atoms, prop)
            for site in SITES:
                column = values[rows[site]]
                bad = ~np.isfinite(column)
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    element = site_symbols[site].iloc[i]
                    raise InputError(
                        f"element {element!r} has no finite value of property {prop!r} "
                        f"({column[i]}) but {compound_ref(labels[i], i)} uses it"
                    )
                indices.append(len(names))
                names.append(f"{prop}_{site}")
                units.append(dataset.units.get(prop, ""))
                matrix_rows.append(column)
        class_indices.append(indices)

    target_name = dataset.target
    if target_name not in compounds.columns:
        raise InputError(f"the compounds table has no target column {target_name!r}")
    target, bad = coerce_numeric(compounds[target_name])
    bad |= ~np.isfinite(target)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"target {target_name!r} must be a finite number for every compound: "
            f"{compound_ref(labels[i], i)} has {compounds[target_name].iloc[i]!r}"
        )

    matrix = np.ascontiguousarray(np.vstack(matrix_rows), dtype=np.float64)
    return Primaries(
        matrix=matrix,
        names=names,
        classes=class_indices,
        class_names=[name for name, _ in groups],
        units=units,
        target=np.array(target, dtype=np.float64, order="C"),  # a writable copy
        target_name=target_name,
        labels=labels,
    )


def default_classes(features: Sequence[str], units: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    """Classes for the paper generator, which adds and subtracts only inside a class.

    A composition feature ``P_<statistic>`` joins the class of its elemental
    property ``P`` (``X_mean``, ``X_diff`` -> class ``X``); any other feature
    with a unit joins the class of that unit (``mean_nn_distance`` and a
    data field in angstrom -> class ``angstrom``); a unitless one is a class
    of its own. Classes are in order of their first member.
    """
    units = units or {}
    classes: dict[str, list[str]] = {}
    for name in features:
        try:
            key = parse_name(name)[0] or name  # n_elements: a class of its own
        except InputError:
            unit = (units.get(name) or "").strip()
            key = f"[{unit}]" if unit else name
        classes.setdefault(key, []).append(name)
    return classes


def drop_incomplete(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """The rows with a finite value in every one of `columns`, and how many were dropped."""
    values = frame[list(columns)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    complete = np.isfinite(values).all(axis=1)
    return frame.loc[complete].reset_index(drop=True), int((~complete).sum())


def primaries_from_table(
    frame: pd.DataFrame,
    features: Sequence[str],
    target: str,
    classes: Mapping[str, Sequence[str]] | None = None,
    units: Mapping[str, str] | None = None,
    labels: str | Sequence[str] | None = "formula",
    headers: Mapping[str, str] | None = None,
) -> Primaries:
    """Primary variables from the columns of a samples table (one row per sample).

    `features`: the columns that become variables; `target`: the target column.
    `classes`: {class name: [feature, ...]} covering every feature once
    (default: :func:`default_classes`). `units`: {column: unit} (missing: "").
    `labels`: a column naming the samples (default ``formula``; when a label
    repeats, the ``id`` column is appended to every label if there is one),
    a list of labels, or None (row numbers). `headers`: {column: how formulas
    print it} for columns whose header is not a plain name.

    Raises InputError (one line) for a missing or non-numeric column or a
    NaN/inf value, naming the sample: drop incomplete rows first with
    :func:`drop_incomplete` if that is what you want.
    """
    features = list(features)
    if not features:
        raise InputError("no features chosen: give at least one column as a primary variable")
    if len(frame) == 0:
        raise InputError("the samples table has no rows")
    for name in [*features, target]:
        if name not in frame.columns:
            raise InputError(f"the samples table has no column {name!r} (columns: {short_list(frame.columns)})")
    repeated = [n for i, n in enumerate(features) if n in features[:i]]
    if repeated:
        raise InputError(f"feature {repeated[0]!r} is chosen twice")
    if target in features:
        raise InputError(f"the target {target!r} cannot also be a feature")
    units = dict(units or {})
    groups = default_classes(features, units) if classes is None else {k: list(v) for k, v in classes.items()}
    members = [n for group in groups.values() for n in group]
    unknown = [n for n in members if n not in features]
    if unknown:
        raise InputError(f"class member {unknown[0]!r} is not a chosen feature (features: {short_list(features)})")
    if sorted(members) != sorted(features):
        left = [n for n in features if n not in members] or [n for n in members if members.count(n) > 1]
        raise InputError(f"every feature must be in exactly one class: {left[0]!r} is "
                         f"{'in none' if left[0] not in members else 'in several'}")

    label_list = _table_labels(frame, labels)
    order = members  # class order, then member order
    rows = []
    for name in [*order, target]:
        values, bad = coerce_numeric(frame[name])
        bad |= ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"column {name!r} must be a finite number for every sample: "
                             f"sample {label_list[i]!r} (row {i + 1}) has {'NaN' if is_missing(frame[name].iloc[i]) else cell_text(frame[name].iloc[i])}")
        rows.append(np.asarray(values, dtype=np.float64))
    index = {name: i for i, name in enumerate(order)}
    return Primaries(
        matrix=np.ascontiguousarray(np.vstack(rows[:-1])),
        names=order,
        classes=[[index[n] for n in group] for group in groups.values()],
        class_names=list(groups),
        units=[units.get(n, "") or "" for n in order],
        target=np.array(rows[-1], dtype=np.float64, order="C"),
        target_name=target,
        labels=label_list,
        display_names=[(headers or {}).get(n, n) for n in order] if headers else None,
    )


def _table_labels(frame: pd.DataFrame, labels: str | Sequence[str] | None) -> list[str]:
    if labels is None:
        return [str(i) for i in range(len(frame))]
    if isinstance(labels, str):
        if labels not in frame.columns:
            raise InputError(f"the samples table has no label column {labels!r}")
        out = [str(v) for v in frame[labels]]
        if len(set(out)) < len(out) and "id" in frame.columns and labels != "id":
            out = [f"{label} {ident}" for label, ident in zip(out, frame["id"].astype(str))]
        return out
    out = [str(v) for v in labels]
    if len(out) != len(frame):
        raise InputError(f"{len(out)} labels for {len(frame)} samples")
    return out


def with_tasks(prim: Primaries, tasks: Sequence) -> Primaries:
    """The same samples split into tasks (multi-task SISSO): one task name (or label) per sample; tasks are
    numbered in order of first appearance."""
    names = [str(t).strip() for t in tasks]
    if len(names) != prim.n_samples:
        raise InputError(f"{len(names)} task labels for {prim.n_samples} samples: give one task per sample")
    order = list(dict.fromkeys(names))
    code = {name: k for k, name in enumerate(order)}
    return replace(prim, tasks=np.array([code[n] for n in names], dtype=np.int32), task_names=order)
