"""Samples from DFT databases: pymatgen computed entries read from JSON, streaming.

Large databases (e.g. Alexandria) are distributed as JSON files of pymatgen
``ComputedStructureEntry`` / ``ComputedEntry`` dicts (``entry.as_dict()``).
:func:`load_entries` reads one file or a folder of them and turns the entries
that pass a filter into a samples table:

    >>> table = load_entries("alexandria_000.json.bz2", EntryFilter(n_elements=2, max_sites=8),
    ...                      structure_features=["volume_per_atom", "xrd_peak1"],
    ...                      composition_features=["X_mean", "X_diff"])
    >>> table.frame.columns   # id, formula, composition, n_sites, n_elements, energy_per_atom,
    ...                       # e_form, band_gap, the data fields asked for, the features

Files: ``.json``, ``.jsonl``, each optionally compressed (``.gz``, ``.bz2``,
``.xz``); a folder: its files with those endings, in sorted order. Layouts: a
top-level list of entries; a dict with an ``"entries"`` list (other keys are
metadata and ignored); one entry; one entry per line (JSON Lines), or several
concatenated JSON documents of these kinds.

Streaming: the file is parsed incrementally (ijson); one entry dict and one
pymatgen entry exist at a time, and what is kept of it is a row of scalars
(and its structure only with ``keep_structures=True``): memory grows with the
kept rows, not with the entries read. The filter is applied to the
composition and site count before the pymatgen entry is built.

Parallel: with ``workers`` > 1 this process still parses the files, and a
process pool filters, builds and featurises chunks of entry dicts, at most two
chunks per worker in flight (memory stays bounded); the chunks' rows and
counts are collected in stream order, so the table is that of one process.

Columns (NaN where an entry has no value; nothing is filled in):

* ``id``: the entry's ``entry_id``, else its ``data["mat_id"]`` (Alexandria),
  else ``<file name>#<index>``;
* ``formula`` (reduced), ``composition`` (of the cell), ``n_sites`` (sites of
  the structure; atoms of the composition for a ComputedEntry), ``n_elements``;
* ``energy_per_atom``: ``entry.energy_per_atom``, eV/atom, corrections included;
* ``e_form``: ``data["e_form"]`` else ``data["formation_energy_per_atom"]``, eV/atom;
* ``band_gap``: ``data["band_gap"]`` else ``data["band_gap_ind"]`` (Alexandria's indirect gap), eV;
* each data field asked for (``fields``), by its name;
* each structure feature (:mod:`formulasearch.structure_features`) and
  composition feature (:mod:`formulasearch.composition_features`) asked for.
"""
from __future__ import annotations

import bz2
import functools
import gzip
import lzma
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from . import composition_features as compfeat
from . import structure_features as structfeat
from ..errors import InputError
from .bounded_pool import ordered_map, worker_count
from .tables import short_list
from .primaries import Primaries, drop_incomplete, primaries_from_table

__all__ = ["EntryFilter", "EntryTable", "load_entries", "entry_primaries", "entry_files", "iter_entry_dicts",
           "COLUMN_UNITS"]

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_JSON_SUFFIXES = (".json", ".jsonl")
_FIELD_ALIASES = {"e_form": ("e_form", "formation_energy_per_atom"), "band_gap": ("band_gap", "band_gap_ind")}
#: Units of the table's own columns (data fields have none unless given).
COLUMN_UNITS = {"energy_per_atom": "eV", "e_form": "eV", "band_gap": "eV", "n_sites": "", "n_elements": ""}
ProgressFn = Callable[[str, int, int], Any]


