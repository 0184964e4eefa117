"""Independent pure-numpy reference ("oracle") for the formulasearch C++ core.

Everything here is deliberately simple: candidates are built by explicit loops
in the documented enumeration order, values are plain float64 numpy
arithmetic, and the combination search is brute force with np.linalg.lstsq.
It is meant to be slow and obviously correct, not fast.

Grammar (Gajera et al., arXiv 2202.07372; see shared/docs/paper-method.md)
-------------------------------------------------------------------------
Families applied to a primary variable x (string forms use the variable name):

    g0: x          -> "x"
    g1: x*x        -> "x^2"
    g2: x*x*x      -> "x^3"
    g3: sqrt(|x|)  -> "sqrt(|x|)"
    g4: exp(x)     -> "exp(x)"

Numerators (per class, class order outer), family pairs fi <= fj in
lexicographic order, then u over the class variables, then v over the class
variables, skipping fi == fj and u == v; each (u, v) emits "U + V" then "U - V".

Denominators (per class, per variable): sqrt(|x|), exp(x), x^2, x^3.

Generation 1: "(num)/den" for every numerator (outer) and denominator (inner).
Generation 2: as 1, only when class(num) != class(den).
Generation 3: "(num_i)/(num_j)" for i < j (i outer); variant "classes" keeps
              only pairs of different classes, variant "paper" keeps all.
Generation 4: blocks per class; family pairs (0,0),(1,1),(2,2) -> "U + V",
              "U - V"; (3,3),(4,4) -> "U*V", "U/V", "V/U"; (0,3),(1,3),(2,3) ->
              "U*V"; then block_i / block_j for i < j over all blocks.  The
              left block is parenthesised only when it is a sum/difference,
              the right block always.

Candidate k of every generation is a pair (left item, right item); the map
k -> (left, right) is computed from per-row counts, so any slice or any set of
candidate indices can be evaluated without building the whole generation
(generation 3 is 1,804,050 x n_samples).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "FAMILY_NAMES",
    "family_string",
    "family_value",
    "numerator_terms",
    "denominator_terms",
    "gen4_blocks",
    "paper_candidate_count",
    "paper_candidate_strings",
    "paper_candidates",
    "screen",
    "ols_metrics",
    "best_1d",
    "best_2d",
    "best_3d",
    "scaled_lstsq",
    "numpy_value",
    "close",
    "load_octet",
    "octet_dir",
    "octet_oracle",
    "OCTET_CLASSES",
    "SHARED_OCTET",
]

FAMILY_NAMES = ("x", "x^2", "x^3", "sqrt(|x|)", "exp(x)")

# The paper's classes for the octet data, by property name.
OCTET_CLASSES = (("IP", "EA"), ("rs", "rp", "rd"), ("HOMO", "LUMO"))


# ---------------------------------------------------------------------------
# Unary families
# ---------------------------------------------------------------------------

def family_string(f: int, name: str) -> str:
    if f == 0:
        return name
    if f == 1:
        return name + "^2"
    if f == 2:
        return name + "^3"
    if f == 3:
        return "sqrt(|" + name + "|)"
    if f == 4:
        return "exp(" + name + ")"
    raise ValueError("family must be 0..4")


def family_value(f: int, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        if f == 0:
            return x.copy()
        if f == 1:
            return x * x
        if f == 2:
            return x * x * x
        if f == 3:
            return np.sqrt(np.abs(x))
        if f == 4:
            return np.exp(x)
    raise ValueError("family must be 0..4")


# ---------------------------------------------------------------------------
# Building blocks (strings, values, class index, and for blocks: is-sum flag)
# ---------------------------------------------------------------------------

def _check_inputs(matrix, names, classes):
    if matrix is not None:
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2:
            raise ValueError("matrix must be (n_vars, n_samples)")
        if len(names) != matrix.shape[0]:
            raise ValueError("len(names) must equal matrix.shape[0]")
    classes = [list(map(int, c)) for c in classes]
    return matrix, list(names), classes


def numerator_terms(names, classes, matrix=None):
    """Return (strings, classes_of_terms, values or None) of all numerators."""
    matrix, names, classes = _check_inputs(matrix, names, classes)
    strings, cls, vals = [], [], []
    family_pairs = [(fi, fj) for fi in range(5) for fj in range(fi, 5)]
    for c, cvars in enumerate(classes):
        for fi, fj in family_pairs:
            for u in cvars:
                for v in cvars:
                    if fi == fj and u == v:
                        continue
                    su = family_string(fi, names[u])
                    sv = family_string(fj, names[v])
                    strings.append(su + " + " + sv)
                    strings.append(su + " - " + sv)
                    cls.append(c)
                    cls.append(c)
                    if matrix is not None:
                        a = family_value(fi, matrix[u])
                        b = family_value(fj, matrix[v])
                        with np.errstate(all="ignore"):
                            vals.append(a + b)
                            vals.append(a - b)
    values = None
    if matrix is not None:
        values = (np.array(vals, dtype=np.float64) if vals
                  else np.zeros((0, matrix.shape[1])))
    return strings, np.array(cls, dtype=np.int64), values


_DEN_FAMILIES = (3, 4, 1, 2)  # sqrt(|x|), exp(x), x^2, x^3


def denominator_terms(names, classes, matrix=None):
    """Return (strings, classes_of_terms, values or None) of all denominators."""
    matrix, names, classes = _check_inputs(matrix, names, classes)
    strings, cls, vals = [], [], []
    for c, cvars in enumerate(classes):
        for x in cvars:
            for f in _DEN_FAMILIES:
                strings.append(family_string(f, names[x]))
                cls.append(c)
                if matrix is not None:
                    vals.append(family_value(f, matrix[x]))
    values = None
    if matrix is not None:
        values = (np.array(vals, dtype=np.float64) if vals
                  else np.zeros((0, matrix.shape[1])))
    return strings, np.array(cls, dtype=np.int64), values


_GEN4_PLAN = (
    ((0, 0), ("+", "-")),
    ((1, 1), ("+", "-")),
    ((2, 2), ("+", "-")),
    ((3, 3), ("*", "/", "\\")),   # "\\" = reversed quotient V/U
    ((4, 4), ("*", "/", "\\")),
    ((0, 3), ("*",)),
    ((1, 3), ("*",)),
    ((2, 3), ("*",)),
)


def gen4_blocks(names, classes, matrix=None):
    """Return (strings, classes, is_sum, values or None) of the generation-4 blocks."""
    matrix, names, classes = _check_inputs(matrix, names, classes)
    strings, cls, is_sum, vals = [], [], [], []
    for c, cvars in enumerate(classes):
        for (fi, fj), ops in _GEN4_PLAN:
            for u in cvars:
                for v in cvars:
                    if fi == fj and u == v:
                        continue
                    su = family_string(fi, names[u])
                    sv = family_string(fj, names[v])
                    if matrix is not None:
                        a = family_value(fi, matrix[u])
                        b = family_value(fj, matrix[v])
                    for op in ops:
                        if op == "+":
                            s, summ = su + " + " + sv, True
                        elif op == "-":
                            s, summ = su + " - " + sv, True
                        elif op == "*":
                            s, summ = su + "*" + sv, False
                        elif op == "/":
                            s, summ = su + "/" + sv, False
                        else:
                            s, summ = sv + "/" + su, False
                        strings.append(s)
                        cls.append(c)
                        is_sum.append(summ)
                        if matrix is not None:
                            with np.errstate(all="ignore"):
                                if op == "+":
                                    vals.append(a + b)
                                elif op == "-":
                                    vals.append(a - b)
                                elif op == "*":
                                    vals.append(a * b)
                                elif op == "/":
                                    vals.append(a / b)
                                else:
                                    vals.append(b / a)
    values = None
    if matrix is not None:
        values = (np.array(vals, dtype=np.float64) if vals
                  else np.zeros((0, matrix.shape[1])))
    return strings, np.array(cls, dtype=np.int64), np.array(is_sum, dtype=bool), values


# ---------------------------------------------------------------------------
# Pair structure of a generation: candidate k <-> (left item, right item)
# ---------------------------------------------------------------------------

class _PairPlan:
    """Rows = left items (in order); row r lists its right items (in order).

    Candidate k is the k-th (row, right) pair in row-major order.
    """

    def __init__(self, rows):
        self.rows = [np.asarray(r, dtype=np.int64) for r in rows]
        counts = np.array([len(r) for r in self.rows], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.total = int(self.offsets[-1])
        self.flat = (np.concatenate(self.rows) if self.rows
                     else np.zeros(0, dtype=np.int64))

    def locate(self, ks):
        ks = np.asarray(ks, dtype=np.int64)
        if ks.size and (ks.min() < 0 or ks.max() >= self.total):
            raise IndexError("candidate index out of range")
        lefts = np.searchsorted(self.offsets, ks, side="right") - 1
        rights = self.flat[ks]
        return lefts, rights


def _class_sizes(classes):
    return [len(c) for c in classes]


def _count_numerators_per_class(m):
    # m variables in the class: 10 distinct-family pairs * m^2 * 2
    # + 5 same-family pairs * m(m-1) * 2   ( = 120 n^2 - 20 n for m = 2n )
    return 20 * m * m + 10 * m * (m - 1)


def _count_blocks_per_class(m):
    return 3 * m * (m - 1) * 2 + 2 * m * (m - 1) * 3 + 3 * m * m


def paper_candidate_count(*args, variant="paper", **kwargs):
    """Number of candidates of a generation, computed combinatorially.

    Accepts either ``paper_candidate_count(classes, generation, variant=...)``
    or the same positional arguments as :func:`paper_candidates`:
    ``paper_candidate_count(matrix, names, classes, generation, variant=...)``.
    Only the class sizes matter.
    """
    if "classes" in kwargs:
        classes = kwargs.pop("classes")
        generation = kwargs.pop("generation", args[-1] if args else None)
    elif len(args) >= 4:
        classes, generation = args[2], args[3]
        if len(args) >= 5:
            variant = args[4]
    elif len(args) >= 2:
        classes, generation = args[0], args[1]
        if len(args) >= 3:
            variant = args[2]
    else:
        raise TypeError("need classes and generation")
    kwargs.pop("matrix", None)
    kwargs.pop("names", None)
    if "generation" in kwargs:
        generation = kwargs.pop("generation")
    if kwargs:
        raise TypeError("unexpected arguments: %s" % sorted(kwargs))
    sizes = _class_sizes(classes)
    nums = [_count_numerators_per_class(m) for m in sizes]
    dens = [4 * m for m in sizes]
    N, D = sum(nums), sum(dens)
    generation = int(generation)
    if generation == 1:
        return N * D
    if generation == 2:
        return sum(nums[c] * (D - dens[c]) for c in range(len(sizes)))
    if generation == 3:
        total = N * (N - 1) // 2
        if variant == "paper":
            return total
        if variant == "classes":
            return total - sum(x * (x - 1) // 2 for x in nums)
        raise ValueError("variant must be 'paper' or 'classes'")
    if generation == 4:
        B = sum(_count_blocks_per_class(m) for m in sizes)
        return B * (B - 1) // 2
    raise ValueError("generation must be 1..4")


def _generation_parts(names, classes, generation, variant, matrix):
    """Return (plan, left_strings, right_strings, left_values, right_values, fmt)."""
    generation = int(generation)
    if generation in (1, 2):
        ls, lc, lv = numerator_terms(names, classes, matrix)
        rs, rc, rv = denominator_terms(names, classes, matrix)
        all_r = np.arange(len(rs))
        rows = []
        for i in range(len(ls)):
            if generation == 1:
                rows.append(all_r)
            else:
                rows.append(all_r[rc != lc[i]])

        def fmt(i, j):
            return "(" + ls[i] + ")/" + rs[j]

        return _PairPlan(rows), ls, rs, lv, rv, fmt
    if generation == 3:
        if variant not in ("paper", "classes"):
            raise ValueError("variant must be 'paper' or 'classes'")
        ls, lc, lv = numerator_terms(names, classes, matrix)
        n = len(ls)
        rows = []
        for i in range(n):
            js = np.arange(i + 1, n)
            if variant == "classes":
                js = js[lc[js] != lc[i]]
            rows.append(js)

        def fmt(i, j):
            return "(" + ls[i] + ")/(" + ls[j] + ")"

        return _PairPlan(rows), ls, ls, lv, lv, fmt
    if generation == 4:
        bs, bc, bsum, bv = gen4_blocks(names, classes, matrix)
        n = len(bs)
        rows = [np.arange(i + 1, n) for i in range(n)]

        def fmt(i, j):
            left = "(" + bs[i] + ")" if bsum[i] else bs[i]
            return left + "/(" + bs[j] + ")"

        return _PairPlan(rows), bs, bs, bv, bv, fmt
    raise ValueError("generation must be 1..4")


def _select(total, start, stop, limit, indices):
    if indices is not None:
        if start is not None or stop is not None or limit is not None:
            raise ValueError("give either indices or start/stop/limit")
        idx = np.asarray(indices, dtype=np.int64).ravel()
        return idx
    lo = 0 if start is None else int(start)
    hi = total if stop is None else min(int(stop), total)
    if limit is not None:
        hi = min(hi, lo + int(limit))
    lo = max(0, min(lo, total))
    hi = max(lo, hi)
    return np.arange(lo, hi, dtype=np.int64)


def paper_candidate_strings(names, classes, generation, variant="paper", *,
                            start=None, stop=None, limit=None, indices=None):
    """Strings only (no values) of the selected candidates of a generation."""
    plan, _, _, _, _, fmt = _generation_parts(names, classes, generation, variant, None)
    ks = _select(plan.total, start, stop, limit, indices)
    lefts, rights = plan.locate(ks)
    return [fmt(int(i), int(j)) for i, j in zip(lefts, rights)]


def paper_candidates(matrix, names, classes, generation, variant="paper", *,
                     start=None, stop=None, limit=None, indices=None,
                     with_strings=True, chunk=200_000):
    """Candidates of one generation, in the exact enumeration order of the core.

    Parameters
    ----------
    matrix : (n_vars, n_samples) float64 primary variables.
    names : variable names, e.g. "IP_A".
    classes : list of lists of variable indices.
    generation : 1, 2, 3 or 4.
    variant : "paper" (default) or "classes"; only matters for generation 3.
    start, stop, limit : optional slice of candidate indices [start, stop),
        at most ``limit`` of them (a prefix is ``limit=k``).
    indices : optional explicit candidate indices (e.g. a random subset);
        results come back in the order given.
    with_strings : set False to skip building the strings (returns None).

    Returns
    -------
    (strings, values): list[str] of length K and a (K, n_samples) float64 array.
    Non-finite values are left in place.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    plan, ls, rs, lv, rv, fmt = _generation_parts(names, classes, generation, variant, matrix)
    ks = _select(plan.total, start, stop, limit, indices)
    values = np.empty((ks.size, matrix.shape[1]), dtype=np.float64)
    strings = [] if with_strings else None
    for a in range(0, ks.size, chunk):
        lefts, rights = plan.locate(ks[a:a + chunk])
        with np.errstate(all="ignore"):
            np.divide(lv[lefts], rv[rights], out=values[a:a + lefts.size])
        if with_strings:
            strings.extend(fmt(int(i), int(j)) for i, j in zip(lefts, rights))
    return strings, values


