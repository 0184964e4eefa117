#!/usr/bin/env python3
"""Benchmark: how the exact pair / triple search of formulasearch scales, and how close its
Gram kernel comes to the machine's dgemm speed (method: Gajera et al., arXiv 2202.07372).

It prints Markdown tables:

1. a peak yardstick measured in the same run: numpy dgemm GFLOP/s on large square matrices,
   and numpy's K x 82 @ 82 x K product written to memory (K = 20000);
2. exact 2D over ALL generation-1 candidates of the octet data (105,993 after string dedup):
   wall time, models/s, GFLOP/s of the Gram step (gram_flops / seconds) and its fraction of
   the dgemm peak of (1); the best pair's RMSE against the best pair of the top 5000;
3. 3D over the top 2000 generation-1 candidates (~1.33e9 triples), |r| limit 0.9 and none;
4. scaling: (a) threads 1 vs 2, (b) number of candidates K, (c) number of samples n, on
   synthetic data (random normal candidates, target planted on two of them; the planted pair
   must come out first: OK / MISMATCH);
5. machine info and the script's runtime.

Short timings are the best (minimum) of a few repeats: the machine is shared and noisy.
No assertions on time; goals are printed as MET / MISSED.

    cd /work/main && PYTHONPATH=python python3 bench/scale_search.py [--quick] [--output FILE]
"""
from __future__ import annotations

import argparse
import ctypes
import glob
import math
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

import formulasearch
from formulasearch import _core, build_primaries
from formulasearch.data.datasets import octet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_common, wherever this runs from
from bench_common import (Timed, best_of, blas_name, cpu_model, fmt_n, log, met, peak_rss_mb,  # noqa: E402
                          python_platform, usable_cpus, write_report)
from bench_common import fmt_t as _fmt_t  # noqa: E402

MAX_PAIR_CORR = 0.9
KEEP = 10
DOC_YARDSTICK = 130.0  # GFLOP/s: "a well-blocked dgemm" on this 2-core machine, per docs/kernels.md
RMSE_TOL = 1e-12  # eV: slack for "<=" when both searches find the same pair (same QR refit)

GOAL_2D_S = 60.0
GOAL_2D_PEAK = 0.50
GOAL_3D_S = 10.0


@dataclass(frozen=True)
class Sizes:
    dgemm_n: int
    dgemm_reps: int
    product_k: int
    octet_pool: int | None  # None: every kept candidate
    octet_reps: int
    top_check: int
    top_3d: int
    threads_k: int
    ks: tuple[int, ...]
    k_for_n: int
    ns: tuple[int, ...]


FULL = Sizes(dgemm_n=4000, dgemm_reps=3, product_k=20_000, octet_pool=None, octet_reps=2, top_check=5000,
             top_3d=2000, threads_k=20_000, ks=(1000, 3000, 10_000, 30_000, 100_000), k_for_n=2000,
             ns=(82, 1000, 10_000, 100_000))
QUICK = Sizes(dgemm_n=2000, dgemm_reps=3, product_k=5000, octet_pool=20_000, octet_reps=2, top_check=5000,
              top_3d=500, threads_k=5000, ks=(1000, 3000, 10_000), k_for_n=1000, ns=(82, 1000, 10_000))


# --------------------------------------------------------------------------------------
# formatting helpers
# --------------------------------------------------------------------------------------
def fmt_t(s: float) -> str:
    """In seconds however long (no hours)."""
    return _fmt_t(s, hours=False)


def fmt_bytes(b: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.1f} {unit}"
    return f"{b:.0f} B"


def slope(x0: float, x1: float, t0: float, t1: float) -> str:
    """Exponent p of t ~ x^p between two rows."""
    if min(x0, x1, t0, t1) <= 0 or x0 == x1:
        return ""
    return f"{math.log(t1 / t0) / math.log(x1 / x0):.2f}"


# --------------------------------------------------------------------------------------
# 1. the yardstick
# --------------------------------------------------------------------------------------
def dgemm_gflops(n: int, reps: int, rng: np.random.Generator) -> Timed:
    a = rng.standard_normal((n, n))
    b = rng.standard_normal((n, n))
    c = np.empty((n, n))
    np.matmul(a, b, out=c)  # warm-up: BLAS threads up, pages of c touched

    def once() -> None:  # returns nothing: the timing must not keep the arrays alive
        np.matmul(a, b, out=c)

    return best_of(once, reps)