@dataclass(frozen=True)
class EntryFilter:
    """Which entries become samples. Every criterion given must hold; None: not checked.

    Each rejected entry is counted under the first criterion it fails, in
    the order of the fields below.
    """

    n_elements: int | None = None  #: exactly this many elements (2: binaries)
    chemsys: str | Sequence[str] | None = None  #: exactly these elements, e.g. "Ga-As" or ["Ga", "As"]
    elements: Sequence[str] | None = None  #: at least these elements (others allowed)
    exclude: Sequence[str] | None = None  #: none of these elements
    n_sites: int | None = None  #: exactly this many sites
    min_sites: int | None = None
    max_sites: int | None = None
    require: Sequence[str] | None = None  #: these data fields present and not null, e.g. ["e_form"]
    predicate: Callable[[Any], bool] | None = None  #: any test of the pymatgen entry, applied last

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> "EntryFilter":
        """From a config table such as {n_elements = 2, max_sites = 8}; InputError for an unknown key."""
        raw = dict(raw or {})
        known = [f for f in cls.__dataclass_fields__ if f != "predicate"]
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise InputError(f"unknown entry filter {unknown[0]!r} (known: {', '.join(known)})")
        for key in ("n_elements", "n_sites", "min_sites", "max_sites"):
            if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], int) or raw[key] < 1):
                raise InputError(f"entry filter {key} must be a positive integer, not {raw[key]!r}")
        chemsys = raw.get("chemsys")
        if chemsys is not None and not (isinstance(chemsys, str) or
                                        (isinstance(chemsys, list) and all(isinstance(v, str) for v in chemsys))):
            raise InputError(f"entry filter chemsys must be a string such as \"Ga-As\" or a list of elements, "
                             f"not {chemsys!r}")
        for key in ("elements", "exclude", "require"):
            if key in raw and (not isinstance(raw[key], list) or not all(isinstance(v, str) for v in raw[key])):
                raise InputError(f"entry filter {key} must be a list of names, not {raw[key]!r}")
        return cls(**raw)

    def _chemsys(self) -> frozenset[str] | None:
        if self.chemsys is None:
            return None
        parts = self.chemsys.split("-") if isinstance(self.chemsys, str) else list(self.chemsys)
        return frozenset(p.strip() for p in parts if p.strip())

    def reject_reason(self, symbols: frozenset[str], n_sites: int, data: dict[str, Any]) -> str | None:
        """The first criterion (before building the entry) that fails, or None."""
        chemsys = self._chemsys()
        if self.n_elements is not None and len(symbols) != self.n_elements:
            return "n_elements"
        if chemsys is not None and symbols != chemsys:
            return "chemsys"
        if self.elements is not None and not set(self.elements) <= symbols:
            return "elements"
        if self.exclude is not None and symbols & set(self.exclude):
            return "exclude"
        if self.n_sites is not None and n_sites != self.n_sites:
            return "n_sites"
        if self.min_sites is not None and n_sites < self.min_sites:
            return "min_sites"
        if self.max_sites is not None and n_sites > self.max_sites:
            return "max_sites"
        if self.require is not None and any(data.get(k) is None for k in self.require):
            return "require"
        return None


@dataclass
class EntryTable:
    """The samples read from entry files, and how they were read."""

    frame: pd.DataFrame  #: one row per kept entry (columns: see the module docstring)
    units: dict[str, str]  #: unit of each numeric column that has one ("" unitless)
    source: str  #: the file or folder read
    files: list[str]
    n_read: int  #: entries read
    rejected: dict[str, int]  #: entries left out, by reason (a filter criterion or "no_structure")
    feature_failures: dict[str, int]  #: features that came out NaN, by name
    structures: list[Any] | None = None  #: pymatgen structures of the rows, with keep_structures=True
    seconds: float = 0.0

    @property
    def n_kept(self) -> int:
        return len(self.frame)

    def summary(self) -> str:
        """One line: what was read and what was left out."""
        rejected = ", ".join(f"{n:,} by {why}" for why, n in self.rejected.items()) or "none"
        text = (f"entries: {self.n_read:,} read from {len(self.files)} file(s) of {self.source}, {self.n_kept:,} kept "
                f"(left out: {rejected})")
        if self.feature_failures:
            text += "; NaN features: " + ", ".join(f"{k} x{n:,}" for k, n in self.feature_failures.items())
        return text


def entry_files(path: str | Path) -> list[Path]:
    """The JSON files of `path`: the file itself, or a folder's matching files in sorted order."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"entry file or folder not found: {path}")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and _is_json_name(p.name))
    if not files:
        raise InputError(f"folder {path} has no entry files (*.json or *.jsonl, optionally .gz, .bz2 or .xz)")
    return files


def _is_json_name(name: str) -> bool:
    stem = name
    for suffix in _OPENERS:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return stem.endswith(_JSON_SUFFIXES)


def _open(path: Path):
    return _OPENERS.get(path.suffix, open)(path, "rb")


def _entries_prefix(path: Path) -> str | None:
    """'item' (a list), 'entries.item' (a dict with an entries list) or None (entries as documents)."""
    import ijson

    with _open(path) as fh:
        for prefix, event, value in ijson.parse(fh, multiple_values=True):
            if prefix == "" and event == "start_array":
                return "item"
            if prefix == "entries" and event == "start_array":
                return "entries.item"
            if prefix == "" and event in ("end_map", "string", "number", "boolean", "null"):
                return None  # the first document ended: entries are the documents themselves
    return None


def iter_entry_dicts(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, entry dict) of every entry of a file or folder, one at a time."""
    import ijson

    for file in entry_files(path):
        try:
            prefix = _entries_prefix(file)
            with _open(file) as fh:
                items = ijson.items(fh, prefix or "", multiple_values=True, use_float=True)
                for i, item in enumerate(items):
                    yield f"{file.name}#{i}", item
        except (ijson.JSONError, OSError, EOFError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"{file}: cannot read JSON ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
                             ) from None


