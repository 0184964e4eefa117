"""Tests of formulasearch.search.refine: coefficients on the terms of a formula, grid then continuous.

Every check is against an independent numpy evaluation of the formulas and numpy lstsq.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from formulasearch import _core, build_primaries, datasets
from formulasearch.config import RefineConfig, ValidationConfig
from formulasearch.validation import model_cv
from formulasearch.search.refine import grid_points, grid_search, refine_model, terms, with_coefficients
from formulasearch.results import Model

F = _core.Formula
ACCEPT = "rp_B ^3 rs_B exp - rp_A ^2 /"  # (rp_B^3 - exp(rs_B))/rp_A^2
OTHER = "IP_B EA_B - rs_A ^2 /"  # (IP_B - EA_B)/rs_A^2
NO_TERMS = "rp_A ^2 rs_B /"


def cv_of(settings, y):
    """The refinement's CV callback, as the pipeline builds it."""
    return lambda values: model_cv(values, y, settings)


@pytest.fixture(scope="module")
def octet():
    p = build_primaries(datasets.octet())
    names = list(p.names)
    matrix = np.asarray(p.matrix, dtype=float)
    y = np.asarray(p.target, dtype=float)
    cols = {n: matrix[i] for i, n in enumerate(names)}
    return names, matrix, y, cols


# --------------------------------------------------------------------------
# independent numpy: formula values and OLS

_UN = {"^2": lambda x: x ** 2, "^3": lambda x: x ** 3, "^6": lambda x: x ** 6, "^-1": lambda x: 1 / x,
       "sqrt": np.sqrt, "sqrt|": lambda x: np.sqrt(abs(x)), "cbrt": np.cbrt, "exp": np.exp,
       "exp-": lambda x: np.exp(-x), "log": np.log, "abs": np.abs, "sin": np.sin, "cos": np.cos}
_BIN = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
        "|-|": lambda a, b: abs(a - b)}


def np_value(code: str, cols: dict[str, np.ndarray]) -> np.ndarray:
    stack: list = []
    for tok in code.split():
        if tok in cols:
            stack.append(cols[tok])
        elif tok in _BIN:
            b, a = stack.pop(), stack.pop()
            stack.append(_BIN[tok](a, b))
        elif tok in _UN:
            stack.append(_UN[tok](stack.pop()))
        else:
            stack.append(float(tok))
    return np.broadcast_to(stack[0], next(iter(cols.values())).shape).astype(float)


def np_ols(features: list[np.ndarray], y: np.ndarray) -> tuple[float, np.ndarray]:
    """(MSE, [intercept, slopes...]) by numpy lstsq."""
    X = np.column_stack([np.ones(y.size)] + list(features))
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    r = y - X @ beta
    return float(r @ r) / y.size, beta


def make_model(codes: list[str], names, matrix, y) -> Model:
    formulas = [F.from_postfix(c, names) for c in codes]
    fit = _core.fit_linear(np.vstack([f.evaluate(matrix) for f in formulas]), y)
    return Model(dimension=len(codes), formulas=[f.to_string(names) for f in formulas], codes=codes,
                 intercept=fit.intercept, coefficients=fit.coefficients.tolist(), rmse=fit.rmse,
                 mae=fit.mae, maxae=fit.maxae, r2=fit.r2, candidates=list(range(len(codes))))


# --------------------------------------------------------------------------
# (a) the acceptance case