def product_timing(k: int, n: int, reps: int, rng: np.random.Generator) -> tuple[float, Timed]:
    """numpy's K x n @ n x K product written to a K x K array: (first call incl. allocating the
    output, best of repeats into a preallocated output).  The right operand is a separate
    contiguous array so numpy runs a plain gemm (Z @ Z.T would take the syrk shortcut)."""
    z = rng.standard_normal((k, n))
    zt = np.ascontiguousarray(z.T)
    t0 = time.perf_counter()
    out = z @ zt
    cold = time.perf_counter() - t0

    def once() -> None:  # returns nothing: the timing must not keep the K x K output alive
        np.matmul(z, zt, out=out)

    timed = best_of(once, reps)
    del out
    return cold, timed


# --------------------------------------------------------------------------------------
# synthetic data
# --------------------------------------------------------------------------------------
def planted(rng: np.random.Generator, k: int, n: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """k random normal candidates over n samples and a target = 2 x_p - 1.5 x_q + small noise."""
    x = rng.standard_normal((k, n))
    p, q = (int(v) for v in rng.choice(k, size=2, replace=False))
    y = 2.0 * x[p] - 1.5 * x[q] + 0.05 * rng.standard_normal(n)
    return x, y, (min(p, q), max(p, q))


def found_first(res: _core.SearchResult, pair: tuple[int, int]) -> bool:
    return len(res.members) > 0 and tuple(int(v) for v in res.members[0]) == pair


def gflops(res: _core.SearchResult) -> float:
    return res.gram_flops / res.seconds / 1e9 if res.seconds > 0 else 0.0


# --------------------------------------------------------------------------------------
# machine
# --------------------------------------------------------------------------------------
def cpu_flags_mhz() -> tuple[set[str], float, str]:
    flags, mhz, family = set(), 0.0, "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "flags" and not flags:
                    flags = set(val.split())
                elif key == "cpu MHz" and not mhz:
                    mhz = float(val)
                elif key == "cpu family" and family == "?":
                    family = val.strip()
    except (OSError, ValueError):
        pass
    return flags, mhz, family


def _openblas_fn(*names: str):
    """A function of the OpenBLAS that numpy ships (scipy-openblas wheels), or None."""
    libdir = os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                return fn
    return None


def openblas_core() -> str:
    """OpenBLAS's runtime kernel choice (DYNAMIC_ARCH)."""
    fn = _openblas_fn("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename")
    if fn is None:
        return "unknown"
    fn.restype = ctypes.c_char_p
    return fn().decode()


def blas_threads(n: int | None = None) -> int | None:
    """Get (n None) or set numpy's OpenBLAS thread count; None where that is not possible."""
    get = _openblas_fn("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads")
    put = _openblas_fn("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads")
    if get is None or put is None:
        return None
    if n is not None:
        put(ctypes.c_int(n))
    return int(get())


def rss_mb() -> float:
    """Current resident memory of this process (MB)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return float("nan")


def nominal_peak(cores: int) -> tuple[float, str]:
    """cores x clock x DP flops/cycle, ASSUMING two FMA pipes of the widest vector width the CPU
    advertises (true for Zen 5 and Xeon SP with AVX-512; Zen 4 runs AVX-512 at half that)."""
    flags, mhz, family = cpu_flags_mhz()
    if not mhz:
        return 0.0, "clock unknown"
    per_cycle = 32 if "avx512f" in flags else 16 if {"avx2", "fma"} <= flags else 8
    return cores * mhz * 1e6 * per_cycle / 1e9, (
        f"{cores} cores x {mhz / 1000:.2f} GHz (/proc/cpuinfo; the VM's nominal clock) x {per_cycle} DP flops/cycle "
        f"(assumed: 2 FMA pipes x {per_cycle // 4} doubles; CPU family {family})")


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes for a fast check (goals not judged)")
    ap.add_argument("--output", help="also write the Markdown report to this file")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of short timings (the minimum is kept)")
    ap.add_argument("--seed", type=int, default=2202)
    args = ap.parse_args(argv)
    sz = QUICK if args.quick else FULL
    reps = max(1, args.repeats)
    script_t0 = time.perf_counter()
    load_start = os.getloadavg()
    rng = np.random.default_rng(args.seed)
    threads = _core.max_threads()
    usable = usable_cpus() or 1

    out: list[str] = []
    add = out.append
    add("# formulasearch: scaling of the exact combination search")
    add("")
    add(f"Every timing is the **best (minimum) of N runs** (N given per row; up to {reps} for short steps, fewer for "
        "long ones): this 2-core machine is shared and noisy. GFLOP/s of a search = `gram_flops / seconds` as the "
        f"core reports them (the Gram blocks it computes, 2 flops per multiply-add, over the whole search time, "
        f"scoring included). Pair searches use |r| < {MAX_PAIR_CORR} between members and keep {KEEP}, unless said.")
    add("")

    # ---------------------------------------------------------------- 1. yardstick
    log(f"1. dgemm {sz.dgemm_n}^2 and the K x 82 product (K = {sz.product_k}) ...")
    dg = dgemm_gflops(sz.dgemm_n, sz.dgemm_reps, rng)
    blas_default = blas_threads()
    dg1 = None
    if blas_default is not None and blas_default > 1:
        try:
            blas_threads(1)
            dg1 = dgemm_gflops(sz.dgemm_n, 2, rng)
        finally:
            blas_threads(blas_default)
    dg_flops = 2.0 * sz.dgemm_n ** 3
    prod_cold, prod = product_timing(sz.product_k, 82, 2, rng)
    prod_flops = 2.0 * sz.product_k ** 2 * 82

    # ---------------------------------------------------------------- 2. octet 2D, all candidates
    log("2. octet generation 1: screen every candidate ...")
    prim = build_primaries(octet())
    y = np.ascontiguousarray(prim.target, dtype=float)
    cold_t0 = time.perf_counter()

    def gen_and_screen():
        g = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1, "paper")
        return g, _core.screen(g, y, keep=len(g), dedup="string")

    (gen, scr) = gen_and_screen()
    kept = scr.indices
    pool = kept if sz.octet_pool is None else kept[: sz.octet_pool]
    full_set = _core.StandardizedSet.from_candidates(gen, pool.tolist(), y)
    log(f"   {len(gen):,} candidates, {int(scr.n_kept):,} kept; 2D over {len(pool):,} "
        f"({sz.octet_reps} runs, ~10 s each on 2 cores) ...")
    t_first = time.perf_counter()
    first_2d = _core.search_pairs(full_set, max_pair_corr=MAX_PAIR_CORR, keep=KEEP)
    now = time.perf_counter()
    t_first, cold_wall = now - t_first, now - cold_t0
    t_screen = best_of(gen_and_screen, reps)
    t_set = best_of(lambda: _core.StandardizedSet.from_candidates(gen, pool.tolist(), y), reps)
    t_2d = best_of(lambda: _core.search_pairs(full_set, max_pair_corr=MAX_PAIR_CORR, keep=KEEP),
                   sz.octet_reps - 1)
    if t_first < t_2d.best:  # the first pass counts as a run too
        t_2d = Timed(t_first, [t_first] + t_2d.runs, first_2d)
    else:
        t_2d = Timed(t_2d.best, [t_first] + t_2d.runs, t_2d.result)
    res_2d = t_2d.result
    load_2d = os.getloadavg()
    set_bytes = full_set.memory_bytes
    del full_set

    def refit(members: list[int]) -> _core.LinearFit:
        return _core.fit_linear(gen.evaluate(members), y)

    best_all = [int(pool[m]) for m in res_2d.members[0]]
    fit_all = refit(best_all)
    top_set = _core.StandardizedSet.from_candidates(gen, kept[: sz.top_check].tolist(), y)
    res_top = _core.search_pairs(top_set, max_pair_corr=MAX_PAIR_CORR, keep=KEEP)
    best_top = [int(kept[m]) for m in res_top.members[0]]
    fit_top = refit(best_top)
    del top_set

    # ---------------------------------------------------------------- 3. octet 3D, top 2000
    log(f"3. octet 3D over the top {sz.top_3d} ...")
    set_3d = _core.StandardizedSet.from_candidates(gen, kept[: sz.top_3d].tolist(), y)
    t_3d = {}
    for lim in (MAX_PAIR_CORR, 1.0):
        t_3d[lim] = best_of(lambda lim=lim: _core.search_triples(set_3d, max_pair_corr=lim, keep=KEEP), reps,
                            budget_s=8.0)
    del set_3d

    # ---------------------------------------------------------------- 4a. threads
    log(f"4a. threads 1 vs {threads}, K = {sz.threads_k} ...")
    x, yt, pair_thr = planted(rng, sz.threads_k, 82)
    s_thr = _core.StandardizedSet(x, yt)
    thread_rows = []
    previous = _core.max_threads()
    counts = sorted({1, previous, 2} if previous >= 2 else {1})
    runs: dict[int, list[float]] = {nt: [] for nt in counts}
    results: dict[int, dict] = {}
    try:
        for _ in range(reps):  # interleaved, so that every thread count sees the same neighbours
            for nt in counts:
                _core.set_threads(nt)
                t = best_of(lambda: _core.search_pairs(s_thr, max_pair_corr=MAX_PAIR_CORR, keep=KEEP), 1)
                if not runs[nt] or t.best < min(runs[nt]):
                    results[nt] = t.result
                runs[nt].append(t.best)
    finally:
        _core.set_threads(previous)
    thread_rows = [(nt, Timed(min(runs[nt]), runs[nt], results[nt])) for nt in counts]
    threads_restored = _core.max_threads() == previous
    del s_thr, x

    # ---------------------------------------------------------------- 4b. K
    k_rows = []
    for k in sz.ks:
        log(f"4b. K = {k:,} (n = 82) ...")
        x, yk, pair = planted(rng, k, 82)
        t_set_k = best_of(lambda: _core.StandardizedSet(x, yk), reps)
        s = t_set_k.result
        t = best_of(lambda: _core.search_pairs(s, max_pair_corr=MAX_PAIR_CORR, keep=KEEP), reps, budget_s=12.0)
        k_rows.append((k, t_set_k, t, found_first(t.result, pair)))
        del s, x

    # ---------------------------------------------------------------- 4c. n
    n_rows = []
    for n in sz.ns:
        log(f"4c. n = {n:,} (K = {sz.k_for_n:,}) ...")
        x, yn, pair = planted(rng, sz.k_for_n, n)
        raw_bytes = x.nbytes
        t_set_n = best_of(lambda: _core.StandardizedSet(x, yn), reps, budget_s=3.0)
        s = t_set_n.result
        rss_both = rss_mb()  # the raw values and the standardised set both held
        del x
        t = best_of(lambda: _core.search_pairs(s, max_pair_corr=MAX_PAIR_CORR, keep=KEEP), reps, budget_s=8.0)
        n_rows.append((n, raw_bytes, s.memory_bytes, t_set_n, t, found_first(t.result, pair), rss_both))
        del s

    # ---------------------------------------------------------------- yardstick again (noise)
    log("1'. dgemm again (the peak is the best of both rounds) ...")
    dg2 = dgemm_gflops(sz.dgemm_n, 2, rng)
    dg_runs = dg.runs + dg2.runs
    peak = dg_flops / min(dg_runs) / 1e9
    nominal, nominal_how = nominal_peak(usable)

    # ================================================================ report
    add("## 1. Peak yardstick (measured in this run)")
    add("")
    add("| what | size | flops | time | GFLOP/s | runs |")
    add("|---|---|---:|---:|---:|---|")
    add(f"| numpy dgemm `A @ B` (float64) | {sz.dgemm_n} x {sz.dgemm_n} @ {sz.dgemm_n} x {sz.dgemm_n} | "
        f"{fmt_n(dg_flops)} | {fmt_t(min(dg_runs))} | **{peak:.1f}** | best of {len(dg_runs)} "
        f"({dg.n} at the start, {dg2.n} at the end; slowest {dg_flops / max(dg_runs) / 1e9:.1f}) |")
    peak1 = dg_flops / dg1.best / 1e9 if dg1 is not None else None
    if dg1 is not None:
        add(f"| the same dgemm with 1 BLAS thread (per-core yardstick) | same | {fmt_n(dg_flops)} | {fmt_t(dg1.best)} | "
            f"{peak1:.1f} | {dg1.label} |")
    add(f"| numpy `Z @ Zt` written to memory | {sz.product_k:,} x 82 @ 82 x {sz.product_k:,} "
        f"(output {fmt_bytes(8.0 * sz.product_k ** 2)}) | {fmt_n(prod_flops)} | {fmt_t(prod.best)} | "
        f"{prod_flops / prod.best / 1e9:.1f} | {prod.label}, into a preallocated output |")
    add(f"| the same, first call (allocates and faults in the output) | | {fmt_n(prod_flops)} | {fmt_t(prod_cold)} | "
        f"{prod_flops / prod_cold / 1e9:.1f} | 1 run |")
    thr_best = thread_rows[-1][1]
    add(f"| formulasearch `search_pairs`, K = {sz.threads_k:,} random, n = 82 (half of the Gram matrix + scoring, "
        f"nothing written) | same K | {fmt_n(thr_best.result.gram_flops)} | {fmt_t(thr_best.best)} | "
        f"{gflops(thr_best.result):.1f} | {thr_best.label}, {thread_rows[-1][0]} threads |")
    thr_one = thread_rows[0][1]
    if len(thread_rows) > 1:
        add(f"| the same search on 1 thread | same K | {fmt_n(thr_one.result.gram_flops)} | {fmt_t(thr_one.best)} | "
            f"{gflops(thr_one.result):.1f} | {thr_one.label}, 1 thread |")
    add("")
    core = openblas_core()
    add(f"numpy's BLAS: {blas_name()}, runtime kernel `{core}`. The yardstick for \"% of peak\" below "
        f"is the measured dgemm, **{peak:.1f} GFLOP/s**; docs/kernels.md quotes about {DOC_YARDSTICK:.0f} GFLOP/s "
        "for a well-blocked dgemm on this machine, shown as a second column.")
    if core.lower() == "haswell" and "avx512f" in cpu_flags_mhz()[0] and nominal:
        add("")
        add("Caveat: this CPU has AVX-512, but OpenBLAS runs its Haswell (AVX2) kernel here, so numpy's dgemm is "
            "not the hardware's limit and a Gram kernel using 512-bit vectors can exceed it (fractions above 100%). "
            f"For reference only (not measured, not used): {nominal_how} gives {nominal:.0f} GFLOP/s at the clock "
            "the VM reports; the cores evidently boost above it.")
    add("")

    add("## 2. Exact 2D over every generation-1 candidate of the octet data")
    add("")
    pool_txt = "all kept" if sz.octet_pool is None else f"top {len(pool):,} (--quick)"
    add(f"{len(gen):,} candidates generated (paper generation 1, variant \"paper\"), screening with dedup \"string\": "
        f"{int(scr.n_low_variance):,} low variance, {int(scr.n_nonfinite):,} non-finite, "
        f"{int(scr.n_string_duplicates):,} string duplicates -> **{int(scr.n_kept):,} kept**; "
        f"pairs over {pool_txt}: K = {len(pool):,}, n = {prim.matrix.shape[1]} samples, "
        f"standardised set {fmt_bytes(set_bytes)}.")
    add("")
    gf = gflops(res_2d)
    add("| step | time | runs |")
    add("|---|---:|---|")
    add(f"| generate + screen (keep all) | {fmt_t(t_screen.best)} | {t_screen.label} |")
    add(f"| StandardizedSet.from_candidates (K = {len(pool):,}) | {fmt_t(t_set.best)} | {t_set.label} |")
    add(f"| search_pairs | {fmt_t(t_2d.best)} | {t_2d.label} (runs: "
        f"{', '.join(fmt_t(r) for r in t_2d.runs)}) |")
    add(f"| **end to end, first pass** (generate, screen, standardise, search) | **{fmt_t(cold_wall)}** | 1 run |")
    add("")
    add("| K | pairs | valid (scored) | search time | models/s | Gram GFLOP | GFLOP/s | % of measured dgemm peak "
        f"| % of {DOC_YARDSTICK:.0f} GFLOP/s (kernels.md) |")
    add("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    add(f"| {len(pool):,} | {fmt_n(res_2d.n_combinations)} | {fmt_n(res_2d.n_scored)} | {fmt_t(t_2d.best)} | "
        f"{fmt_n(res_2d.n_combinations / t_2d.best)} | {res_2d.gram_flops / 1e9:,.0f} | **{gf:.1f}** | "
        f"**{100 * gf / peak:.0f}%** | {100 * gf / DOC_YARDSTICK:.0f}% |")
    add("")
    names = prim.names
    check_ok = fit_all.rmse <= fit_top.rmse + RMSE_TOL
    add("| best pair of | RMSE (eV, QR refit) | R^2 | formulas |")
    add("|---|---:|---:|---|")
    add(f"| all {len(pool):,} | {fit_all.rmse:.6f} | {fit_all.r2:.6f} | "
        f"{'; '.join(gen.formula(i).to_string(names) for i in best_all)} |")
    add(f"| top {sz.top_check:,} | {fit_top.rmse:.6f} | {fit_top.r2:.6f} | "
        f"{'; '.join(gen.formula(i).to_string(names) for i in best_top)} |")
    add("")
    add(f"Check, RMSE(all) <= RMSE(top {sz.top_check:,}): **{'OK' if check_ok else 'MISMATCH'}** "
        f"({fit_all.rmse - fit_top.rmse:+.2e} eV).")
    add("")
    wall_2d = max(cold_wall, t_screen.best + t_set.best + t_2d.best)
    if args.quick:
        add("Goal (< 60 s and >= 50% of peak): not judged with --quick (the pool is cut).")
    else:
        add(f"**Goal: exact 2D over all candidates in < {GOAL_2D_S:.0f} s and >= {100 * GOAL_2D_PEAK:.0f}% of peak.** "
            f"Time: {fmt_t(wall_2d)} end to end ({fmt_t(t_2d.best)} for the search) -> "
            f"**{met(wall_2d < GOAL_2D_S)}**; Gram step {gf:.1f} GFLOP/s = {100 * gf / peak:.0f}% of the measured "
            f"numpy dgemm -> **{met(gf >= GOAL_2D_PEAK * peak)}**"
            f" ({100 * gf / DOC_YARDSTICK:.0f}% of the {DOC_YARDSTICK:.0f} GFLOP/s of kernels.md -> "
            f"{met(gf >= GOAL_2D_PEAK * DOC_YARDSTICK)}).")
    if peak1:
        add("")
        add(f"Per core, which a neighbour on the other core disturbs less: `search_pairs` on 1 thread reaches "
            f"{gflops(thr_one.result):.1f} GFLOP/s (K = {sz.threads_k:,} random, section 4a) against {peak1:.1f} "
            f"for a 1-thread dgemm = {100 * gflops(thr_one.result) / peak1:.0f}%.")
    add("")
    add(f"Load average (1 min) just after these 2D runs: {load_2d[0]:.2f} on {usable} CPUs "
        f"(this search's own {threads} threads account for about {threads}; more means another process competed "
        "for the cores).")
    add("")

    add(f"## 3. 3D over the top {sz.top_3d:,} generation-1 candidates")
    add("")
    add("| max pair |r| | triples | valid (scored) | time | triples/s | best RMSE (eV) | best triple | runs |")
    add("|---|---:|---:|---:|---:|---:|---|---|")
    for lim, t in t_3d.items():
        r = t.result
        members = [int(kept[m]) for m in r.members[0]] if len(r.members) else []
        rmse = f"{refit(members).rmse:.6f}" if members else "no model"
        ftxt = "; ".join(gen.formula(i).to_string(names) for i in members) if members else ""
        add(f"| {'< ' + format(lim, 'g') if lim < 1 else 'none (1.0)'} | {fmt_n(r.n_combinations)} | "
            f"{fmt_n(r.n_scored)} | {fmt_t(t.best)} | {fmt_n(r.n_combinations / t.best)} | {rmse} | {ftxt} | "
            f"{t.label} |")
    add("")
    worst_3d = max(t.best for t in t_3d.values())
    if args.quick:
        add("Goal (< 10 s for 2000): not judged with --quick.")
    else:
        add(f"**Goal: 3D over the top {sz.top_3d:,} in < {GOAL_3D_S:.0f} s** (both limits): slowest "
            f"{fmt_t(worst_3d)} -> **{met(worst_3d < GOAL_3D_S)}**.")
    add("")

    add("## 4. Scaling (synthetic data: random normal candidates, target planted on two of them)")
    add("")
    add(f"### (a) Threads, 2D, K = {sz.threads_k:,}, n = 82")
    add("")
    add("| threads | time | models/s | GFLOP/s | speed-up | planted pair first | runs |")
    add("|---:|---:|---:|---:|---:|---|---|")
    base = thread_rows[0][1].best
    thr_ok = True
    for nt, t in thread_rows:
        ok = found_first(t.result, pair_thr)
        thr_ok &= ok
        add(f"| {nt} | {fmt_t(t.best)} | {fmt_n(t.result.n_combinations / t.best)} | {gflops(t.result):.1f} | "
            f"{base / t.best:.2f}x | {'OK' if ok else 'MISMATCH'} | {t.label} |")
    same = all(np.array_equal(t.result.members, thread_rows[0][1].result.members) and
               np.array_equal(t.result.r2, thread_rows[0][1].result.r2) for _, t in thread_rows)
    thr_ok &= same
    add("")
    if len(thread_rows) > 1 and thread_rows[-1][1].best > base:
        add(f"{thread_rows[-1][0]} threads were SLOWER than 1 here: another process held a core during this step "
            f"(load average now {os.getloadavg()[0]:.2f}); each tile row of the search ends in an OpenMP barrier, so "
            "a descheduled thread stalls the other.")
        add("")
    add(f"Same top {KEEP} (members and r2 bits) for every thread count: {'OK' if same else 'MISMATCH'}. "
        f"Threads restored to {previous} afterwards: {'yes' if threads_restored else 'NO'}.")
    add("")
    add("### (b) Number of candidates K, 2D, n = 82 (expect time ~ K^2)")
    add("")
    add("| K | pairs | standardise | search time | models/s | GFLOP/s | ns per pair | exponent vs previous row "
        "| planted pair first | runs |")
    add("|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    prev = None
    for k, ts, t, ok in k_rows:
        r = t.result
        add(f"| {k:,} | {fmt_n(r.n_combinations)} | {fmt_t(ts.best)} | {fmt_t(t.best)} | "
            f"{fmt_n(r.n_combinations / t.best)} | {gflops(r):.1f} | {1e9 * t.best / r.n_combinations:.3f} | "
            f"{slope(prev[0], k, prev[1], t.best) if prev else ''} | {'OK' if ok else 'MISMATCH'} | {t.label} |")
        prev = (k, t.best)
    add("")
    add(f"### (c) Number of samples n, 2D, K = {sz.k_for_n:,} (expect time ~ n; memory K x n doubles)")
    add("")
    add("| n | K x n doubles | standardised set | process RSS, values + set held | standardise | search time | models/s | GFLOP/s "
        "| exponent vs previous row | planted pair first | runs |")
    add("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    prev = None
    for n, raw, setb, ts, t, ok, rss in n_rows:
        r = t.result
        add(f"| {n:,} | {fmt_bytes(raw)} | {fmt_bytes(setb)} | {rss:,.0f} MB | {fmt_t(ts.best)} | {fmt_t(t.best)} | "
            f"{fmt_n(r.n_combinations / t.best)} | {gflops(r):.1f} | "
            f"{slope(prev[0], n, prev[1], t.best) if prev else ''} | {'OK' if ok else 'MISMATCH'} | {t.label} |")
        prev = (n, t.best)
    add("")
    all_planted = thr_ok and all(row[3] for row in k_rows) and all(row[5] for row in n_rows)
    add(f"Planted pair found first in every synthetic search: **{'OK' if all_planted else 'MISMATCH'}**.")
    add("")

    add("## 5. Machine")
    add("")
    add(f"- CPU: {cpu_model()}; logical CPUs {os.cpu_count()} (usable by this process: {usable})")
    add(f"- threads used by the core (`_core.max_threads()`): {threads}; numpy/BLAS threads: BLAS default")
    add(f"- numpy {np.__version__} (BLAS: {blas_name()}, kernel `{openblas_core()}`); formulasearch "
        f"{formulasearch.__version__}; {python_platform()}")
    load_end = os.getloadavg()
    add(f"- load average (1 min) at start / end: {load_start[0]:.2f} / {load_end[0]:.2f}; peak RSS {peak_rss_mb():,.0f} MB")
    add("")
    add(f"Script runtime: {time.perf_counter() - script_t0:.1f} s{' (--quick)' if args.quick else ''}. "
        "Timings are best-of-N as stated per row.")

    write_report(out, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