def _check_entry(where: str, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or "energy" not in item or not ("composition" in item or "structure" in item):
        keys = short_list(item) if isinstance(item, dict) else type(item).__name__
        raise InputError(f"{where} is not a pymatgen computed entry (needs 'energy' and 'composition' or "
                         f"'structure'; has {keys})")
    return item


def _symbols_and_sites(item: dict[str, Any]) -> tuple[frozenset[str], int]:
    """Elements and number of sites, read from the dict without building the entry."""
    from pymatgen.core import Composition

    sites = item["structure"].get("sites", []) if "structure" in item else None
    if "composition" in item:
        comp = Composition(item["composition"])
        symbols = frozenset(el.symbol for el in comp.elements)
        return symbols, len(sites) if sites is not None else int(round(comp.num_atoms))
    symbols = {Composition(sp["element"]).elements[0].symbol for site in sites for sp in site.get("species", [])}
    return frozenset(symbols), len(sites)


def _build_entry(where: str, item: dict[str, Any]) -> Any:
    from pymatgen.entries.computed_entries import ComputedEntry, ComputedStructureEntry

    try:
        return (ComputedStructureEntry if "structure" in item else ComputedEntry).from_dict(item)
    except Exception as exc:  # noqa: BLE001 -- pymatgen's own error, reported on one line
        raise InputError(f"{where}: pymatgen cannot read this entry ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from None


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _data_value(data: dict[str, Any], name: str) -> float:
    for key in _FIELD_ALIASES.get(name, (name,)):
        if data.get(key) is not None:
            return _number(data[key])
    return math.nan


@dataclass(frozen=True)
class _EntryWork:
    """What is done with each entry dict; picklable, so worker processes receive it with each chunk."""

    entry_filter: EntryFilter
    fields: tuple[str, ...]
    structure_names: tuple[str, ...]
    composition_names: tuple[str, ...]
    structure_options: structfeat.StructureOptions
    keep_structures: bool


@dataclass
class _Tally:
    """Rows and counts of a run of entries (a chunk, or the whole stream); merged in stream order."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    structures: list[Any] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    failures: dict[str, int] = field(default_factory=dict)
    n_entries: int = 0

    def merge(self, other: "_Tally") -> None:
        # keys are added in first-seen order, so merged chunks give the dicts a serial run gives
        self.rows.extend(other.rows)
        self.structures.extend(other.structures)
        self.rejected.update(other.rejected)
        for name, n in other.failures.items():
            self.failures[name] = self.failures.get(name, 0) + n
        self.n_entries += other.n_entries


@functools.lru_cache(maxsize=8)
def _composition_featurizer(names: tuple[str, ...]) -> compfeat.CompositionFeaturizer:
    """One featurizer per process and feature list: its elemental values are read once."""
    return compfeat.CompositionFeaturizer(names)


def _read_entry(work: _EntryWork, where: str, item: Any, tally: _Tally) -> None:
    """Filter one entry dict and add its row (or its rejection) to `tally`: the per-entry work of both paths."""
    tally.n_entries += 1
    item = _check_entry(where, item)
    data = item.get("data") or {}
    symbols, n_sites = _symbols_and_sites(item)
    reason = work.entry_filter.reject_reason(symbols, n_sites, data)
    if reason is None and (work.structure_names or work.keep_structures) and "structure" not in item:
        reason = "no_structure"
    if reason is not None:
        tally.rejected[reason] += 1
        return
    entry = _build_entry(where, item)
    if work.entry_filter.predicate is not None and not work.entry_filter.predicate(entry):
        tally.rejected["predicate"] += 1
        return
    comp = entry.composition
    row: dict[str, Any] = {
        "id": str(entry.entry_id if entry.entry_id is not None else data.get("mat_id", where)),
        "formula": comp.reduced_formula,
        "composition": comp.formula,
        "n_sites": n_sites,
        "n_elements": len(symbols),
        "energy_per_atom": _number(entry.energy_per_atom),
        "e_form": _data_value(data, "e_form"),
        "band_gap": _data_value(data, "band_gap"),
    }
    for name in work.fields:
        row[name] = _data_value(data, name)
    if work.structure_names:
        row.update(structfeat.structure_features(entry.structure, work.structure_names, work.structure_options,
                                                 tally.failures))
    if work.composition_names:
        values = _composition_featurizer(work.composition_names)(comp)
        for name, value in values.items():
            if math.isnan(value):
                tally.failures[name] = tally.failures.get(name, 0) + 1
        row.update(values)
    tally.rows.append(row)
    if work.keep_structures:
        tally.structures.append(entry.structure)


def _read_chunk(work: _EntryWork, chunk: list[tuple[str, Any]]) -> _Tally:
    """The tally of a chunk of (where, entry dict): what a worker process computes."""
    tally = _Tally()
    for where, item in chunk:
        _read_entry(work, where, item, tally)
    return tally


def _chunks(pairs: Iterator[tuple[str, Any]], size: int) -> Iterator[list[tuple[str, Any]]]:
    chunk: list[tuple[str, Any]] = []
    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_picklable(work: _EntryWork, workers: int) -> None:
    import pickle

    try:
        pickle.dumps(work)
    except Exception as exc:  # noqa: BLE001 -- pickle raises several types (PicklingError, AttributeError, ...)
        raise InputError(f"with workers = {workers} the entry filter's predicate is sent to worker processes and "
                         f"must be picklable (a function defined at module level, not a lambda or a nested "
                         f"function); use workers = 1 for this one ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:120] if str(exc) else ''})") from None


def load_entries(
    path: str | Path,
    filter: EntryFilter | dict[str, Any] | None = None,
    fields: Sequence[str] = (),
    structure_features: Sequence[str] = (),
    composition_features: Sequence[str] = (),
    structure_options: structfeat.StructureOptions | dict[str, Any] | None = None,
    keep_structures: bool = False,
    progress: ProgressFn | None = None,
    progress_every: int = 1000,
    workers: int = 1,
    chunk_entries: int = 256,
) -> EntryTable:
    """Read the entries of a file or folder that pass `filter` into a samples table.

    `fields`: extra ``entry.data`` fields to read as numeric columns.
    `progress(stage, entries_done, 0)` is called every `progress_every` entries
    (the total is not known while streaming). Raises InputError (one line) for
    a missing file, a document that is not an entry, a requested data field no
    kept entry has, or when no entry passes the filter.

    `workers` > 1 (0: every core): this process still parses the JSON, and
    worker processes filter, build and featurise chunks of `chunk_entries`
    entry dicts, at most two chunks per worker in flight (memory stays
    bounded). The table is identical to that of ``workers=1``: same rows in the
    same order, same counts, same errors. The filter's `predicate` must then be
    picklable (a module-level function); otherwise this is an InputError.
    """
    import time

    started = time.perf_counter()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise InputError(f"workers must be an integer >= 0 (0: every core), not {workers!r}")
    if isinstance(chunk_entries, bool) or not isinstance(chunk_entries, int) or chunk_entries < 1:
        raise InputError(f"chunk_entries must be a positive integer, not {chunk_entries!r}")
    entry_filter = filter if isinstance(filter, EntryFilter) else EntryFilter.from_dict(filter)
    if not isinstance(structure_options, structfeat.StructureOptions):
        structure_options = structfeat.StructureOptions.from_dict(structure_options)
    fields = list(fields)
    s_names = structfeat.check_features(structure_features)
    c_names = compfeat.check_features(composition_features) if composition_features else []
    reserved = {"id", "formula", "composition", "n_sites", "n_elements", "energy_per_atom", "e_form", "band_gap"}
    clash = [n for n in fields if n in reserved or n in s_names or n in c_names]
    if clash:
        raise InputError(f"data field {clash[0]!r} clashes with a column of the table; it is read already or "
                         "is a feature name")
    files = [str(f) for f in entry_files(path)]
    work = _EntryWork(entry_filter, tuple(fields), tuple(s_names), tuple(c_names), structure_options,
                      keep_structures)
    workers = worker_count(workers)
    if workers > 1:
        _check_picklable(work, workers)

    tally = _Tally()

    def report(before: int, after: int) -> None:
        # one call per multiple of progress_every passed: the same calls whatever the chunking
        if progress is not None:
            for done in range((before // progress_every + 1) * progress_every, after + 1, progress_every):
                progress("reading entries", done, 0)

    if workers <= 1:
        for where, item in iter_entry_dicts(path):
            report(tally.n_entries, tally.n_entries + 1)
            _read_entry(work, where, item, tally)
    else:
        chunks = _chunks(iter_entry_dicts(path), chunk_entries)
        try:
            for part in ordered_map(_read_chunk, work, chunks, workers, in_flight=2 * workers):
                report(tally.n_entries, tally.n_entries + part.n_entries)
                tally.merge(part)
        except InputError as exc:
            raise exc from None  # the worker's traceback is noise: the message names the entry
    n_read = tally.n_entries
    if progress is not None:
        progress("reading entries", n_read, n_read)
    rows, rejected, failures = tally.rows, tally.rejected, tally.failures
    structures = tally.structures if keep_structures else None

    if not rows:
        why = ", ".join(f"{n:,} by {k}" for k, n in rejected.items()) or "none"
        raise InputError(f"no entry of {path} passes the filter ({n_read:,} read; left out: {why})")
    frame = pd.DataFrame(rows)
    for name in fields:
        if frame[name].isna().all():
            raise InputError(f"no kept entry has a numeric data field {name!r} "
                             f"(fields of the first kept entry: {short_list(_first_data_keys(path, entry_filter))})")
    units = dict(COLUMN_UNITS)
    units.update({n: structfeat.FEATURES[n].unit for n in s_names})
    units.update({n: compfeat.feature_unit(n) for n in c_names})
    return EntryTable(frame=frame, units=units, source=str(path), files=files, n_read=n_read,
                      rejected=dict(rejected), feature_failures=failures, structures=structures,
                      seconds=time.perf_counter() - started)


def _first_data_keys(path: str | Path, entry_filter: EntryFilter) -> list[str]:
    """The data keys of the first entry that passes the filter (for an error message)."""
    for _, item in iter_entry_dicts(path):
        data = item.get("data") or {} if isinstance(item, dict) else {}
        symbols, n_sites = _symbols_and_sites(item)
        if entry_filter.reject_reason(symbols, n_sites, data) is None:
            return list(data)
    return []


def entry_primaries(data: Any, classes: Mapping[str, Sequence[str]] | None = None,
                    progress: ProgressFn | None = None, base_dir: str | Path | None = None
                    ) -> tuple[Primaries, list[str]]:
    """The primary variables that ``[data] entries`` settings describe, and what reading them reported.

    `data`: a :class:`formulasearch.config.DataConfig` or its dict (e.g. a
    saved result's ``config["data"]``). The features are ``properties`` when
    given (any numeric columns), else the structure features then the
    composition features. With ``missing = "drop"`` a sample with a NaN
    feature or target is left out and counted in the messages; with
    ``"error"`` the first one is an InputError. A relative ``entries`` path
    that does not exist is also looked for in `base_dir`.
    """
    get = data.get if isinstance(data, Mapping) else lambda key, default=None: getattr(data, key, default)
    source = Path(get("entries"))
    if base_dir is not None and not source.exists() and not source.is_absolute():
        source = Path(base_dir) / source
    target = get("target")
    workers = get("entry_workers")  # absent from results saved before the key existed
    table = load_entries(source, get("entry_filter"), get("fields") or [], get("structure_features") or [],
                         get("composition_features") or [], get("structure_options"), progress=progress,
                         workers=1 if workers is None else workers)
    features = get("properties") or [*(get("structure_features") or []), *(get("composition_features") or [])]
    messages = [table.summary()]
    frame = table.frame
    if (get("missing") or "drop") == "drop":
        frame, dropped = drop_incomplete(frame, [c for c in [*features, target] if c in frame.columns])
        if dropped:
            messages.append(f"{dropped:,} of {table.n_kept:,} entries dropped: a NaN feature or target "
                            "(missing = \"error\" reports the first instead)")
        if len(frame) == 0:
            raise InputError(f"every one of the {table.n_kept:,} kept entries has a NaN feature or target; "
                             f"{table.summary()}")
    return primaries_from_table(frame, features, target, classes, table.units), messages