def test_acceptance_octet_two_coefficients(octet):
    names, matrix, y, cols = octet
    rpB, rsB, rpA = cols["rp_B"], cols["rs_B"], cols["rp_A"]
    mse0, _ = np_ols([(rpB ** 3 - np.exp(rsB)) / rpA ** 2], y)
    assert np.sqrt(mse0) == pytest.approx(0.11926, abs=5e-6)

    model = make_model([ACCEPT], names, matrix, y)
    out = refine_model(model, matrix, names, y, RefineConfig(max_coefficients=2), cv_of(ValidationConfig(method="loo"), y))
    refined = out["model"]
    assert out["refined"] and refined.dimension == 1 and refined.candidates == []
    c1, c2 = out["constants"][0]
    # the formula the model reports is (c1*rp_B^3 - c2*exp(rs_B))/rp_A^2
    expected = (c1 * rpB ** 3 - c2 * np.exp(rsB)) / rpA ** 2
    reported = F.from_postfix(refined.codes[0], names).evaluate(matrix)
    np.testing.assert_allclose(reported, expected, rtol=1e-13, atol=0)
    mse, beta = np_ols([expected], y)
    assert np.sqrt(mse) <= 0.1180  # the published claim: refinement lowers 0.11926 to <= 0.1180
    assert refined.rmse == pytest.approx(np.sqrt(mse), rel=1e-10)
    assert out["mse"] == pytest.approx(mse, rel=1e-10)
    assert out["mse_unrefined"] == pytest.approx(mse0, rel=1e-10)
    assert refined.intercept == pytest.approx(beta[0], rel=1e-9, abs=1e-12)
    assert refined.coefficients[0] == pytest.approx(beta[1], rel=1e-9)
    # the 0.4 grid (the paper's step for two coefficients) was used, then polished
    g = np.array(out["grid_best"][0])
    np.testing.assert_allclose((g + 10) / 0.4, np.round((g + 10) / 0.4), atol=1e-9)
    assert out["mse"] <= out["grid_best_mse"][0]
    # CV of both versions through validation.model_cv (LOO here: closed form, checked with numpy)
    for feats, key in (([expected], "cv_rmse"), ([(rpB ** 3 - np.exp(rsB)) / rpA ** 2], "cv_rmse_unrefined")):
        X = np.column_stack([np.ones(y.size)] + feats)
        H = X @ np.linalg.pinv(X)
        e = (y - H @ y) / (1 - np.diag(H))
        assert out[key] == pytest.approx(np.sqrt(e @ e / y.size), rel=1e-8)
    assert refined.latex and refined.trees and "rp_B" in refined.formulas[0]


def test_acceptance_grid_evaluates_every_point(octet):
    """The 50 x 50 grid of the paper's two-coefficient refinement: every point scored (its time is printed,
    not asserted: these machines are shared)."""
    names, matrix, y, _ = octet
    points = grid_points(-10.0, 10.0, 0.4)
    t0 = time.perf_counter()
    best, best_mse, mses = grid_search(ACCEPT, names, matrix, y, np.empty((0, y.size)), 2, points)
    print(f"50 x 50 grid: {time.perf_counter() - t0:.3f} s")
    assert mses.shape == (len(points) ** 2,) and np.isfinite(mses).sum() > 0.9 * mses.size
    assert mses.min() <= best_mse <= mses.min() * (1 + 1e-12)  # ties within TIE_RTOL go to the first point


# --------------------------------------------------------------------------
# (b) the grid optimum against a brute-force numpy grid

def _brute(y, fixed: list[np.ndarray], feature_at, points, k):
    mses = []
    for combo in itertools.product(points, repeat=k):
        v = feature_at(*combo)
        mses.append(np.inf if not np.all(np.isfinite(v)) else np_ols(fixed + [v], y)[0])
    return np.array(mses), list(itertools.product(points, repeat=k))


def _check_grid(mine, brute, combos):
    best_idx = int(np.argmax(brute <= brute.min() * (1 + 1e-10)))  # ties: first in grid order
    coeffs, mse, all_mses = mine
    np.testing.assert_allclose(all_mses, brute, rtol=1e-9)
    np.testing.assert_allclose(coeffs, combos[best_idx], atol=1e-12)
    assert mse == pytest.approx(brute[best_idx], rel=1e-10)


