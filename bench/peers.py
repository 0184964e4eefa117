"""Peer SISSO codes from PyPI, run side by side with formulasearch (section P of sisso_search.py).

Not a benchmark by itself: ``bench/sisso_search.py --peers`` runs it and prints the tables.

Each run (one tool on one problem) is a child process of its own, started with
``python bench/peers.py --worker SPEC OUT``, under an address-space limit (RLIMIT_AS, the
memory cap) and a wall-clock timeout, so a code that holds every combination in memory fails
cleanly instead of taking the machine down. Measured per run:

- time: the tool's fit call (feature construction + screening + l0, every dimension), in the child;
- peak memory: the child's peak RSS from ``os.wait4`` (imports and data included; the RSS
  before the fit call is reported too);
- RMSE per dimension, computed here: the child returns each model's features as expressions of
  the primaries (and the tool's own coefficients and RMSE); this module evaluates them with
  numpy, refits intercept + coefficients by least squares, and checks the tool's own numbers
  against that refit.

The peers are optional (``pip install formulasearch[bench]``); a missing one is skipped with a
line saying so. Tools:

- ``formulasearch``: this package, ``formulasearch.run`` with nested CV and model validation off.
- ``torchsisso``: ``TorchSisso.SissoModel`` (PyPI ``torchsisso``; torch, run on the CPU).
- ``mini-sisso``: ``mini_sisso.MiniSisso`` (PyPI ``mini-sisso``; whatever version pip installs:
  the Rust releases have no Linux wheel, so on Linux pip may give an older pure-Python one; the
  installed version and whether it has a compiled extension are reported).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import io
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = ("formulasearch", "torchsisso", "mini-sisso")
DIST = {"formulasearch": "formulasearch", "torchsisso": "torchsisso", "mini-sisso": "mini-sisso"}
MODULE = {"formulasearch": "formulasearch", "torchsisso": "TorchSisso", "mini-sisso": "mini_sisso"}
THREADS = 2  # every tool gets the same thread count (BLAS, torch, the core)
OCTET_PRIMARIES = [f"{p}_{s}" for p in ("IP", "EA", "rs", "rp", "rd") for s in ("A", "B")]
POOL_SAMPLES = 100
POOL_PLANTED = ((3, 1.5), (11, -1.0), (23, 0.7))  # y = sum c * x_j + noise (0.5), j < every pool size
POOL_NOISE = 0.5


# --------------------------------------------------------------------------------------
# the problems (built the same way in the parent and in every child)
# --------------------------------------------------------------------------------------
def problem_data(problem: dict) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, X samples x variables, y) of a problem spec."""
    if problem["kind"] == "octet":
        from formulasearch import build_primaries
        from formulasearch.data.datasets import octet
        prim = build_primaries(octet())
        names = list(problem["primaries"])
        X = np.ascontiguousarray(prim.rows(names).T)
        return names, X, np.asarray(prim.target, dtype=float)
    if problem["kind"] == "pool":
        rng = np.random.default_rng(problem["seed"])
        X_all = rng.standard_normal((POOL_SAMPLES, problem["max_features"]))
        noise = rng.standard_normal(POOL_SAMPLES)
        y = POOL_NOISE * noise + sum(c * X_all[:, j] for j, c in POOL_PLANTED)
        m = problem["features"]
        return [f"x{j:04d}" for j in range(m)], np.ascontiguousarray(X_all[:, :m]), y
    raise ValueError(f"unknown problem kind {problem['kind']!r}")


