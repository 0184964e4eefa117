"""Helpers shared by the benchmark scripts of bench/ (paper_pipeline.py, scale_search.py,
sisso_search.py): progress logging, best-of-N timing, number and time formatting, machine
facts for the report, and writing the report.

Not a benchmark itself.  The scripts import it as ``bench_common``; they put this folder on
``sys.path`` first, so that works however they are started.
"""
from __future__ import annotations

import math
import os
import platform
import resource
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


def log(msg: str) -> None:
    """Progress on stderr (the report goes to stdout)."""
    print(msg, file=sys.stderr, flush=True)


def write_report(lines: list[str], output: str | None) -> None:
    """Print the Markdown report and, when `output` is given, also write it to that file."""
    text = "\n".join(lines) + "\n"
    print(text)
    if output:
        with open(output, "w") as fh:
            fh.write(text)


# --------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------
@dataclass
class Timed:
    best: float  # seconds: the minimum over the runs
    runs: list[float]
    result: Any  # what the fastest run returned

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def label(self) -> str:
        return f"best of {self.n}" if self.n > 1 else "1 run"


def best_of(fn: Callable[[], Any], reps: int, budget_s: float = float("inf")) -> Timed:
    """Run fn up to `reps` times (fewer once `budget_s` seconds are spent; at least once)."""
    runs: list[float] = []
    best_result, best = None, math.inf
    for _ in range(max(1, reps)):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        runs.append(dt)
        if dt < best:
            best, best_result = dt, out
        if sum(runs) >= budget_s:
            break
    return Timed(best, runs, best_result)


# --------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------
def fmt_t(s: float | None, *, fine: bool = False, hours: bool = True) -> str:
    """A duration: µs, ms, s, and (with `hours`) h from 600 s on and d from 3 days on.

    `fine`: below 10 µs, ns and tenths of a µs instead of whole µs."""
    if s is None or not math.isfinite(s):
        return "n/a"
    if fine and s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if fine and s < 1e-5:
        return f"{s * 1e6:.1f} µs"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    if s < 600 or not hours:
        return f"{s:.2f} s"
    if s < 3 * 86400:
        return f"{s / 3600:.2f} h"
    return f"{s / 86400:.1f} d"


def fmt_n(x: float) -> str:
    """Large counts and rates: 1.33e9 style from a million on, else 12,345."""
    if x >= 1e6:
        return f"{x:.3g}".replace("e+0", "e").replace("e+", "e")
    return f"{x:,.0f}"


def fmt_x(r: float | None) -> str:
    """A speed ratio: 12.3x, 1,234x; n/a when there is none."""
    if r is None or not math.isfinite(r):
        return "n/a"
    if r >= 100:
        return f"{r:,.0f}x"
    return f"{r:.1f}x"


def met(ok: bool) -> str:
    return "MET" if ok else "MISSED"


# --------------------------------------------------------------------------------------
# numpy baselines
# --------------------------------------------------------------------------------------
def standardise(V: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of V centred and scaled to unit norm (Z), and their correlations with y (Z @ t)."""
    Vc = V - V.mean(axis=1, keepdims=True)
    Z = Vc / np.linalg.norm(Vc, axis=1, keepdims=True)
    yc = y - y.mean()
    t = yc / np.linalg.norm(yc)
    return Z, Z @ t


def lstsq_rmse(columns, y: np.ndarray) -> float:
    """RMSE of the OLS fit of y on an intercept and the given columns (numpy lstsq)."""
    A = np.column_stack([np.ones(len(y))] + list(columns))
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return float(np.sqrt(np.mean((A @ coef - y) ** 2)))


# --------------------------------------------------------------------------------------
# machine
# --------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cpus() -> int | None:
    """CPUs this process may run on (os.cpu_count() where affinity is not available)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def blas_name() -> str:
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{info.get('name', '?')} {info.get('version', '')}".strip()
    except Exception:
        return "unknown"


def python_platform() -> str:
    return f"Python {platform.python_version()}, {platform.system()} {platform.release()}"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports kB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0