def test_grid_optimum_matches_brute_force_two_coefficients(octet):
    names, matrix, y, cols = octet
    points = -10 + 0.4 * np.arange(50)
    brute, combos = _brute(y, [], lambda a, b: (a * cols["rp_B"] ** 3 - b * np.exp(cols["rs_B"])) / cols["rp_A"] ** 2,
                           points, 2)
    assert len(combos) == 2500
    mine = grid_search(ACCEPT, names, matrix, y, np.empty((0, y.size)), 2, grid_points(-10, 10, 0.4))
    _check_grid(mine, brute, combos)
    # refine_model reports the same grid optimum
    out = refine_model(make_model([ACCEPT], names, matrix, y), matrix, names, y,
                       RefineConfig(max_coefficients=2, continuous=False))
    np.testing.assert_allclose(out["grid_best"][0], mine[0], atol=1e-12)
    assert out["constants"][0] == out["grid_best"][0]
    assert out["mse"] == pytest.approx(out["grid_best_mse"][0], rel=1e-10)


def test_grid_optimum_matches_brute_force_whole_model_refit(octet):
    """One coefficient on the second formula of a 2D model: the whole model (both features) refit."""
    names, matrix, y, cols = octet
    other = np_value(ACCEPT, cols)
    points = -10 + 0.1 * np.arange(200)
    brute, combos = _brute(y, [other], lambda a: (a * cols["IP_B"] - cols["EA_B"]) / cols["rs_A"] ** 2, points, 1)
    mine = grid_search(OTHER, names, matrix, y, other[None, :], 1, grid_points(-10, 10, 0.1))
    _check_grid(mine, brute, combos)


# --------------------------------------------------------------------------
# (c) continuous never worse than grid

@pytest.mark.parametrize("codes,k", [([ACCEPT], 1), ([ACCEPT], 2), ([OTHER], 1), ([OTHER, ACCEPT], 2),
                                     (["IP_A EA_B - rs_A rp_B + /"], 3)])
def test_continuous_never_worse_than_grid(octet, codes, k):
    names, matrix, y, cols = octet
    model = make_model(codes, names, matrix, y)
    grid_only = refine_model(model, matrix, names, y, RefineConfig(max_coefficients=k, continuous=False))
    polished = refine_model(model, matrix, names, y, RefineConfig(max_coefficients=k))
    assert polished["grid_best"][0] == grid_only["grid_best"][0]
    for out in (grid_only, polished):
        final = np_ols([np_value(c, cols) for c in out["model"].codes], y)[0]
        assert out["mse"] == pytest.approx(final, rel=1e-9)
        for g in out["grid_best_mse"]:
            if g is not None:
                assert out["mse"] <= g * (1 + 1e-12)
    assert polished["mse"] <= grid_only["mse"] * (1 + 1e-12)


# --------------------------------------------------------------------------
# (d) a 2D model

def test_two_dimensional_model_improves_or_keeps(octet):
    names, matrix, y, cols = octet
    codes = [ACCEPT, OTHER]
    model = make_model(codes, names, matrix, y)
    before = np_ols([np_value(c, cols) for c in codes], y)[0]
    out = refine_model(model, matrix, names, y, RefineConfig(max_coefficients=2), cv_of(ValidationConfig(method="kfold"), y))
    refined = out["model"]
    after, beta = np_ols([np_value(c, cols) for c in refined.codes], y)
    assert after <= before
    assert out["mse_unrefined"] == pytest.approx(before, rel=1e-10)
    assert refined.rmse == pytest.approx(np.sqrt(after), rel=1e-10)
    np.testing.assert_allclose([refined.intercept] + refined.coefficients, beta, rtol=1e-8, atol=1e-10)
    assert refined.dimension == 2 and len(refined.formulas) == len(refined.latex) == len(out["constants"]) == 2
    for code, cs in zip(refined.codes, out["constants"]):  # each changed formula carries its constants
        assert F.from_postfix(code, names).constants[:len(cs)] == pytest.approx(cs, rel=1e-15)
    assert out["cv_rmse"] is not None and out["cv_rmse_unrefined"] is not None


def test_no_improvement_keeps_the_formula(octet):
    """A target exactly linear in the formula cannot be fit better: the formula stays as it is."""
    names, matrix, y, cols = octet
    target = 0.3 + 2.0 * np_value(ACCEPT, cols)
    model = make_model([ACCEPT], names, matrix, target)
    out = refine_model(model, matrix, names, target, RefineConfig(max_coefficients=1))
    assert not out["refined"] and out["model"].codes == [ACCEPT] and out["constants"] == [[]]
    assert "kept unchanged" in out["notes"][0]


