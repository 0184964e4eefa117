"""Formula refinement: a coefficient on each term of a formula, tuned by grid search and a continuous polish.

The method of Gajera et al. (arXiv 2202.07372, "grid-search optimization"): put a
coefficient on each term of a kept formula, e.g. (a*rp_B^3 - b*exp(rs_B))/rp_A^2,
search the coefficients on a grid (the authors: [-10, 10) in steps of 0.1 for one
coefficient, 0.4 for two), refitting the model's OLS intercept and slopes at every
grid point and keeping the lowest full-set MSE. Here the grid optimum is then
polished with a continuous optimiser (scipy.optimize, Nelder-Mead).

- The *terms* of a formula are the operands of its +, - and |-| nodes, in postfix
  order (the position of each operand's root in the postfix code). A formula
  without such nodes has no terms and is left as it is.
- A coefficient c on a term t replaces t by c*t; constants already in the formula
  are kept as they are (refining a refined formula adds new coefficients).
- Each formula of a model is refined in turn, the others fixed at their current
  (already refined) form, with at most ``max_coefficients`` coefficients on its first
  terms. At every grid point the whole model (all its features and the intercept) is
  refit by OLS. A refinement is kept only when it lowers the full-set MSE (by more
  than rounding noise); otherwise the formula stays unchanged.

The grid is evaluated by the C++ core in one call per chunk of grid points: each
coefficient becomes an extra variable of the formula, and the samples are repeated once
per grid point with that point's coefficients beside them. The OLS refit of every grid
point is the one-column update of a fixed projection onto [1, other features].
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from .. import _core
from ..formula import expression_tree, fold, latex_name
from ..results import Model

Formula = _core.Formula

_SUMS = ("+", "-", "|-|")
#: MSEs within this relative distance of the grid minimum count as ties (first in grid order wins).
TIE_RTOL = 1e-12
#: a refinement is kept only when it lowers the full-set MSE by more than this fraction (rounding noise).
IMPROVE_RTOL = 1e-12
#: a grid feature whose part outside span[1, other features] is below this fraction of its norm
#: adds nothing to the fit (e.g. all coefficients zero).
_COLLINEAR_RTOL = 1e-10
#: grid points evaluated at once, as (points x samples) doubles.
_CHUNK_ELEMENTS = 1 << 21


# --------------------------------------------------------------------------
# the formula tree, read through the one postfix walker

@dataclass(frozen=True)
class _Tree:
    """A formula code's nodes in postfix order: each node's token and operand positions."""

    code: str
    names: tuple[str, ...]
    tokens: tuple[str, ...]
    args: tuple[tuple[int, ...], ...]

    @classmethod
    def read(cls, code: str, names: Sequence[str]) -> "_Tree":
        Formula.from_postfix(code, list(names))  # the core's own check: unknown tokens, malformed codes
        tokens: list[str] = []
        args: list[tuple[int, ...]] = []

        def visit(token: str, operands: list[int] = ()) -> int:  # fold calls it once per token, in code order
            tokens.append(token)
            args.append(tuple(operands))
            return len(tokens) - 1

        fold(code, visit, visit)
        return cls(code, tuple(names), tuple(tokens), tuple(args))

    def term_positions(self) -> list[int]:
        """Postfix positions of the operands of the +, - and |-| nodes: where coefficients go."""
        return sorted({a for token, args in zip(self.tokens, self.args) if token in _SUMS for a in args})

    def build(self, coefficient_at: dict[int, Formula]) -> list[Formula]:
        """The Formula of every node, with c*(subtree) at the positions in coefficient_at (c a Formula)."""
        index = {n: i for i, n in enumerate(self.names)}
        built: list[Formula] = []
        for pos, (token, args) in enumerate(zip(self.tokens, self.args)):
            if not args:
                f = Formula.variable(index[token]) if token in index else Formula.constant(float(token))
            elif len(args) == 1:
                f = Formula.unary(token, built[args[0]])
            else:
                f = Formula.binary(token, built[args[0]], built[args[1]])
            if pos in coefficient_at:
                f = Formula.binary("*", coefficient_at[pos], f)
            built.append(f)
        return built


def terms(code: str, names: Sequence[str]) -> list:
    """The terms of a formula (the operands of its +, - and |-| nodes, in postfix order) as Formulas.

    These are the places a coefficient goes. [] when the formula has no such node.
    """
    tree = _Tree.read(code, names)
    built = tree.build({})
    return [built[p] for p in tree.term_positions()]


def with_coefficients(code: str, names: Sequence[str], coeffs: Sequence[float]) -> Any:
    """The formula with c*term for its first len(coeffs) terms (a Formula).

    Raises ValueError when coeffs is longer than the formula's list of terms.
    """
    tree = _Tree.read(code, names)
    positions = tree.term_positions()
    if len(coeffs) > len(positions):
        raise ValueError(f"{len(coeffs)} coefficients for a formula with {len(positions)} terms: {code}")
    return tree.build({p: Formula.constant(float(c)) for p, c in zip(positions, coeffs)})[-1]


# --------------------------------------------------------------------------
# evaluation with coefficient grids, by the core

class _GridFormula:
    """The formula with a coefficient variable on each chosen term, evaluated by the core for many
    coefficient vectors at once (the samples repeated once per vector)."""

    def __init__(self, tree: _Tree, positions: Sequence[int], matrix: np.ndarray):
        n_vars = len(tree.names)
        self.formula = tree.build({p: Formula.variable(n_vars + j) for j, p in enumerate(positions)})[-1]
        self.matrix = np.ascontiguousarray(matrix, dtype=float)

    def values(self, coefficients: np.ndarray) -> np.ndarray:
        """(points, samples): the formula's values for each row of coefficients (points x k)."""
        points, n = coefficients.shape[0], self.matrix.shape[1]
        primaries = np.vstack([np.tile(self.matrix, points), np.repeat(coefficients.T, n, axis=1)])
        return np.asarray(self.formula.evaluate(primaries)).reshape(points, n)