# --------------------------------------------------------------------------------------
# the child: one tool on one problem
# --------------------------------------------------------------------------------------
def _rss_now_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_formulasearch(problem: dict, names, X, y) -> dict:
    import formulasearch as fs
    from formulasearch.data.primaries import primaries_from_table
    import pandas as pd
    if problem["kind"] == "octet":
        # no units (the peers have none): every + and - is allowed, as in the peers; no range filter
        cfg = {"features": {"generator": "sisso", "primaries": names, "ops": problem["ops"], "rung": problem["rung"],
                            "units": {p.split("_")[0]: "1" for p in names}, "max_abs": float("inf"), "min_abs": 0.0},
               "search": {"method": "sis-l0", "max_dim": problem["max_dim"], "n_sis": problem["n_sis"],
                          "threads": problem.get("threads", THREADS)},
               "validation": {"nested": False, "method": "none"}}
        primaries = None
    else:
        frame = pd.DataFrame(X, columns=names)
        frame["y"] = y
        primaries = primaries_from_table(frame, names, "y", classes={"x": names}, labels=None)
        cfg = {"features": {"generator": "sisso", "rung": 0, "ops": [], "max_abs": float("inf"), "min_abs": 0.0},
               "search": {"method": "exhaustive", "max_dim": problem["max_dim"], "top_2d": "all",
                          "top_3d": len(names), "threads": problem.get("threads", THREADS)},
               "validation": {"nested": False, "method": "none"}}
    rss0 = _rss_now_mb()
    t0 = time.perf_counter()
    res = fs.run(cfg, primaries=primaries)
    dt = time.perf_counter() - t0
    models = {}
    for d in range(1, problem["max_dim"] + 1):
        m = res.best(d)
        if m is not None:
            models[d] = {"features": [f.replace("^", "**") for f in m.formulas], "coefficients": list(m.coefficients),
                         "intercept": m.intercept, "claimed_rmse": m.rmse}
    fsp = res.feature_space
    combos = {int(k[:-1]): int(v["combinations"]) for k, v in res.search_stats.items() if "combinations" in v}
    return {"fit_s": dt, "rss_before_fit_mb": rss0, "models": models, "n_features": fsp.get("kept", fsp.get("size")),
            "combinations": combos}


def run_torchsisso(problem: dict, names, X, y) -> dict:
    import pandas as pd
    import torch
    from TorchSisso import SissoModel
    torch.set_num_threads(THREADS)
    df = pd.DataFrame(X, columns=names)
    df.insert(0, "target", y)  # TorchSisso: the first column is the target
    if problem["kind"] == "octet":
        # n_expansion e: e - 1 rounds of expansion (rung e - 1); k: SIS features per dimension
        model = SissoModel(df, operators=problem["ops"], n_expansion=problem["rung"] + 1,
                           n_term=problem["max_dim"], k=problem["n_sis"], device="cpu")
    else:
        # no expansion (rung 0); k >= features / n_term makes TorchSisso take every feature in each screening
        model = SissoModel(df, operators=["+"], n_expansion=1, n_term=problem["max_dim"], k=len(names), device="cpu")
    rss0 = _rss_now_mb()
    t0 = time.perf_counter()
    rmse, equation, r2, per_dim = model.fit()
    dt = time.perf_counter() - t0
    models = {}
    for d, eq in enumerate(per_dim, start=1):
        feats, coefs, intercept = parse_torchsisso(eq)
        models[d] = {"features": feats, "coefficients": coefs, "intercept": intercept, "equation": eq,
                     "claimed_rmse": float(rmse) if d == len(per_dim) else None}
    return {"fit_s": dt, "rss_before_fit_mb": rss0, "models": models, "n_features": None}


_TS_TERM = re.compile(r"^(-?\d+\.\d+(?:e[-+]?\d+)?)\*(.+)$")
_TS_1D = re.compile(r"^(-?\d+\.\d+(?:e[-+]?\d+)?)\*(.+?)([-+]\d+\.\d+(?:e[-+]?\d+)?)$")