# --------------------------------------------------------------------------
# (e) terms, coefficients, round trips

def test_terms_in_postfix_order(octet):
    names, *_ = octet
    assert [t.to_string(names) for t in terms(ACCEPT, names)] == ["rp_B^3", "exp(rs_B)"]
    got = [t.to_postfix(names) for t in terms("IP_A IP_B + EA_A - rs_A rs_B |-| /", names)]
    assert got == ["IP_A", "IP_B", "IP_A IP_B +", "EA_A", "rs_A", "rs_B"]
    assert [t.to_postfix(names) for t in terms("IP_A 2.5 IP_B * +", names)] == ["IP_A", "2.5 IP_B *"]


def test_with_coefficients_ones_and_round_trip(octet):
    names, matrix, y, cols = octet
    for code in (ACCEPT, OTHER, "IP_A IP_B + EA_A - rs_A rs_B |-| /", "IP_A 2.5 IP_B * +"):
        original = F.from_postfix(code, names).evaluate(matrix)
        n_terms = len(terms(code, names))
        ones = with_coefficients(code, names, [1.0] * n_terms).evaluate(matrix)
        np.testing.assert_array_equal(ones, original)
    f = with_coefficients(ACCEPT, names, [0.123456789012345, -3.3])
    np.testing.assert_allclose(f.evaluate(matrix),
                               (0.123456789012345 * cols["rp_B"] ** 3 + 3.3 * np.exp(cols["rs_B"])) / cols["rp_A"] ** 2,
                               rtol=1e-13)
    assert F.from_postfix(f.to_postfix(names), names) == f
    # a constant already in the code is kept; only the first len(coeffs) terms get one
    g = with_coefficients("IP_A 2.5 IP_B * +", names, [4.0])
    assert g.constants == [4.0, 2.5]
    np.testing.assert_allclose(g.evaluate(matrix), 4.0 * cols["IP_A"] + 2.5 * cols["IP_B"], rtol=1e-14)
    with pytest.raises(ValueError):
        with_coefficients(ACCEPT, names, [1.0, 2.0, 3.0])


def test_refined_codes_round_trip(octet):
    names, matrix, y, cols = octet
    out = refine_model(make_model([ACCEPT, OTHER], names, matrix, y), matrix, names, y, RefineConfig(max_coefficients=2))
    for code, formula in zip(out["model"].codes, out["model"].formulas):
        f = F.from_postfix(code, names)
        np.testing.assert_array_equal(f.evaluate(matrix), F.from_postfix(f.to_postfix(names), names).evaluate(matrix))
        np.testing.assert_allclose(f.evaluate(matrix), np_value(code, cols), rtol=1e-12)
        assert f.to_string(names) == formula


# --------------------------------------------------------------------------
# (f) nothing to refine

def test_formula_without_terms_is_unchanged(octet):
    names, matrix, y, _ = octet
    assert terms(NO_TERMS, names) == []
    model = make_model([NO_TERMS], names, matrix, y)
    out = refine_model(model, matrix, names, y, RefineConfig(), cv_of(ValidationConfig(method="none"), y))
    assert out["refined"] is False
    assert out["model"].codes == [NO_TERMS] and out["model"].formulas == model.formulas
    assert out["model"].rmse == model.rmse and out["constants"] == [[]]
    assert out["grid_best"] == [None] and out["grid_best_mse"] == [None]
    assert out["cv_rmse"] is None and "nothing to refine" in out["notes"][0]
    # in a 2D model only the formula with terms is refined
    out2 = refine_model(make_model([NO_TERMS, ACCEPT], names, matrix, y), matrix, names, y, RefineConfig(max_coefficients=1))
    assert out2["model"].codes[0] == NO_TERMS and out2["constants"][0] == [] and out2["grid_best"][0] is None