class _Refit:
    """Full-set MSE of the OLS fit y ~ 1 + fixed features + one varying feature, for many features at once."""

    def __init__(self, fixed: np.ndarray, y: np.ndarray):
        n = y.size
        design = np.column_stack([np.ones(n)] + [f for f in fixed])
        u, s, _ = np.linalg.svd(design, full_matrices=False)
        rank = int(np.sum(s > s[0] * max(design.shape) * np.finfo(float).eps))
        self.q = u[:, :rank]
        self.ry = y - self.q @ (self.q.T @ y)
        self.n = n
        self.sse0 = float(self.ry @ self.ry)

    def mse(self, features: np.ndarray) -> np.ndarray:
        """MSE for each row of features (points x samples); inf where a value is not finite."""
        f = np.atleast_2d(features)
        ok = np.all(np.isfinite(f), axis=1)
        out = np.full(f.shape[0], np.inf)
        if not ok.any():
            return out
        f = f[ok]
        r = f - (f @ self.q) @ self.q.T
        rr = np.einsum("ij,ij->i", r, r)
        ff = np.einsum("ij,ij->i", f, f)
        independent = rr > (_COLLINEAR_RTOL ** 2) * ff
        sse = np.full(f.shape[0], self.sse0)
        if independent.any():
            ri = r[independent]
            beta = (ri @ self.ry) / rr[independent]
            resid = self.ry[None, :] - beta[:, None] * ri
            sse[independent] = np.einsum("ij,ij->i", resid, resid)
        out[ok] = sse / self.n
        return out


# --------------------------------------------------------------------------
# the grid and the search

