"""Reading pymatgen computed entries from JSON files: layouts, compression, folders, filters, fields,
streaming and errors. The entries are made here with pymatgen."""
import json
import math
import tracemalloc
import weakref

import numpy as np
import pytest

from entry_fixtures import BINARIES, TERNARIES, make_entries, write_entries
from formulasearch.data import entries as entries_module
from formulasearch.data.entries import EntryFilter, entry_files, iter_entry_dicts, load_entries
from formulasearch.errors import InputError


@pytest.fixture(scope="module")
def entries():
    return make_entries()


@pytest.mark.parametrize("name,layout", [("a.json", "list"), ("a.json.gz", "list"), ("a.json.bz2", "container"),
                                         ("a.json.xz", "container"), ("a.jsonl", "lines"), ("a.jsonl.bz2", "lines")])
def test_every_layout_and_compression_reads_every_entry(tmp_path, entries, name, layout):
    path = write_entries(tmp_path / name, entries, layout)
    table = load_entries(path)
    assert table.n_read == len(entries) == table.n_kept
    frame = table.frame
    assert list(frame["id"]) == [e.data["mat_id"] for e in entries]  # no entry_id: Alexandria's mat_id
    assert list(frame["formula"]) == [e.composition.reduced_formula for e in entries]
    assert list(frame["n_sites"]) == [len(e.structure) for e in entries]
    assert np.allclose(frame["energy_per_atom"], [e.energy / len(e.structure) for e in entries], rtol=1e-14)
    assert np.array_equal(frame["e_form"], [e.data["e_form"] for e in entries])
    assert np.array_equal(frame["band_gap"], [e.data["band_gap_ind"] for e in entries])  # alias of band_gap
    assert isinstance(frame["e_form"].iloc[0], float)  # ijson's Decimals are converted


def test_single_entry_file_and_a_folder_in_sorted_order(tmp_path, entries):
    folder = tmp_path / "db"
    folder.mkdir()
    write_entries(folder / "b.json.bz2", entries[5:], "container")
    write_entries(folder / "a.json", entries[1:5], "list")
    write_entries(folder / "0.jsonl.gz", entries[:1], "single")
    (folder / "README.txt").write_text("not an entry file")
    assert [p.name for p in entry_files(folder)] == ["0.jsonl.gz", "a.json", "b.json.bz2"]
    table = load_entries(folder)
    assert list(table.frame["id"]) == [e.data["mat_id"] for e in entries] and len(table.files) == 3


def test_computed_entries_without_structure(tmp_path):
    from pymatgen.entries.computed_entries import ComputedEntry

    plain = [ComputedEntry("Ga2As2", -20.0, entry_id="e1", data={"e_form": -0.4}),
             ComputedEntry("SrTiO3", -40.0, correction=-1.0, entry_id="e2")]
    path = write_entries(tmp_path / "plain.json", plain)
    table = load_entries(path, composition_features=["X_mean"])
    assert list(table.frame["id"]) == ["e1", "e2"] and list(table.frame["n_sites"]) == [4, 5]
    assert table.frame["energy_per_atom"].tolist() == pytest.approx([-5.0, -41.0 / 5])
    assert math.isnan(table.frame["e_form"].iloc[1])
    with pytest.raises(InputError, match="no entry .* passes the filter .*2 by no_structure"):
        load_entries(path, structure_features=["density"])


def test_filters_select_and_count_reasons(tmp_path, entries):
    path = write_entries(tmp_path / "all.json.bz2", entries, "container")
    n_bin, n_ter = len(BINARIES), len(TERNARIES)
    binaries = load_entries(path, EntryFilter(n_elements=2))
    assert binaries.n_kept == n_bin and binaries.rejected == {"n_elements": n_ter}
    assert load_entries(path, {"n_elements": 3}).n_kept == n_ter
    assert set(load_entries(path, EntryFilter(chemsys="O-Zn")).frame["formula"]) == {"ZnO"}
    assert set(load_entries(path, EntryFilter(chemsys=["Ti", "Sr", "O"])).frame["formula"]) == {"SrTiO3"}
    with_ti = load_entries(path, EntryFilter(elements=["Ti"]))
    assert with_ti.n_kept == 3 and with_ti.rejected == {"elements": len(entries) - 3}
    no_o = load_entries(path, EntryFilter(exclude=["O"]))
    expected = sum("O" not in {el.symbol for el in e.composition.elements} for e in entries)
    assert no_o.n_kept == expected
    sites = [len(e.structure) for e in entries]
    assert load_entries(path, EntryFilter(max_sites=4)).n_kept == sum(s <= 4 for s in sites)
    assert load_entries(path, EntryFilter(min_sites=5)).n_kept == sum(s >= 5 for s in sites)
    assert load_entries(path, EntryFilter(n_sites=2)).n_kept == sum(s == 2 for s in sites)
    cubic = load_entries(path, EntryFilter(predicate=lambda e: e.structure.lattice.is_orthogonal and
                                           len(set(e.structure.lattice.abc)) == 1))
    assert cubic.rejected == {"predicate": 4}  # the wurtzites
    both = load_entries(path, EntryFilter(n_elements=2, max_sites=2))
    assert both.rejected == {"n_elements": n_ter, "max_sites": n_bin - sites.count(2)}
    assert "left out" in both.summary() and "n_elements" in both.summary()