def parse_torchsisso(equation: str) -> tuple[list[str], list[float], float]:
    """(features, coefficients, intercept) of an equation string of TorchSisso 0.1.x.

    1D: ``coef*feature+intercept`` (no spaces); 2D and up: terms ``[ + ]coef*feature`` separated by
    two spaces, then the intercept with its sign. Feature names have no spaces."""
    eq = equation.strip()
    if " " not in eq:
        m = _TS_1D.match(eq)
        if not m:
            raise ValueError(f"cannot read TorchSisso's 1D equation {equation!r}")
        return [m.group(2)], [float(m.group(1))], float(m.group(3))
    tokens = [t for t in eq.split() if t != "+"]
    feats, coefs = [], []
    for tok in tokens[:-1]:
        m = _TS_TERM.match(tok)
        if not m:
            raise ValueError(f"cannot read the term {tok!r} of TorchSisso's equation {equation!r}")
        coefs.append(float(m.group(1)))
        feats.append(m.group(2))
    return feats, coefs, float(tokens[-1])


def run_mini_sisso(problem: dict, names, X, y) -> dict:
    import pandas as pd
    from mini_sisso import regressor_numpy  # mini_sisso has no __init__: import its modules
    from mini_sisso.model import MiniSisso
    # MiniSisso.fit keeps only the best model over all dimensions; keep each dimension's best (and the
    # features as text, while the recipes' names are set) by wrapping the regressor's fit.
    captured: dict[int, dict] = {}
    original = regressor_numpy.SissoRegressorNumPy.fit

    def fit(self):
        out = original(self)
        for d, mdl in self.best_models.items():
            captured[d] = {"features": [repr(r).replace("^", "**") for r in mdl["recipes"]],
                           "coefficients": [float(c) for c in np.ravel(mdl["coeffs"])],
                           "intercept": float(mdl["intercept"]), "claimed_rmse": float(np.ravel(mdl["rmse"])[0])}
        captured[0] = {"n_recipes": len(self.all_recipes)}
        return out

    regressor_numpy.SissoRegressorNumPy.fit = fit
    frame = pd.DataFrame(X, columns=names)
    if problem["kind"] == "octet":
        # n_expansion = rung; exhaustive = SIS + l0 per dimension; the full space, no level-wise SIS
        model = MiniSisso(n_expansion=problem["rung"], operators=list(problem["ops"]),
                                     so_method="exhaustive", use_levelwise_sis=False,
                                     selection_params={"n_term": problem["max_dim"], "n_sis_features": problem["n_sis"]})
    else:
        model = MiniSisso(n_expansion=0, operators=["+"], so_method="exhaustive", use_levelwise_sis=False,
                                     selection_params={"n_term": problem["max_dim"], "n_sis_features": len(names)})
    rss0 = _rss_now_mb()
    t0 = time.perf_counter()
    model.fit(frame, y)
    dt = time.perf_counter() - t0
    n_rec = captured.pop(0, {}).get("n_recipes")
    return {"fit_s": dt, "rss_before_fit_mb": rss0, "models": captured, "n_features": n_rec}


RUNNERS = {"formulasearch": run_formulasearch, "torchsisso": run_torchsisso, "mini-sisso": run_mini_sisso}


def dims_done(tool: str, log: str) -> int:
    """The dimensions a peer finished, from what it printed (for a run that failed part way)."""
    if tool == "torchsisso":
        done = [1] if "one dimensional equation" in log else []
        done += [int(d) for d in re.findall(r"Time taken for (\d+) dimension", log)]
    elif tool == "mini-sisso":
        done = [int(d) for d in re.findall(r"Best (\d+)-term model", log)]
    else:
        done = []
    return max(done, default=0)