def default_step(n_coefficients: int) -> float:
    """The paper's grid steps: 0.1 for one coefficient, 0.4 for two, 1.0 beyond."""
    return 0.1 if n_coefficients <= 1 else 0.4 if n_coefficients == 2 else 1.0


def grid_points(lower: float, upper: float, step: float) -> np.ndarray:
    """lower, lower + step, ... below upper (upper excluded), rounded to 12 decimals."""
    count = max(1, math.ceil((upper - lower) / step - 1e-9))
    return np.round(lower + step * np.arange(count), 12)


def grid_search(code: str, names: Sequence[str], matrix: np.ndarray, y: np.ndarray, fixed: np.ndarray,
                n_coefficients: int, points: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Grid of coefficients on the first terms of one formula, the whole model refit at each point.

    fixed: the model's other features (k x samples, k may be 0). Grid order is
    itertools.product(points, repeat=n_coefficients) (the first coefficient outermost).
    Returns (best coefficients, its MSE, the MSE of every grid point in grid order);
    ties within TIE_RTOL of the minimum go to the first in grid order.
    """
    tree = _Tree.read(code, names)
    positions = tree.term_positions()[:n_coefficients]
    k = len(positions)
    grid = _GridFormula(tree, positions, matrix)
    refit = _Refit(np.reshape(fixed, (-1, y.size)), np.asarray(y, dtype=float))
    mesh = np.stack(np.meshgrid(*([points] * k), indexing="ij"), axis=-1).reshape(-1, k)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, y.size * (len(names) + k)))  # the repeated primaries of a chunk
    mses = np.empty(mesh.shape[0])
    for lo in range(0, mesh.shape[0], chunk):
        mses[lo:lo + chunk] = refit.mse(grid.values(mesh[lo:lo + chunk]))
    best = float(mses.min())
    if not math.isfinite(best):
        return mesh[0], math.inf, mses
    first = int(np.argmax(mses <= best * (1.0 + TIE_RTOL)))
    return mesh[first], float(mses[first]), mses


def _polish(grid: _GridFormula, refit: _Refit, start: np.ndarray, step: float) -> tuple[np.ndarray, float]:
    from scipy.optimize import minimize  # scipy.optimize is slow to import: only refinement needs it

    def objective(c: np.ndarray) -> float:
        return float(refit.mse(grid.values(np.asarray(c, dtype=float)[None, :]))[0])

    k = start.size
    simplex = np.vstack([start] + [start + 0.5 * step * np.eye(k)[j] for j in range(k)])
    res = minimize(objective, start, method="Nelder-Mead",
                   options={"initial_simplex": simplex, "xatol": 1e-10, "fatol": 1e-16,
                            "maxiter": 4000 * k, "maxfev": 4000 * k})
    return np.asarray(res.x, dtype=float), float(objective(res.x))


def refine_model(model: Model, matrix: np.ndarray, names: Sequence[str], y: np.ndarray, refine_cfg,
                 cv: Callable[[np.ndarray], float | None] | None = None,
                 latex_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Refine the formulas of a model: coefficients on their terms, grid then continuous.

    matrix: primaries (variables x samples) that the codes' names refer to; y: target.
    refine_cfg: a RefineConfig (lower, upper, step, continuous, max_coefficients).
    cv: the out-of-sample error of a model with these formula values (d x samples), e.g.
    validation.model_cv with the run's settings (None: no CV).

    Returns a plain dict:
      model              the refined Model (new; candidates = []; units kept) - or, when no
                         formula was changed, a copy of the input model
      refined            True when some formula was changed
      constants          per formula: the coefficients put on its first terms ([] if unchanged)
      grid_best          per formula: the grid optimum's coefficients (None: no terms)
      grid_best_mse      per formula: the grid optimum's full-set MSE (None: no terms)
      mse, mse_unrefined full-set MSE of the refined and of the input formulas (OLS refit)
      cv_rmse, cv_rmse_unrefined   cv of the refined / input formulas (None: no CV)
      notes              what happened to each formula, in words
      seconds            wall time
    """
    t0 = time.perf_counter()
    names = list(names)
    matrix = np.ascontiguousarray(matrix, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    latex_names = list(latex_names) if latex_names is not None else [latex_name(n) for n in names]
    codes = list(model.codes)
    values = model.values(names, matrix)
    unrefined = values.copy()
    base = _core.fit_linear(values, y)
    mse_unrefined = float(base.rmse) ** 2
    current_mse = mse_unrefined

    constants: list[list[float]] = [[] for _ in codes]
    grid_best: list[list[float] | None] = [None for _ in codes]
    grid_best_mse: list[float | None] = [None for _ in codes]
    notes: list[str] = []
    for j, code in enumerate(codes):
        tree = _Tree.read(code, names)
        positions = tree.term_positions()
        label = f"formula {j + 1} ({model.formulas[j] if j < len(model.formulas) else code})"
        if not positions:
            notes.append(f"{label}: no +, - or |-| terms, nothing to refine")
            continue
        k = min(int(refine_cfg.max_coefficients), len(positions))
        positions = positions[:k]
        step = float(refine_cfg.step) if refine_cfg.step is not None else default_step(k)
        points = grid_points(float(refine_cfg.lower), float(refine_cfg.upper), step)
        fixed = np.delete(values, j, axis=0)
        best, best_mse, _ = grid_search(code, names, matrix, y, fixed, k, points)
        grid_best[j] = [float(c) for c in best]
        grid_best_mse[j] = best_mse
        how = f"{len(points)}^{k} grid, step {step:g}"
        final, final_mse = best, best_mse
        if refine_cfg.continuous and math.isfinite(best_mse):
            polished, polished_mse = _polish(_GridFormula(tree, positions, matrix), _Refit(fixed, y), best, step)
            if polished_mse < final_mse:
                final, final_mse = polished, polished_mse
                how += " + Nelder-Mead"
        if not current_mse - final_mse > IMPROVE_RTOL * current_mse + 1e-20 * float(np.var(y)):
            notes.append(f"{label}: {k} coefficient(s), {how}: no improvement (MSE {final_mse:.6g} vs "
                         f"{current_mse:.6g}), kept unchanged")
            continue
        refined = with_coefficients(code, names, final)
        codes[j] = refined.to_postfix(names)
        values[j] = refined.evaluate(matrix)
        constants[j] = [float(c) for c in final]
        notes.append(f"{label}: {k} coefficient(s) {', '.join(f'{c:.6g}' for c in final)} ({how}); "
                     f"MSE {current_mse:.6g} -> {final_mse:.6g}")
        current_mse = final_mse

    changed = any(constants)
    if changed:
        fit = _core.fit_linear(values, y)
        formulas = [Formula.from_postfix(c, names) for c in codes]
        new = Model(dimension=model.dimension, formulas=[f.to_string(names) for f in formulas], codes=codes,
                    intercept=fit.intercept, coefficients=fit.coefficients.tolist(), rmse=fit.rmse,
                    mae=fit.mae, maxae=fit.maxae, r2=fit.r2, candidates=[],
                    latex=[f.to_latex(latex_names) for f in formulas], units=list(model.units),
                    trees=[expression_tree(c) for c in codes])
        mse = float(fit.rmse) ** 2
    else:
        new = replace(model)
        mse = mse_unrefined
    cv_rmse = cv_unrefined = None
    if cv is not None:
        cv_unrefined = cv(unrefined)
        cv_rmse = cv(values) if changed else cv_unrefined
    return {"model": new, "refined": changed, "constants": constants, "grid_best": grid_best,
            "grid_best_mse": grid_best_mse, "mse": mse, "mse_unrefined": mse_unrefined, "cv_rmse": cv_rmse,
            "cv_rmse_unrefined": cv_unrefined, "notes": notes, "seconds": time.perf_counter() - t0}