# ---------------------------------------------------------------------------
# Screening
# ---------------------------------------------------------------------------

def screen(values, variance_filter=0.05):
    """Boolean mask of kept candidates.

    Kept = finite for every sample AND NOT (population std == 0 or
    |std/mean| < variance_filter).  (mean == 0 with std > 0 gives an infinite
    ratio and is kept.)
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    finite = np.all(np.isfinite(values), axis=1)
    keep = np.zeros(values.shape[0], dtype=bool)
    v = values[finite]
    with np.errstate(all="ignore"):
        mean = v.mean(axis=1)
        std = v.std(axis=1)          # population std (ddof=0)
        ratio = np.abs(std / mean)
    bad = (std == 0) | (ratio < variance_filter)
    keep[np.nonzero(finite)[0]] = ~bad
    return keep


# ---------------------------------------------------------------------------
# Least squares
# ---------------------------------------------------------------------------

def _design(X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    return np.column_stack([np.ones(X.shape[0]), X])


def ols_metrics(X, y):
    """OLS with intercept of y on the columns of X (n_samples,) or (n_samples, p).

    Returns dict(intercept, coefficients (array of p), rmse, mae, maxae, r2,
    rank) computed with np.linalg.lstsq.
    """
    y = np.asarray(y, dtype=np.float64)
    A = _design(X)
    coef, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)
    res = y - A @ coef
    sse = float(res @ res)
    yc = y - y.mean()
    sst = float(yc @ yc)
    return dict(
        intercept=float(coef[0]),
        coefficients=np.array(coef[1:]),
        rmse=math.sqrt(sse / y.size),
        mae=float(np.mean(np.abs(res))),
        maxae=float(np.max(np.abs(res))),
        r2=1.0 - sse / sst if sst > 0 else float("nan"),
        rank=int(rank),
    )


def scaled_lstsq(X, y):
    """OLS with intercept by numpy lstsq on the column-equilibrated design.

    X is one feature (n_samples,) or features as rows (p, n_samples).
    Scaling the columns to unit norm first keeps lstsq accurate when the
    features differ by many orders of magnitude (plain lstsq then loses ~7
    digits of the intercept, while the fit itself is well conditioned).
    """
    A = np.column_stack([np.ones(y.size), np.atleast_2d(X).T])
    norms = np.linalg.norm(A, axis=0)
    coef_s, _, rank, _ = np.linalg.lstsq(A / norms, y, rcond=None)
    coef = coef_s / norms
    res = y - A @ coef
    sst = float(((y - y.mean()) ** 2).sum())
    return dict(intercept=coef[0], coefficients=coef[1:], rmse=math.sqrt(res @ res / y.size),
                mae=float(np.mean(np.abs(res))), maxae=float(np.max(np.abs(res))), r2=1 - (res @ res) / sst,
                rank=int(rank))


def _lstsq_rmse(A, y):
    """RMSE of the OLS fit of y on design A, or None if A is rank deficient."""
    coef, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)
    if rank < A.shape[1]:
        return None
    res = y - A @ coef
    return math.sqrt(float(res @ res) / y.size)


def _usable(values):
    """Rows that can enter a fit: all finite and not constant."""
    finite = np.all(np.isfinite(values), axis=1)
    ok = finite.copy()
    with np.errstate(all="ignore"):
        ok[finite] = np.ptp(values[finite], axis=1) > 0
    return ok


def _pearson_abs(values):
    with np.errstate(all="ignore"):
        return np.abs(np.corrcoef(values))


def _topk(results, top):
    results.sort(key=lambda t: (t[1], t[0]))
    return results[:top]


def best_1d(values, y, top, method="closed"):
    """Best ``top`` single candidates by full-set OLS RMSE.

    Returns a list of ((i,), rmse) sorted by rmse, ties by index.  Candidates
    that are non-finite or constant are skipped.  ``method="closed"`` uses an
    explicit numpy slope/intercept + residual computation (vectorised);
    ``method="lstsq"`` calls np.linalg.lstsq per candidate.  The two agree
    (see check_reference_counts.py).
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64)
    ok = np.nonzero(_usable(values))[0]
    results = []
    if method == "lstsq":
        for i in ok:
            r = _lstsq_rmse(_design(values[i]), y)
            if r is not None:
                results.append(((int(i),), r))
        return _topk(results, top)
    if method != "closed":
        raise ValueError("method must be 'closed' or 'lstsq'")
    for a in range(0, ok.size, 20000):
        idx = ok[a:a + 20000]
        X = values[idx]
        xm = X.mean(axis=1, keepdims=True)
        Xc = X - xm
        ym = y.mean()
        slope = (Xc @ (y - ym)) / np.einsum("ij,ij->i", Xc, Xc)
        intercept = ym - slope * xm[:, 0]
        res = y[None, :] - (intercept[:, None] + slope[:, None] * X)
        rmse = np.sqrt(np.mean(res * res, axis=1))
        results.extend(((int(i),), float(r)) for i, r in zip(idx, rmse))
    return _topk(results, top)


