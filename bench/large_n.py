#!/usr/bin/env python3
"""Benchmark: the exact pair search at large n (10^4 - 10^5 samples): the cost grows linearly
in n and the memory stays bounded.

It prints Markdown tables:

1. scaling in n: K = 2000 candidates of the paper's generator over synthetic primaries, n =
   10^2 .. 10^5 samples: the pair search's time, its time per (pair x sample) (constant =
   linear in n), GFLOP/s of the Gram step, the same search with the samples summed in one
   pass (the kernel before sample blocking, measured in this run), and BLAS dsyrk (scipy) on
   the same standardised matrix: the upper triangle of Z Z^T alone, without any scoring;
2. the acceptance run: exhaustive 2D over K = 10^4 candidates with n = 10^5 samples, streamed
   within a memory budget (search_pairs_streamed): time, GFLOP/s, pairs, the kernel's peak
   bytes and the process's peak RSS, against the K x n x 8 bytes an in-memory search holds;
   the best pair's r2 is checked against numpy lstsq;
3. machine info and the script's runtime.

Run 2 comes first so that the peak RSS it reports is its own (1 holds K x n matrices).
Short timings are the best of a few repeats: the machine is shared and noisy. No assertions.

    cd /work/main && PYTHONPATH=python python3 bench/large_n.py [--quick] [--budget-mb MB] [--output FILE]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import dsyrk

import formulasearch
from formulasearch import _core, build_primaries
from formulasearch.data.datasets import octet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_common, wherever this runs from
from bench_common import (best_of, blas_name, cpu_model, fmt_n, fmt_t, fmt_x, log, peak_rss_mb,  # noqa: E402
                          python_platform, usable_cpus, write_report)

MAX_PAIR_CORR = 0.9
KEEP = 10


@dataclass(frozen=True)
class Sizes:
    k_scaling: int
    ns: tuple[int, ...]
    k_accept: int
    n_accept: int
    budget_mb: float  # of the streamed run: small enough that it does stream


FULL = Sizes(k_scaling=2000, ns=(100, 1000, 10_000, 100_000), k_accept=10_000, n_accept=100_000, budget_mb=2000)
QUICK = Sizes(k_scaling=1000, ns=(100, 1000, 10_000), k_accept=2000, n_accept=20_000, budget_mb=100)


def synthetic(n: int, k: int, seed: int):
    """The paper's generator (method 1) over the octet's 14 primaries, with n synthetic samples
    (log-normal, each primary keeping its sign), a target planted on two formulas, and a pool of
    k candidates spread over the enumeration."""
    prim = build_primaries(octet())
    rng = np.random.default_rng(seed)
    signs = np.sign(np.median(prim.matrix, axis=1))[:, None]
    M = np.exp(0.3 * rng.standard_normal((prim.matrix.shape[0], n))) * signs
    gen = _core.PaperGenerator(M, prim.names, prim.classes, 1, "paper")
    stride = max(1, len(gen) // (2 * k))
    pool = [i for i in range(0, len(gen), stride) if gen.generated(i)][:k]
    y = M[0] / M[4] - 0.3 * M[1] * M[5] + 0.05 * rng.standard_normal(n)
    return gen, pool, np.ascontiguousarray(y)


def gflops(flops: float, seconds: float) -> str:
    return f"{flops / seconds / 1e9:.1f}" if seconds > 0 else "n/a"


def scaling_in_n(sz: Sizes, reps: int, seed: int) -> list[str]:
    K = sz.k_scaling
    out = [f"## 1. Scaling in n: 2D over K = {K:,} candidates ({fmt_n(K * (K - 1) / 2)} pairs)", "",
           "`pair x sample` = time / (pairs x n): constant when the cost is linear in n. `one pass` is "
           "the same search with every Gram entry summed over all n samples at once (the kernel before "
           "sample blocking); `dsyrk` is BLAS (scipy) on the same standardised K x n matrix: the upper "
           "triangle of Z Z^T only, no scoring. Ratios: their time / the blocked search's time. "
           "`same` = blocked and one-pass results bitwise equal.", "",
           "| n | blocked | ps / (pair x sample) | GFLOP/s | one pass | GFLOP/s | ratio | dsyrk | GFLOP/s "
           "| ratio | same |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
    for n in sz.ns:
        log(f"1. n = {n:,}: evaluating {K:,} candidates ...")
        gen, pool, y = synthetic(n, K, seed)
        Z = gen.evaluate(pool)
        the_set = _core.StandardizedSet(Z, y)
        pairs = K * (K - 1) / 2
        runs = reps if n <= 10_000 else 1

        def search(kc):
            return _core.search_pairs(the_set, max_pair_corr=MAX_PAIR_CORR, keep=KEEP, sample_block=kc)

        blocked, one_pass = best_of(lambda: search(0), runs), best_of(lambda: search(n), runs)
        flops = blocked.result.gram_flops
        same = (blocked.result.members.tolist() == one_pass.result.members.tolist()
                and blocked.result.r2.tolist() == one_pass.result.r2.tolist())
        Z -= Z.mean(axis=1, keepdims=True)  # the BLAS baseline's operand: the same rows standardised,
        Z /= np.linalg.norm(Z, axis=1, keepdims=True)  # in place (K x n is 1.6 GB at n = 1e5)
        Zt = Z.T  # n x K, Fortran order: dsyrk reads it without a copy
        syrk = best_of(lambda: dsyrk(1.0, Zt, trans=1), runs)
        syrk_flops = K * (K + 1) * n
        del Z, Zt, the_set
        t = blocked.best
        out.append(f"| {n:,} | {fmt_t(t)} | {t / (pairs * n) * 1e12:.1f} | {gflops(flops, t)} "
                   f"| {fmt_t(one_pass.best)} | {gflops(flops, one_pass.best)} | {fmt_x(one_pass.best / t)} "
                   f"| {fmt_t(syrk.best)} | {gflops(syrk_flops, syrk.best)} | {fmt_x(syrk.best / t)} "
                   f"| {'OK' if same else 'MISMATCH'} |")
    return out + [""]


def acceptance(sz: Sizes, budget_mb: float, seed: int) -> list[str]:
    K, n = sz.k_accept, sz.n_accept
    log(f"2. exhaustive 2D over K = {K:,}, n = {n:,}, budget {budget_mb:g} MB ...")
    rss_start = peak_rss_mb()
    gen, pool, y = synthetic(n, K, seed)
    rss_before = peak_rss_mb()  # the generator holds the primaries and its parts over n samples
    last = [0.0]

    def progress(stage, done, total):
        if time.perf_counter() - last[0] > 30:
            last[0] = time.perf_counter()
            log(f"   {stage}: {done / total:.0%}")

    t0 = time.perf_counter()
    found = _core.search_pairs_streamed(gen, pool, y, memory_budget_mb=budget_mb, max_pair_corr=MAX_PAIR_CORR,
                                        keep=KEEP, progress=progress)
    wall = time.perf_counter() - t0
    rss = peak_rss_mb()
    block = int(found.block_size)
    n_blocks = -(-K // block)
    builds = n_blocks + (n_blocks - 1) * n_blocks // 2 - (n_blocks - 1)
    log("   timing one block's evaluation ...")
    t_block = best_of(lambda: _core.StandardizedSet.from_candidates(gen, pool[:block], y), 1).best
    best = found.members[0].tolist()
    X = gen.evaluate([pool[i] for i in best])
    A = np.column_stack([np.ones(n), X.T])
    resid = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    r2_numpy = 1.0 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
    ok = abs(found.r2[0] - r2_numpy) <= 1e-10 * abs(r2_numpy)
    in_memory = K * n * 8
    pairs = int(found.n_combinations)
    return [f"## 2. Exhaustive 2D over K = {K:,} candidates, n = {n:,} samples, memory budget {budget_mb:g} MB",
            "",
            "| quantity | value |", "|---|---:|",
            f"| pairs searched | {pairs:,} ({fmt_n(found.n_scored)} pass the abs(r) < {MAX_PAIR_CORR} limit) |",
            f"| wall time | {fmt_t(wall)} |",
            f"| Gram flops | {fmt_n(found.gram_flops)} |",
            f"| GFLOP/s (Gram flops / wall, evaluation included) | {gflops(found.gram_flops, wall)} |",
            f"| blocks | {n_blocks} of {block:,} candidates; {builds} block evaluations, "
            f"one timed alone takes {fmt_t(t_block)} (at most ~{fmt_t(builds * t_block)} of the wall time: "
            f"alone it also pays for fresh pages, which the search reuses) |",
            f"| time / (pairs x n) | {wall / (pairs * n) * 1e12:.1f} ps |",
            f"| kernel's peak bytes (blocks + buffers) | {found.peak_bytes / 2**20:,.0f} MB |",
            f"| process peak RSS: at the start / with the generator built / after the search "
            f"| {rss_start:,.0f} / {rss_before:,.0f} / {rss:,.0f} MB |",
            f"| an in-memory search would hold (K x n x 8 bytes) | {in_memory / 2**20:,.0f} MB |",
            f"| best pair r2 vs numpy lstsq | {found.r2[0]:.12f} vs {r2_numpy:.12f}: "
            f"{'OK' if ok else 'MISMATCH'} |",
            ""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (K = 1000 / 2000, n up to 2e4): ~1 minute")
    ap.add_argument("--budget-mb", type=float, help="memory budget of the streamed run (MB; default 2000, quick 100)")
    ap.add_argument("--output", help="also write the Markdown report to this file")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of short timings (the minimum is kept)")
    ap.add_argument("--seed", type=int, default=2202)
    args = ap.parse_args(argv)
    sz = QUICK if args.quick else FULL
    started = time.perf_counter()
    out = [f"# Large n: exact pair search{' (quick sizes)' if args.quick else ''}", ""]
    accept = acceptance(sz, args.budget_mb or sz.budget_mb, args.seed)
    out += scaling_in_n(sz, args.repeats, args.seed) + accept
    usable = usable_cpus() or "?"
    out += ["## 3. Machine", "",
            f"- CPU: {cpu_model()}; logical CPUs {os.cpu_count()} (usable by this process: {usable}); "
            f"core threads {_core.max_threads()}",
            f"- {python_platform()}; numpy {np.__version__} (BLAS: {blas_name()}); "
            f"formulasearch {formulasearch.__version__}",
            f"- runtime of this script: {fmt_t(time.perf_counter() - started)}", ""]
    write_report(out, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