def test_data_fields_and_require(tmp_path, entries):
    changed = [e.as_dict() for e in entries[:3]]
    changed[1]["data"].pop("e_above_hull")
    path = write_entries(tmp_path / "f.json", changed)
    table = load_entries(path, fields=["e_above_hull"])
    assert table.frame["e_above_hull"].iloc[0] == entries[0].data["e_above_hull"]
    assert math.isnan(table.frame["e_above_hull"].iloc[1])
    assert load_entries(path, EntryFilter(require=["e_above_hull"])).rejected == {"require": 1}
    with pytest.raises(InputError, match="no kept entry has a numeric data field 'e_hull'.*e_above_hull"):
        load_entries(path, fields=["e_hull"])
    with pytest.raises(InputError, match="clashes"):
        load_entries(path, fields=["e_form"])


def test_features_are_columns_with_units(tmp_path, entries):
    from formulasearch.data.composition_features import CompositionFeaturizer
    from formulasearch.data.structure_features import structure_features

    path = write_entries(tmp_path / "x.json.gz", entries[:4])
    table = load_entries(path, structure_features=["volume_per_atom", "xrd_peak1"],
                         composition_features=["X_mean", "atomic_radius_diff"], keep_structures=True)
    for i, e in enumerate(entries[:4]):
        direct = structure_features(e.structure, ["volume_per_atom", "xrd_peak1"])
        direct.update(CompositionFeaturizer(["X_mean", "atomic_radius_diff"])(e.composition))
        for name, value in direct.items():
            assert table.frame[name].iloc[i] == pytest.approx(value, rel=1e-12)
        assert table.structures[i] == e.structure
    assert table.units["volume_per_atom"] == "angstrom^3" and table.units["atomic_radius_diff"] == "angstrom"
    assert table.units["e_form"] == "eV" and table.units["X_mean"] == ""


def test_reader_is_streaming(tmp_path, entries, monkeypatch):
    """Entries are parsed and built one at a time: the first is handed out before a broken tail is
    reached, at most one pymatgen entry is alive at a time, and memory does not grow with entries read."""
    path = tmp_path / "broken.json"
    good = json.dumps(entries[0].as_dict())
    path.write_text("[" + good + ", " + good + ", {\"energy\": [[[")
    reader = iter_entry_dicts(path)
    assert next(reader)[1]["data"]["mat_id"] == entries[0].data["mat_id"]
    with pytest.raises(InputError, match="cannot read JSON"):
        list(reader)

    alive, most_alive = weakref.WeakSet(), [0]
    build = entries_module._build_entry

    def tracked(where, item):
        entry = build(where, item)
        most_alive[0] = max(most_alive[0], len(alive))
        alive.add(entry)
        return entry

    monkeypatch.setattr(entries_module, "_build_entry", tracked)
    peaks, sizes = [], []
    for n in (300, 3000):
        many = write_entries(tmp_path / f"many{n}.jsonl", [entries[i % len(entries)] for i in range(n)], "lines")
        load_entries(many, EntryFilter(chemsys="Sr-Ti-O"))  # warm up imports and caches
        tracemalloc.start()
        table = load_entries(many, EntryFilter(chemsys="Sr-Ti-O"))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        sizes.append(many.stat().st_size)
        assert table.n_read == n and table.n_kept == n // len(entries) + (n % len(entries) > 20)
    assert most_alive[0] <= 1
    # ten times the entries (and the bytes): the peak grows by far less than the extra bytes read
    assert peaks[1] - peaks[0] < (sizes[1] - sizes[0]) / 20, (peaks, sizes)
    assert peaks[1] < sizes[1] / 2, (peaks, sizes)


def test_progress_reports_entries_read(tmp_path, entries):
    path = write_entries(tmp_path / "p.json", entries)
    calls = []
    load_entries(path, progress=lambda stage, done, total: calls.append((stage, done, total)), progress_every=10)
    assert calls[0] == ("reading entries", 10, 0) and calls[-1] == ("reading entries", len(entries), len(entries))