def _best_nd(values, y, top, max_pair_corr, d):
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64)
    ok = np.nonzero(_usable(values))[0]
    R = _pearson_abs(values[ok]) if ok.size else np.zeros((0, 0))
    results = []
    for combo in itertools.combinations(range(ok.size), d):
        if max_pair_corr is not None:
            if any(not (R[p, q] < max_pair_corr)
                   for p, q in itertools.combinations(combo, 2)):
                continue
        members = [int(ok[c]) for c in combo]
        r = _lstsq_rmse(_design(values[members].T), y)
        if r is not None:
            results.append((tuple(members), r))
    return _topk(results, top)


def best_2d(values, y, top, max_pair_corr=0.9):
    """Best ``top`` pairs (i < j) by OLS RMSE with intercept (brute force lstsq).

    A pair is valid only if |Pearson r| < max_pair_corr (None = no limit),
    both members are finite and non-constant, and the design has full rank
    (lstsq rank with its default rcond).  Returns [((i, j), rmse), ...].
    """
    return _best_nd(values, y, top, max_pair_corr, 2)


def best_3d(values, y, top, max_pair_corr=0.9):
    """Best ``top`` triples (i < j < k); same rules as :func:`best_2d`."""
    return _best_nd(values, y, top, max_pair_corr, 3)


