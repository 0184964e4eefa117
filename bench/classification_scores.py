#!/usr/bin/env python3
"""Benchmark: the classification scores of formulasearch (overlap, logistic, accuracy) on this machine.

Data: n samples of p positive primaries (uniform 0.5..2), two classes from a planted boundary
x0 x1 / x2^2 > median with a fraction of the labels flipped (overlapping classes); the SISSO
operator space of the primaries, default ops, rung 2 (built as the SISSO route builds it).

It prints Markdown tables:

1. per score, in one run: the 1D screening of the whole space (candidates/s), the pair search
   over the best `--pool` formulas (pairs/s) and the triple search over the best `--pool3`
   (triples/s; logistic and accuracy), each the best of `--repeats`; their ratios to the
   overlap score; for the logistic score also the same searches fitting every formula set in
   full (prune=False: the slow path) with the speed-up and whether the best models are the same;
2. the acceptance run: formulasearch.run() with [classification] score = "logistic",
   max_dim = 2, top_2d = `--top-2d` on a table of these samples, its stage times (wall), and the
   best classifiers; next to it the same run with score = "accuracy";
3. machine facts, the load average before and after, and the script's runtime.

Timings are wall time on all threads of this (small, shared) machine: read the ratios, which
are measured in the same run. No assertions on time.

    python bench/classification_scores.py [--n 500] [--primaries 6] [--pool 500] [--top-2d 2000]
                                          [--repeats 3] [--output FILE]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import formulasearch as fs  # noqa: E402
from formulasearch import _core  # noqa: E402
from formulasearch.config import DEFAULT_SISSO_OPS  # noqa: E402

from bench_common import best_of, cpu_model, fmt_n, fmt_t, fmt_x, log, usable_cpus, write_report  # noqa: E402

SCORES = ("overlap", "logistic", "accuracy")


def planted_data(n: int, p: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.5, 2.0, size=(p, n))
    f = X[0] * X[1] / X[2] ** 2
    labels = (f > np.median(f)).astype(np.int32)
    flip = rng.random(n) < noise
    labels[flip] = 1 - labels[flip]
    return np.ascontiguousarray(X), labels


def sisso_space(X: np.ndarray, rung: int):
    """The operator space of the rows of X, every rung but the last stored (as search.sisso.build_space)."""
    names = [f"x{i}" for i in range(X.shape[0])]
    space = _core.SissoSpace(X, names, np.zeros((X.shape[0], 8), dtype=np.int32), [DEFAULT_SISSO_OPS] * rung, 0, False)
    target = np.arange(X.shape[1], dtype=float)  # any target: this screening keeps everything
    while space.lazy_rung < space.max_rung:
        scr = _core.screen(space, target, keep=len(space), variance_filter=0.0, max_abs=1e5, min_abs=1e-3)
        space.advance([int(i) for i in scr.indices if i >= space.n_stored])
    return space, names


def load() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def throughput(space, labels: np.ndarray, args) -> list[str]:
    filters = {"variance_filter": 0.0, "max_abs": 1e5, "min_abs": 1e-3}
    rows, base = [], {}
    slow_rows = []
    for score in SCORES:
        log(f"{score}: screening {len(space):,} candidates")
        screen = best_of(lambda: _core.screen_classes(space, labels, score=score, keep=args.pool, **filters),
                         args.repeats)
        scr = screen.result
        pool = space.evaluate(scr.indices)
        log(f"{score}: pairs of {len(pool)}")
        pairs = best_of(lambda: _core.search_class_pairs(pool, labels, score=score, keep=10), args.repeats)
        triples = None
        if score != "overlap":
            log(f"{score}: triples of {args.pool3}")
            triples = best_of(lambda: _core.search_class_triples(pool[: args.pool3], labels, score=score, keep=10),
                              args.repeats)
        rates = {"screen": scr.n_screened / screen.best, "pairs": pairs.result.n_combinations / pairs.best,
                 "triples": triples.result.n_combinations / triples.best if triples else None}
        base.setdefault("screen", rates["screen"]), base.setdefault("pairs", rates["pairs"])
        rows.append(
            f"| {score} | {fmt_t(screen.best)} | {fmt_n(rates['screen'])} ({fmt_x(rates['screen'] / base['screen'])}) | "
            f"{fmt_t(pairs.best)} | {fmt_n(rates['pairs'])} ({fmt_x(rates['pairs'] / base['pairs'])}) | "
            + (f"{fmt_t(triples.best)} | {fmt_n(rates['triples'])} |" if triples else "- | - |"))
        if score == "logistic":  # the slow path: every set fitted in full, same kernel, same result
            log("logistic: the same searches with prune=False")
            s_screen = best_of(lambda: _core.screen_classes(space, labels, score=score, keep=args.pool, prune=False,
                                                            **filters), 1)
            s_pairs = best_of(lambda: _core.search_class_pairs(pool, labels, score=score, keep=10, prune=False), 1)
            s_triples = best_of(lambda: _core.search_class_triples(pool[: args.pool3], labels, score=score, keep=10,
                                                                   prune=False), 1)
            same = (np.array_equal(s_screen.result.indices, scr.indices)
                    and np.array_equal(s_pairs.result.members, pairs.result.members)
                    and np.array_equal(s_pairs.result.value, pairs.result.value)
                    and np.array_equal(s_triples.result.members, triples.result.members))
            slow_rows += [
                f"| screening | {fmt_t(s_screen.best)} | {fmt_t(screen.best)} | {fmt_x(s_screen.best / screen.best)} | - |",
                f"| pairs of {len(pool)} | {fmt_t(s_pairs.best)} | {fmt_t(pairs.best)} | "
                f"{fmt_x(s_pairs.best / pairs.best)} | {fmt_n(pairs.result.n_fitted)} of {fmt_n(pairs.result.n_scored)} |",
                f"| triples of {args.pool3} | {fmt_t(s_triples.best)} | {fmt_t(triples.best)} | "
                f"{fmt_x(s_triples.best / triples.best)} | {fmt_n(triples.result.n_fitted)} of "
                f"{fmt_n(triples.result.n_scored)} |",
                "", f"Same best models (indices, members, losses bit for bit): {'yes' if same else 'NO'}."]
    out = ["## Throughput per score", "",
           f"Screening of the whole space ({len(space):,} candidates), pairs of the best {args.pool}, triples of the "
           f"best {args.pool3}; best of {args.repeats}. In brackets: the rate relative to the overlap score.", "",
           "| score | screening | candidates/s | pairs | pairs/s | triples | triples/s |",
           "|---|---:|---:|---:|---:|---:|---:|", *rows, "",
           "### Logistic: bound and warm starts (fast) against fitting every set in full (prune=False)", "",
           "| search | full | fast | speed-up | fitted to the end |", "|---|---:|---:|---:|---:|", *slow_rows]
    return out


def acceptance(X: np.ndarray, labels: np.ndarray, args) -> list[str]:
    out = ["## The acceptance run: formulasearch.run(), 2D over the top " f"{args.top_2d}", ""]
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "samples.csv"
        frame = pd.DataFrame(X.T, columns=[f"x{i}" for i in range(X.shape[0])])
        frame["label"] = labels
        frame.to_csv(table, index=False)
        rows = []
        for score in ("logistic", "accuracy"):
            cfg = {"data": {"table": str(table), "target": "label"},
                   "features": {"generator": "sisso", "rung": 2},
                   "search": {"task": "classification", "keep": 5},
                   "classification": {"score": score, "classes": "values", "max_dim": 2, "top_2d": args.top_2d}}
            log(f"run(): {score}, top_2d {args.top_2d}")
            started = time.perf_counter()
            r = fs.run(cfg)
            wall = time.perf_counter() - started
            t = r.timings
            b1, b2 = r.best(1).classification, r.best(2).classification
            rows.append(f"| {score} | {fmt_t(wall)} | {fmt_t(t.get('screening'))} | {fmt_t(t.get('2D'))} | "
                        f"{fmt_t(t.get('validation'))} | {b1['accuracy']:.3f} / {b1['cv_accuracy']:.3f} | "
                        f"{b2['accuracy']:.3f} / {b2['cv_accuracy']:.3f} | {' , '.join(r.best(2).formulas)} |")
    out += [f"{X.shape[1]} samples x {X.shape[0]} primaries, SISSO ops {' '.join(DEFAULT_SISSO_OPS)}, rung 2; "
            f"[classification] max_dim = 2, top_2d = {args.top_2d}, cv_folds = 10 (default).", "",
            "| score | run() total | screening | 2D | validation | best 1D acc. / CV | best 2D acc. / CV | best pair |",
            "|---|---:|---:|---:|---:|---:|---:|---|", *rows]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="samples")
    parser.add_argument("--primaries", type=int, default=6)
    parser.add_argument("--noise", type=float, default=0.07, help="fraction of flipped labels")
    parser.add_argument("--pool", type=int, default=500, help="formulas of the pair searches of the throughput table")
    parser.add_argument("--pool3", type=int, default=60, help="formulas of the triple searches")
    parser.add_argument("--top-2d", type=int, default=2000, help="top_2d of the acceptance run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-acceptance", action="store_true")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    started, load_before = time.perf_counter(), load()
    X, labels = planted_data(args.n, args.primaries, args.noise, seed=0)
    log("building the rung-2 space")
    space, _ = sisso_space(X, 2)
    lines = ["# Classification scores", "",
             f"{args.n} samples, {args.primaries} primaries, {args.noise:.0%} labels flipped; SISSO space rung 2: "
             f"{len(space):,} candidates.", ""]
    lines += throughput(space, labels, args)
    if not args.skip_acceptance:
        lines += [""] + acceptance(X, labels, args)
    lines += ["", "## Machine", "",
              f"{cpu_model()}; {usable_cpus()} usable CPUs; {_core.max_threads()} threads; load average "
              f"{load_before} before, {load()} after; formulasearch {fs.__version__}; "
              f"this script took {fmt_t(time.perf_counter() - started)}."]
    write_report(lines, args.output)


if __name__ == "__main__":
    main()