def test_errors_are_one_line_and_name_the_culprit(tmp_path, entries):
    with pytest.raises(InputError, match="not found"):
        load_entries(tmp_path / "missing.json.bz2")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no entry files"):
        load_entries(empty)
    not_entries = tmp_path / "n.json"
    not_entries.write_text(json.dumps([{"name": "GaAs", "gap": 1.4}]))
    with pytest.raises(InputError, match=r"n.json#0 is not a pymatgen computed entry") as info:
        load_entries(not_entries)
    assert "\n" not in str(info.value)
    bad = tmp_path / "bad.json"
    bad.write_text("[{\"energy\": 1, \"composition\": {\"Ga\": 1}, ")
    with pytest.raises(InputError, match="bad.json: cannot read JSON"):
        load_entries(bad)
    path = write_entries(tmp_path / "ok.json", entries[:2])
    with pytest.raises(InputError, match="no entry .* passes the filter .*2 by n_elements"):
        load_entries(path, EntryFilter(n_elements=4))
    with pytest.raises(InputError, match="unknown entry filter 'max_site'"):
        load_entries(path, {"max_site": 4})
    with pytest.raises(InputError, match="unknown structure feature"):
        load_entries(path, structure_features=["volume"])


def _is_cubic(entry):
    """A module-level predicate: picklable, so it can go to worker processes."""
    return len(set(round(x, 6) for x in entry.structure.lattice.abc)) == 1


def test_workers_give_the_serial_table_exactly(tmp_path, entries):
    """Chunks featurised by worker processes and collected in order: same rows, values, ids and counts."""
    from pandas.testing import assert_frame_equal

    no_o = [e for e in entries if "O" not in {el.symbol for el in e.composition.elements}]
    many = [entries[i % len(entries)] for i in range(60)] + no_o  # chunks of 7: many chunks, a short last one
    path = write_entries(tmp_path / "w.json.bz2", many, "container")
    kwargs = dict(filter=EntryFilter(exclude=["O"], predicate=_is_cubic), fields=["e_above_hull"],
                  structure_features=["volume_per_atom", "spacegroup_number", "xrd_peak1", "xrd_peak3"],
                  composition_features=["X_mean", "atomic_radius_diff"], keep_structures=True,
                  structure_options={"xrd_two_theta_range": 40})  # a short pattern: some cells lack 3 peaks
    calls = {1: [], 2: []}
    serial = load_entries(path, **kwargs, workers=1, progress_every=10,
                          progress=lambda *a: calls[1].append(a))
    parallel = load_entries(path, **kwargs, workers=2, chunk_entries=7, progress_every=10,
                            progress=lambda *a: calls[2].append(a))
    assert_frame_equal(parallel.frame, serial.frame, check_exact=True)
    assert set(serial.rejected) == {"exclude", "predicate"}  # the test covers both kinds of rejection
    assert (parallel.n_read, parallel.rejected, parallel.feature_failures) == \
        (serial.n_read, serial.rejected, serial.feature_failures)
    assert list(parallel.rejected) == list(serial.rejected)  # same order of reasons too
    assert serial.feature_failures  # the cells with fewer than 3 peaks below 40 deg are counted
    assert parallel.structures == serial.structures and len(serial.structures) == serial.n_kept
    assert calls[2] == calls[1] and calls[1][-1] == ("reading entries", len(many), len(many))
    assert_frame_equal(load_entries(path, **kwargs, workers=0).frame, serial.frame, check_exact=True)


def test_workers_report_a_bad_entry_as_serial_does(tmp_path, entries):
    dicts = [e.as_dict() for e in entries] * 3
    dicts[40] = {"energy": 1.0, "composition": {"Ga": 1, "As": 1}, "structure": {"sites": "not a list"}}
    path = write_entries(tmp_path / "bad.json", dicts)
    messages = []
    for workers in (1, 2):
        with pytest.raises(InputError) as info:
            load_entries(path, structure_features=["density"], workers=workers, chunk_entries=5)
        messages.append(str(info.value))
        assert info.value.__cause__ is None and "\n" not in messages[-1]
    assert messages[0] == messages[1] and "bad.json#40" in messages[0]
    not_entry = [e.as_dict() for e in entries[:9]] + [{"name": "GaAs"}] + [e.as_dict() for e in entries]
    path = write_entries(tmp_path / "n.json", not_entry)
    with pytest.raises(InputError, match=r"^n.json#9 is not a pymatgen computed entry"):
        load_entries(path, workers=2, chunk_entries=4)
    with pytest.raises(InputError, match="predicate .* must be picklable"):
        load_entries(path, EntryFilter(predicate=lambda e: True), workers=2)
    with pytest.raises(InputError, match="workers must be an integer >= 0"):
        load_entries(path, workers=-1)
