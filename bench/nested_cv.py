#!/usr/bin/env python3
"""Benchmark: nested CV of the whole search, in one sweep and fold by fold, next to the search itself.

For each job it runs, in this one process and on the same machine state:

* the search alone (nested CV off): the pipeline's search stages (generation, screening, 1D,
  2D, 3D), best of N;
* nested CV in one sweep (``nested_mode = "sweep"``, the default): the "nested CV" stage;
* nested CV fold by fold (``nested_mode = "refit"``, the search rerun on each training part),
  unless --no-refit;

and prints the ratios nested / search measured in this run, and whether both modes chose the
same formulas in every fold. Jobs: the default job (paper generation 1, dims 1-3, top_2d 5000,
top_3d 1000), the exact 2D over every generation-1 formula (top_2d = "all") and issue 13's
rung-3 SISSO job (1.3 M generated features per SIS pass). No assertions on time.

    python3 bench/nested_cv.py [--reps 3] [--no-refit] [--quick] [--only TEXT] [--output FILE]
"""
from __future__ import annotations

import argparse
import os
import sys

import formulasearch as fs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_common, wherever this runs from
from bench_common import cpu_model, log, usable_cpus, write_report  # noqa: E402

SEARCH_STAGES = ("generation", "screening", "1D", "2D", "3D")

JOBS = {
    "default job (generation 1, dims 1-3)": {},
    'exact 2D over all generation-1 formulas (top_2d = "all", dims 1-3)': {"search": {"top_2d": "all"}},
    "SISSO rung 3 (10 primaries, ops + |-| exp ^2 /, max_complexity 4, n_sis 100, dims 1-3)": {
        "features": {"generator": "sisso", "rung": 3, "max_complexity": 4, "ops": ["+", "|-|", "exp", "^2", "/"],
                     "primaries": [f"{p}_{s}" for p in ("IP", "EA", "rs", "rp", "rd") for s in "AB"]},
        "search": {"max_dim": 3, "n_sis": 100}},
}


def config(base: dict, nested: str | None) -> dict:
    cfg = {k: dict(v) for k, v in base.items()}
    cfg.setdefault("validation", {}).update(method="none", nested=nested is not None)
    if nested:
        cfg["validation"]["nested_mode"] = nested
    return cfg


def search_seconds(result: fs.Result) -> float:
    return sum(result.timings.get(stage, 0.0) for stage in SEARCH_STAGES)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="best of this many runs (default 3)")
    ap.add_argument("--no-refit", action="store_true", help="skip the fold-by-fold reference (slow for top_2d = all)")
    ap.add_argument("--quick", action="store_true", help="the default job only")
    ap.add_argument("--only", help="only the jobs whose name contains this text (e.g. SISSO)")
    ap.add_argument("--output", help="also write the report here")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    lines = ["# Nested CV: one sweep vs fold by fold vs the search alone", "",
             f"Machine: {cpu_model()}, {usable_cpus()} usable cores, load average {load:.1f} at the start. "
             f"Each run times its own search stages ({', '.join(SEARCH_STAGES)}) and its nested-CV stage; "
             f"best of {args.reps} runs each.", "",
             "| job | search stages | nested CV, sweep | sweep / search | nested CV, refit | refit / search "
             "| same choices in every fold |", "|---|---:|---:|---:|---:|---:|---|"]
    jobs = list(JOBS.items())[:1] if args.quick else list(JOBS.items())
    if args.only:
        jobs = [(name, base) for name, base in jobs if args.only in name]
    for name, base in jobs:
        search, nested, swept = float("inf"), float("inf"), None
        for rep in range(max(1, args.reps)):
            log(f"{name}: run {rep + 1} with nested CV in one sweep")
            r = fs.run(config(base, "sweep"))
            search, nested = min(search, search_seconds(r)), min(nested, r.timings["nested CV"])
            swept = swept or r
        refit_cell, ratio_cell, same = "not run", "", ""
        if not args.no_refit:
            log(f"{name}: one run with nested CV fold by fold")
            refit = fs.run(config(base, "refit"))
            refit_s = refit.timings["nested CV"]
            refit_cell, ratio_cell = f"{refit_s:.2f} s (1 run)", f"{refit_s / search:.1f}x"
            a, b = refit.validation["nested"]["dimensions"], swept.validation["nested"]["dimensions"]
            same = "yes" if a.keys() == b.keys() and all(a[d]["fold_formulas"] == b[d]["fold_formulas"] for d in a) \
                else "NO"
        lines.append(f"| {name} | {search:.3f} s | {nested:.3f} s | {nested / search:.1f}x "
                     f"| {refit_cell} | {ratio_cell} | {same} |")
    lines += ["", f"Load average at the end: {os.getloadavg()[0]:.1f} (the machine may be shared: compare the ratios "
              "of a row, not times across runs)."]
    write_report(lines, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