# ---------------------------------------------------------------------------
# Postfix formula codes (Model.codes) evaluated with plain numpy
# ---------------------------------------------------------------------------

# Powers as repeated products, as the C++ core computes them.
_UNARY = {
    "^2": lambda x: x * x, "^3": lambda x: x * x * x, "^6": lambda x: (x * x * x) ** 2, "^-1": lambda x: 1.0 / x,
    "sqrt": np.sqrt, "sqrt|": lambda x: np.sqrt(np.abs(x)), "cbrt": np.cbrt, "exp": np.exp,
    "exp-": lambda x: np.exp(-x), "log": np.log, "abs": np.abs, "sin": np.sin, "cos": np.cos,
}
_BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "|-|": lambda a, b: np.abs(a - b)}


def numpy_value(code: str, columns: dict[str, np.ndarray]) -> np.ndarray:
    """Values of a postfix code (e.g. "IP_A rs_B ^2 /") on {variable: values};
    a token that is neither an operator nor a variable is a numeric constant."""
    stack = []
    for token in code.split():
        if token in _BINARY:
            b, a = stack.pop(), stack.pop()
            stack.append(_BINARY[token](a, b))
        elif token in _UNARY:
            stack.append(_UNARY[token](stack.pop()))
        elif token in columns:
            stack.append(np.asarray(columns[token], dtype=float))
        else:
            stack.append(np.full(len(next(iter(columns.values()))), float(token)))
    assert len(stack) == 1, code
    return stack[0]