def worker(spec_path: str, out_path: str) -> int:
    """The child's main: run, then write {"status": ..., ...} as JSON to out_path."""
    with open(spec_path) as fh:
        spec = json.load(fh)
    out: dict[str, Any] = {"status": "error"}
    log_buf = io.StringIO()
    try:
        names, X, y = problem_data(spec["problem"])
        with contextlib.redirect_stdout(log_buf):  # the peers print a lot
            out.update(RUNNERS[spec["tool"]](spec["problem"], names, X, y))
        out["status"] = "ok"
    except MemoryError as err:
        out.update(status="oom", message=f"MemoryError {err}".strip())
    except RuntimeError as err:  # torch: "DefaultCPUAllocator: can't allocate memory: you tried to allocate N bytes"
        msg = str(err)
        out.update(status="oom" if "allocate" in msg else "error", message=msg.splitlines()[0][:300] if msg else "")
    except Exception as err:  # noqa: BLE001 - reported, not hidden
        out.update(status="error", message=f"{type(err).__name__}: {err}"[:300])
    out["peak_rss_self_mb"] = _rss_now_mb()
    out["dims_done"] = dims_done(spec["tool"], log_buf.getvalue())
    with open(out_path, "w") as fh:
        json.dump(out, fh)
    return 0 if out["status"] == "ok" else 3


# --------------------------------------------------------------------------------------
# the parent: availability, the capped child, the checks
# --------------------------------------------------------------------------------------
def tool_version(tool: str) -> tuple[str | None, str]:
    """(version or None if not installed, a note: implementation / why missing)."""
    try:
        version = importlib.metadata.version(DIST[tool])
    except importlib.metadata.PackageNotFoundError:
        return None, "not installed"
    spec = importlib.util.find_spec(MODULE[tool])
    if spec is None:
        return None, f"{DIST[tool]} {version} installed but {MODULE[tool]} not importable"
    note = "C++ core, this checkout" if tool == "formulasearch" else ""
    if tool == "mini-sisso":
        folder = os.path.dirname(spec.origin or "")
        compiled = [f for f in os.listdir(folder) if f.endswith((".so", ".pyd"))] if folder else []
        note = ("Rust extension: " + ", ".join(compiled)) if compiled else "pure Python (numpy/scipy), not the Rust implementation"
    elif tool == "torchsisso":
        try:
            note = f"torch {importlib.metadata.version('torch')}, run on the CPU"
        except importlib.metadata.PackageNotFoundError:
            note = "torch missing"
    return version, note


@dataclass
class PeerRun:
    tool: str
    problem: dict
    status: str  # ok, oom, timeout, error, killed
    wall_s: float  # the child's whole life (imports, data, fit)
    fit_s: float | None
    peak_rss_mb: float | None  # from wait4: the child's peak RSS
    rss_before_fit_mb: float | None
    message: str = ""
    models: dict[int, dict] = field(default_factory=dict)
    n_features: int | None = None
    combinations: dict[int, int] = field(default_factory=dict)  # formulasearch: models scored per dimension
    dims_done: int = 0  # dimensions finished (from the peer's printout; all of them when ok)
    rmse: dict[int, float] = field(default_factory=dict)  # our refit of each dimension's features
    own_rmse: dict[int, float] = field(default_factory=dict)  # the tool's own coefficients, evaluated here
    check: dict[int, str] = field(default_factory=dict)


