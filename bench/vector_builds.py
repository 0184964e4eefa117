#!/usr/bin/env python3
"""Benchmark: the same jobs on differently built cores (instruction sets, compiler flags).

The kernels are written on 8-wide double vectors. With AVX-512 each is one register; on CPUs
without it (AVX2 only: AMD Zen 2 and 3, Intel before Skylake-SP) the compiler splits them, and
how well it does so decides the speed there. This script loads each given build of
``formulasearch._core`` in its own process, runs the same jobs with it, and prints one table
of the stage times and their ratios to the first build, all measured in this run.

Jobs (each the best of --reps runs; nested CV only where named):

* default job: paper generation 1, dims 1-3 (top_2d 5000, top_3d 1000): the 2D and 3D stages,
  and nested CV in one sweep;
* SISSO l0 3D: the rung-3 SISSO job of bench/nested_cv.py with n_sis 400 (1,200 features,
  287 M triples, no pair limit), nested CV off: the 3D stage;
* classification, logistic: the octet compounds' rocksalt / zincblende label, generation 1,
  max_dim 2, top_2d 2000, nested CV off: the 2D stage.

Build an AVX2-only core next to the native one, on the same machine (the same hardware, only
the instructions differ), for example:

    cmake -G Ninja -S . -B build-avx2 -DCMAKE_BUILD_TYPE=Release -DFORMULASEARCH_NATIVE=OFF \\
          -DCMAKE_CXX_FLAGS="-march=native -mno-avx512f" -DPython_EXECUTABLE=$(which python)
    ninja -C build-avx2
    python bench/vector_builds.py --core installed --core avx2=build-avx2/_core*.so

``--core installed`` is the core of the installed package. No assertions on time.

    python bench/vector_builds.py --core LABEL=PATH [--core ...] [--reps 3] [--output FILE]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_common, wherever this runs from
from bench_common import cpu_model, fmt_t, log, usable_cpus, write_report  # noqa: E402

JOBS = {
    "default job": ({}, ["2D", "3D", "nested CV"]),
    "SISSO l0 3D (rung 3, n_sis 400)": (
        {"features": {"generator": "sisso", "rung": 3, "max_complexity": 4, "ops": ["+", "|-|", "exp", "^2", "/"],
                      "primaries": [f"{p}_{s}" for p in ("IP", "EA", "rs", "rp", "rd") for s in "AB"]},
         "search": {"max_dim": 3, "n_sis": 400}, "validation": {"nested": False}},
        ["3D"]),
    "classification, logistic (max_dim 2)": (
        {"search": {"task": "classification"},
         "classification": {"score": "logistic", "classes": "sign", "max_dim": 2, "top_2d": 2000, "nested": False}},
        ["2D"]),
}

# Run in a child process: load the core at argv[1] as formulasearch._core before the package
# imports it, then time the jobs; prints one JSON line.
CHILD = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("formulasearch._core", sys.argv[1])
core = importlib.util.module_from_spec(spec)
sys.modules["formulasearch._core"] = core
spec.loader.exec_module(core)
import formulasearch as fs
jobs, reps = json.loads(sys.argv[2]), int(sys.argv[3])
out = {"core": core.__file__}
for name, (cfg, stages) in jobs.items():
    best = {}
    for _ in range(reps):
        t = fs.run(cfg).timings
        for s in stages:
            best[s] = min(best.get(s, float("inf")), t[s])
    out[name] = best
print(json.dumps(out))
"""


def installed_core() -> str:
    import formulasearch._core as core  # the package's own build

    return core.__file__


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--core", action="append", default=[], metavar="LABEL=PATH",
                    help="a build of _core (a path or glob; 'installed': the installed package's); repeatable")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--output")
    args = ap.parse_args()
    cores = []
    for spec in args.core or ["installed"]:
        label, _, path = spec.partition("=")
        if label == "installed" and not path:
            path = installed_core()
        matches = sorted(glob.glob(path))
        if len(matches) != 1:
            sys.exit(f"--core {spec}: {len(matches)} files match {path!r}, need one")
        cores.append((label, matches[0]))
    results = []
    for label, path in cores:
        log(f"{label}: {path}")
        run = subprocess.run([sys.executable, "-c", CHILD, path, json.dumps(JOBS), str(args.reps)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"{label}: the jobs failed:\n{run.stderr[-2000:]}")
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
    base = results[0]
    columns = [label for label, _ in cores] + [f"{label} / {cores[0][0]}" for label, _ in cores[1:]]
    head = "| job | stage | " + " | ".join(columns) + " |"
    lines = [f"# The same jobs on {len(cores)} builds of the core", "",
             f"{cpu_model()}, {usable_cpus()} usable CPUs; best of {args.reps} runs per job and build.", "",
             head, "|" + "---|" * (2 + len(columns))]
    for name, (_, stages) in JOBS.items():
        for s in stages:
            times = [r[name][s] for r in results]
            ratios = [f"{t / base[name][s]:.2f}x" for t in times[1:]]
            lines.append(f"| {name} | {s} | " + " | ".join([fmt_t(t) for t in times] + ratios) + " |")
    lines += ["", "Builds:"] + [f"- {label}: `{path}`" for label, path in cores]
    write_report(lines, args.output)


if __name__ == "__main__":
    main()