def close(a, b, tol=1e-10):
    """Same shape and max |a - b| / max(1, |b|) below tol."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    return np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))) < tol


# ---------------------------------------------------------------------------
# Octet data helper
# ---------------------------------------------------------------------------

def load_octet(data_dir="/work/shared/data/octet82", class_props=OCTET_CLASSES):
    """Load the octet-82 data.

    Returns (matrix, names, classes, y, compounds) where the variables of a
    class are [p_A, p_B for p in class] and y is dE.
    """
    import os

    import pandas as pd

    atoms = pd.read_csv(os.path.join(data_dir, "atoms.csv")).set_index("symbol")
    comp = pd.read_csv(os.path.join(data_dir, "compounds.csv"))
    rows, names, classes = [], [], []
    for props in class_props:
        cls = []
        for p in props:
            for site in ("A", "B"):
                cls.append(len(names))
                names.append(p + "_" + site)
                rows.append(atoms.loc[comp[site].values, p].to_numpy(dtype=np.float64))
        classes.append(cls)
    matrix = np.vstack(rows)
    y = comp["dE"].to_numpy(dtype=np.float64)
    compounds = list(comp["A"] + comp["B"])
    return matrix, names, classes, y, compounds


# The shared octet-82 CSVs (compounds.csv, atoms.csv) of the workspace.
SHARED_OCTET = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "octet82"


@functools.lru_cache(maxsize=1)
def octet_dir() -> str:
    """A folder with the octet compounds.csv and atoms.csv.

    The shared CSVs when present; otherwise the package's built-in tables
    written to CSV in a temporary folder (their equality with the CSVs is
    tested in test_datasets).  formulasearch is imported only in that
    fallback, so the oracle itself stays independent of the package.
    """
    if (SHARED_OCTET / "compounds.csv").exists() and (SHARED_OCTET / "atoms.csv").exists():
        return str(SHARED_OCTET)
    import formulasearch

    ds = formulasearch.data.datasets.octet()
    data_dir = tempfile.mkdtemp(prefix="octet82_")
    ds.compounds.to_csv(os.path.join(data_dir, "compounds.csv"), index=False)
    ds.atoms.reset_index().to_csv(os.path.join(data_dir, "atoms.csv"), index=False)
    return data_dir


@functools.lru_cache(maxsize=1)
def octet_oracle():
    """(matrix, names, classes, y) of the octet data, read by the oracle from octet_dir()'s CSVs."""
    matrix, names, classes, y, _ = load_octet(octet_dir())
    return np.ascontiguousarray(matrix), names, classes, y
