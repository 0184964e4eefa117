#!/usr/bin/env python3
"""Benchmark: reading pymatgen ComputedStructureEntries from a JSON.bz2 with formulasearch.data.entries.

Writes a synthetic file of N entries (rocksalt, zincblende, CsCl and perovskite cells with
random elements, lattice constants and energies, so the file does not compress unrealistically
well), then times load_entries without features, with composition features and with each group of
structure features (one process, one core; best of a few runs), then the space group and XRD features
with load_entries(workers=...) for each count of --workers, with the speedup over the first. Entries per second is the
throughput; for Alexandria's ~4.5 million entries divide by it. Every structure differs (random
lattice constants): pymatgen caches symmetry results by cell, so a file of repeated structures
would time spacegroup_number far too fast.

    python bench/entries_loader.py [--n 10000] [--workers 1,2] [--output report.md]
"""
from __future__ import annotations

import argparse
import bz2
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import best_of, cpu_model, log, peak_rss_mb, write_report  # noqa: E402

CATIONS = ["Li", "Na", "K", "Mg", "Ca", "Sr", "Zn", "Cd", "Ga", "Al", "In"]
ANIONS = ["F", "Cl", "Br", "O", "S", "Se", "N", "P", "As"]


def synthetic_entries(n: int, seed: int = 0):
    from pymatgen.core import Lattice, Structure
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    rng = np.random.default_rng(seed)
    for i in range(n):
        a, b = str(rng.choice(CATIONS)), str(rng.choice(ANIONS))
        kind, lattice = i % 4, float(rng.uniform(3.5, 6.5))
        if kind == 0:
            s = Structure.from_spacegroup("Fm-3m", Lattice.cubic(lattice), [a, b], [[0, 0, 0], [0.5, 0.5, 0.5]])
        elif kind == 1:
            s = Structure.from_spacegroup("F-43m", Lattice.cubic(lattice), [a, b], [[0, 0, 0], [0.25, 0.25, 0.25]])
        elif kind == 2:
            s = Structure(Lattice.cubic(lattice * 0.7), [a, b], [[0, 0, 0], [0.5, 0.5, 0.5]])
        else:
            s = Structure(Lattice.cubic(lattice * 0.75), [a, "Ti", "O", "O", "O"],
                          [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
        data = {"e_form": float(rng.normal(-1, 0.5)), "band_gap_ind": float(rng.uniform(0, 5)),
                "mat_id": f"agm{i:09d}"}
        yield ComputedStructureEntry(s, float(rng.normal(-4, 1)) * len(s), data=data).as_dict()


def with_cpu_seconds(record: list, fn):
    """fn(), appending (CPU seconds of this process, of its finished child processes) during it to `record`."""
    import resource

    def cpu(who):
        usage = resource.getrusage(who)
        return usage.ru_utime + usage.ru_stime

    before = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
    out = fn()  # the pool is shut down inside: its workers are reaped and counted as children
    record.append((cpu(resource.RUSAGE_SELF) - before[0], cpu(resource.RUSAGE_CHILDREN) - before[1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="entries in the file (default 10000)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--output", help="also write the Markdown report here")
    parser.add_argument("--workers", type=lambda text: [int(w) for w in text.split(",")], default=[1, 2],
                        help="worker process counts of the parallel rows, the first the reference (default 1,2)")
    args = parser.parse_args()
    from formulasearch.data.entries import load_entries
    from formulasearch.data.structure_features import FEATURES

    folder = tempfile.mkdtemp(prefix="fs_entries_bench_")
    path = os.path.join(folder, "entries.json.bz2")
    log(f"writing {args.n:,} entries to {path}")
    with bz2.open(path, "wt") as fh:  # written one entry at a time: the writer is streaming too
        fh.write('{"entries": [')
        for i, d in enumerate(synthetic_entries(args.n)):
            fh.write(("," if i else "") + json.dumps(d))
        fh.write("]}")
    composition = ["X_mean", "X_diff", "atomic_radius_mean", "atomic_radius_diff"]
    runs = [
        ("no features", {}),
        ("filter n_elements = 3 (3/4 rejected before building)", {"filter": {"n_elements": 3}}),
        ("4 composition features", {"composition_features": composition}),
        ("volume_per_atom, density, packing_fraction", {"structure_features": ["volume_per_atom", "density",
                                                                             "packing_fraction"]}),
        ("mean_nn_distance, mean_coordination", {"structure_features": ["mean_nn_distance", "mean_coordination"]}),
        ("spacegroup_number, crystal_system", {"structure_features": ["spacegroup_number", "crystal_system"]}),
        ("5 XRD features (one pattern)", {"structure_features": [n for n in FEATURES if n.startswith("xrd")]}),
        ("all 12 structure + 4 composition features", {"structure_features": list(FEATURES),
                                                       "composition_features": composition}),
    ]
    load_entries(path, {"n_sites": 2, "chemsys": "Na-Cl"}, structure_features=list(FEATURES),
                 composition_features=composition)  # imports and caches, not timed
    lines = [f"# formulasearch.data.entries.load_entries: {args.n:,} entries, JSON.bz2 "
             f"({os.path.getsize(path) / 1e6:.1f} MB)", "",
             f"CPU: {cpu_model()}; one process. Load average at start: {os.getloadavg()[0]:.1f}.", "",
             "| features | seconds | entries/s |", "|---|---:|---:|"]
    for label, kw in runs:
        log(label)
        timed = best_of(lambda: load_entries(path, **kw), args.reps, budget_s=120)
        lines.append(f"| {label} | {timed.best:.2f} ({timed.label}) | {args.n / timed.best:,.0f} |")
        log(lines[-1])  # each row as soon as it is measured
    lines += ["", f"Parallel featurisation (`workers`; this machine has {os.cpu_count()} cores; the speedup is "
              "measured in this run against workers = 1):", "",
              "| features | workers | seconds | entries/s | speedup | CPU s: this process | CPU s: workers |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for label, kw in [runs[5], runs[6]]:  # the space group and the XRD pattern: the slow features
        serial_s = None
        for workers in args.workers:
            log(f"{label}, workers = {workers}")
            cpu: list[tuple[float, float]] = []
            timed = best_of(lambda: with_cpu_seconds(cpu, lambda: load_entries(path, **kw, workers=workers)),
                            args.reps, budget_s=120)
            main_cpu, worker_cpu = cpu[timed.runs.index(timed.best)]
            serial_s = serial_s or timed.best  # the first count listed is the reference
            lines.append(f"| {label} | {workers} | {timed.best:.2f} ({timed.label}) | {args.n / timed.best:,.0f} | "
                         f"{serial_s / timed.best:.2f}x | {main_cpu:.2f} | {worker_cpu:.2f} |")
            log(lines[-1])
    lines += ["", "CPU seconds tell the work from the wall time: on a shared machine the workers' CPU time "
              "can be spread over fewer free cores than workers."]
    lines += ["", f"peak RSS {peak_rss_mb():.0f} MB (this process; worker processes not included)"]
    write_report(lines, args.output)


if __name__ == "__main__":
    main()