def run_capped(tool: str, problem: dict, cap_gb: float, timeout_s: float) -> PeerRun:
    """Run one tool on one problem in a child under RLIMIT_AS = cap_gb and a timeout."""
    with tempfile.TemporaryDirectory(prefix="fs-peer-") as tmp:
        spec_path, out_path = os.path.join(tmp, "spec.json"), os.path.join(tmp, "out.json")
        with open(spec_path, "w") as fh:
            json.dump({"tool": tool, "problem": problem}, fh)
        cap = int(cap_gb * 2**30)

        def limit():  # in the child, before exec
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            os.setsid()

        env = dict(os.environ)
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
            env[k] = str(THREADS)
        env["MALLOC_ARENA_MAX"] = "2"
        env["CUDA_VISIBLE_DEVICES"] = ""
        with open(os.path.join(tmp, "log.txt"), "w") as log_fh:
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", spec_path, out_path],
                                    stdout=log_fh, stderr=subprocess.STDOUT, preexec_fn=limit, env=env)
            timed_out = threading.Event()

            def kill():
                timed_out.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

            timer = threading.Timer(timeout_s, kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - t0
        with open(os.path.join(tmp, "log.txt"), errors="replace") as fh:
            log_tail = fh.read()[-600:]
        result = {}
        if os.path.exists(out_path):
            with open(out_path) as fh:
                result = json.load(fh)
    peak = usage.ru_maxrss / 1024.0
    if timed_out.is_set():
        st, msg = "timeout", f"killed after {timeout_s:.0f} s"
    elif result:
        st, msg = result.get("status", "error"), result.get("message", "")
    elif proc.returncode < 0:
        st, msg = "killed", f"signal {-proc.returncode}; {log_tail.strip().splitlines()[-1] if log_tail.strip() else ''}"
    else:
        last = log_tail.strip().splitlines()[-1] if log_tail.strip() else ""
        st = "oom" if ("MemoryError" in log_tail or "allocate" in log_tail) else "error"
        msg = last[:300]
    run = PeerRun(tool, problem, st, wall, result.get("fit_s"), peak, result.get("rss_before_fit_mb"), msg,
                  {int(k): v for k, v in result.get("models", {}).items()}, result.get("n_features"),
                  {int(k): v for k, v in result.get("combinations", {}).items()}, result.get("dims_done", 0))
    if run.status == "ok":
        check_models(run)
    return run


def evaluate(expr: str, names: list[str], X: np.ndarray) -> np.ndarray:
    """A feature expression (+ - * / ** and parentheses over the primaries' names) on the samples."""
    if not re.fullmatch(r"[A-Za-z0-9_+\-*/(). ]+", expr):
        raise ValueError(f"unexpected characters in the feature {expr!r}")
    scope = {n: X[:, i] for i, n in enumerate(names)}
    with np.errstate(all="ignore"):
        return np.asarray(eval(expr, {"__builtins__": {}}, scope), dtype=float)  # noqa: S307 - checked above


def check_models(run: PeerRun, rtol: float = 1e-6) -> None:
    """Our RMSE of each dimension: evaluate the tool's features, refit; compare with the tool's own."""
    names, X, y = problem_data(run.problem)
    for d, mdl in sorted(run.models.items()):
        try:
            cols = [evaluate(f, names, X) for f in mdl["features"]]
        except Exception as err:  # noqa: BLE001
            run.check[d] = f"cannot evaluate: {err}"
            continue
        A = np.column_stack([np.ones(len(y))] + cols)
        if not np.isfinite(A).all():
            run.check[d] = "non-finite feature values"
            continue
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        run.rmse[d] = float(np.sqrt(np.mean((A @ coef - y) ** 2)))
        own = A @ np.concatenate([[mdl["intercept"]], mdl["coefficients"]])
        run.own_rmse[d] = float(np.sqrt(np.mean((own - y) ** 2)))
        notes = []
        if len(set(mdl["features"])) < len(mdl["features"]):
            notes.append("a feature repeats")
        # the tool's coefficients may be printed rounded (TorchSisso: 10 decimals, its 1D: 6)
        if abs(run.own_rmse[d] - run.rmse[d]) > max(1e-4 * run.rmse[d], 1e-9):
            notes.append(f"its own coefficients give {run.own_rmse[d]:.5f}")
        claimed = mdl.get("claimed_rmse")
        if claimed is not None and abs(claimed - run.rmse[d]) > rtol * max(run.rmse[d], 1e-12) + 1e-12:
            notes.append(f"it reports {claimed:.5f}")
        run.check[d] = "; ".join(notes) if notes else "OK"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="child process of the peer comparison (internal)")
    ap.add_argument("--worker", nargs=2, metavar=("SPEC", "OUT"), required=True)
    args = ap.parse_args(argv)
    sys.path.insert(0, HERE)
    return worker(*args.worker)


if __name__ == "__main__":
    sys.exit(main())
