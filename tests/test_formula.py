"""Tests of formulasearch.Formula (the C++ postfix formula of _core).

Every expectation is computed independently: strings of the numpy oracle
(tests/reference_numpy.py), hand-written infix strings, numpy arithmetic, or
Python's own operator precedence (eval of the printed infix).
"""

from __future__ import annotations

import numpy as np
import pytest

from formulasearch import Formula, _core
from reference_numpy import octet_oracle, paper_candidate_count, paper_candidates


@pytest.fixture(scope="module")
def octet():
    return octet_oracle()


GENERATIONS = [(1, "paper"), (2, "paper"), (3, "paper"), (3, "classes"), (4, "paper")]


def sample_indices(total: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.choice(total, size=min(k, total), replace=False)
    return np.unique(np.concatenate([idx, [0, 1, total - 2, total - 1]]))


# ---------------------------------------------------------------------------
# postfix round trip


@pytest.mark.parametrize("generation,variant", GENERATIONS)
def test_postfix_round_trip_of_generated_formulas(octet, generation, variant):
    matrix, names, classes, _ = octet
    gen = _core.PaperGenerator(matrix, names, classes, generation, variant)
    idx = sample_indices(len(gen), 1500, seed=100 + generation)
    for i in idx.tolist():
        f = gen.formula(i)
        code = f.to_postfix(names)
        g = Formula.from_postfix(code, names)
        assert g == f and not (g != f)
        assert hash(g) == hash(f)
        assert g.to_postfix(names) == code
        assert g.to_string(names) == f.to_string(names)
        assert g.complexity == f.complexity
        # a postfix code is space separated tokens: names of variables and operators
        tokens = code.split(" ")
        assert all(tokens), code
        n_vars = sum(t in names for t in tokens)
        assert f.complexity == len(tokens) - n_vars


def test_round_trip_tolerates_extra_whitespace(octet):
    _, names, _, _ = octet
    f = Formula.from_postfix("rp_B ^3 rs_B exp - rp_A ^2 /", names)
    g = Formula.from_postfix("  rp_B   ^3\trs_B exp -\n rp_A ^2 /  ", names)
    assert f == g
    assert f.to_postfix(names) == "rp_B ^3 rs_B exp - rp_A ^2 /"


def test_round_trip_depends_on_names_not_positions(octet):
    """The same code read with names in another order is the same readable formula."""
    _, names, _, _ = octet
    code = "rp_B ^3 rs_B exp - rp_A ^2 /"
    shuffled = list(reversed(names))
    f = Formula.from_postfix(code, names)
    g = Formula.from_postfix(code, shuffled)
    assert f.to_string(names) == g.to_string(shuffled) == "(rp_B^3 - exp(rs_B))/rp_A^2"
    assert f != g  # different variable numbers
    assert g.to_postfix(shuffled) == code


def test_distinct_formulas_compare_unequal(octet):
    matrix, names, classes, _ = octet
    gen = _core.PaperGenerator(matrix, names, classes, 1, "paper")
    fs = [gen.formula(i) for i in range(200)]
    codes = [f.to_postfix(names) for f in fs]
    assert len(set(codes)) == 200
    assert len(set(fs)) == 200
    for a, b in zip(fs, fs[1:]):
        assert a != b


# ---------------------------------------------------------------------------
# to_string


def test_generator_strings_equal_oracle_strings_exactly(octet):
    matrix, names, classes, _ = octet
    for generation, variant in GENERATIONS:
        gen = _core.PaperGenerator(matrix, names, classes, generation, variant)
        total = paper_candidate_count(classes, generation, variant=variant)
        idx = sample_indices(total, 800, seed=7 * generation + (variant == "classes"))
        expected, _ = paper_candidates(matrix, names, classes, generation, variant, indices=idx)
        got = [gen.formula(int(i)).to_string(names) for i in idx]
        assert got == expected, (generation, variant)


NAMES = ["a", "b", "c", "d"]

KNOWN_SHAPES = [
    ("a", "a"),
    ("a exp", "exp(a)"),
    ("a ^2", "a^2"),
    ("a sqrt|", "sqrt(|a|)"),
    ("a b + c /", "(a + b)/c"),
    ("a b - c ^2 /", "(a - b)/c^2"),
    ("a ^3 b exp - c ^2 /", "(a^3 - exp(b))/c^2"),
    ("a sqrt| b sqrt| - c exp /", "(sqrt(|a|) - sqrt(|b|))/exp(c)"),
    ("a b + c d - /", "(a + b)/(c - d)"),
    ("a b + c d * /", "(a + b)/(c*d)"),
    ("a b / c d + /", "a/b/(c + d)"),
    ("a sqrt| b sqrt| * c d / /", "sqrt(|a|)*sqrt(|b|)/(c/d)"),
    ("a b / c /", "a/b/c"),
    ("a b c / /", "a/(b/c)"),
    ("a b - c -", "a - b - c"),
    ("a b c + -", "a - (b + c)"),
    ("a b c - -", "a - (b - c)"),
    ("a b * c +", "a*b + c"),
    ("c a b * +", "c + a*b"),
    ("a b + ^2", "(a + b)^2"),
    ("a b * ^3", "(a*b)^3"),
    ("a b + exp", "exp(a + b)"),
    ("a b + c *", "(a + b)*c"),
]


@pytest.mark.parametrize("code,expected", KNOWN_SHAPES)
def test_to_string_of_known_shapes(code, expected):
    f = Formula.from_postfix(code, NAMES)
    assert f.to_string(NAMES) == expected
    assert f.to_postfix(NAMES) == " ".join(code.split())


# Random expression trees over the operators whose printed form Python can read
# back (after a literal translation), so that the printed parentheses must
# reproduce the tree: eval(printed) must equal evaluate().
_UNARY_PY = {"^2": None, "^3": None, "^6": None, "^-1": None, "sqrt": "sqrt", "sqrt|": None,
             "cbrt": "cbrt", "exp": "exp", "exp-": None, "log": "log", "sin": "sin", "cos": "cos"}
_BINARY = ["+", "-", "*", "/"]


def _random_code(rng, depth):
    if depth == 0 or rng.random() < 0.25:
        return [NAMES[rng.integers(len(NAMES))]]
    if rng.random() < 0.4:
        return _random_code(rng, depth - 1) + [list(_UNARY_PY)[rng.integers(len(_UNARY_PY))]]
    return _random_code(rng, depth - 1) + _random_code(rng, depth - 1) + [_BINARY[rng.integers(4)]]


def _python_of(infix: str) -> str:
    """The printed infix as a numpy expression (a literal token translation)."""
    s = infix.replace("sqrt(|", "SQRTABS(").replace("|)", "))")
    assert "|" not in s, infix
    s = s.replace("^-1", "**(-1)").replace("^", "**")
    for fn in ("exp", "log", "sin", "cos", "cbrt", "sqrt"):
        s = s.replace(fn + "(", "np." + fn + "(")
    return s.replace("SQRTABS(", "np.sqrt(np.abs(")


def test_printed_infix_reproduces_the_tree():
    rng = np.random.default_rng(2024)
    data = rng.uniform(0.6, 1.7, size=(len(NAMES), 25))
    env = {"np": np, **{n: data[k] for k, n in enumerate(NAMES)}}
    checked = 0
    for _ in range(600):
        code = " ".join(_random_code(rng, 4))
        f = Formula.from_postfix(code, NAMES)
        text = f.to_string(NAMES)
        with np.errstate(all="ignore"):
            expected = eval(_python_of(text), env)  # noqa: S307 - test-only
        expected = np.broadcast_to(np.asarray(expected, dtype=float), (data.shape[1],))
        got = f.evaluate(data)
        assert np.array_equal(np.isnan(got), np.isnan(expected)), (code, text)
        ok = np.isfinite(expected)
        np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-9, err_msg=f"{code} -> {text}")
        checked += 1
    assert checked == 600


# ---------------------------------------------------------------------------
# evaluate


@pytest.mark.parametrize("generation,variant", GENERATIONS)
def test_evaluate_equals_generator_and_numpy(octet, generation, variant):
    matrix, names, classes, _ = octet
    gen = _core.PaperGenerator(matrix, names, classes, generation, variant)
    idx = sample_indices(len(gen), 300, seed=31 + generation)
    from_gen = gen.evaluate(idx.tolist())
    _, oracle = paper_candidates(matrix, names, classes, generation, variant, indices=idx)
    for row, i in enumerate(idx.tolist()):
        f = gen.formula(i)
        got = f.evaluate(matrix)
        assert got.shape == (matrix.shape[1],)
        # the formula and the generator compute the same quotient of the same parts
        assert np.array_equal(got, from_gen[row], equal_nan=True), i
        exp = oracle[row]
        assert np.array_equal(np.isnan(got), np.isnan(exp))
        assert np.array_equal(np.isinf(got), np.isinf(exp))
        fin = np.isfinite(exp)
        np.testing.assert_allclose(got[fin], exp[fin], rtol=1e-12, atol=0)


def test_evaluate_of_the_published_formula(octet):
    matrix, names, _, _ = octet
    f = Formula.from_postfix("rp_B ^3 rs_B exp - rp_A ^2 /", names)
    col = {n: matrix[k] for k, n in enumerate(names)}
    expected = (col["rp_B"] ** 3 - np.exp(col["rs_B"])) / col["rp_A"] ** 2
    np.testing.assert_allclose(f.evaluate(matrix), expected, rtol=1e-14)


_NUMPY_UNARY = {
    "^2": lambda x: x * x,
    "^3": lambda x: x * x * x,
    "^6": lambda x: x ** 6,
    "^-1": lambda x: 1.0 / x,
    "sqrt": np.sqrt,
    "sqrt|": lambda x: np.sqrt(np.abs(x)),
    "cbrt": np.cbrt,
    "exp": np.exp,
    "exp-": lambda x: np.exp(-x),
    "log": np.log,
    "abs": np.abs,
    "sin": np.sin,
    "cos": np.cos,
}
_NUMPY_BINARY = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "|-|": lambda a, b: np.abs(a - b),
}


@pytest.mark.parametrize("token", sorted(_NUMPY_UNARY))
def test_every_unary_operator_evaluates_like_numpy(token):
    x = np.array([-2.5, -1.0, -0.3, 0.0, 0.2, 0.7, 1.0, 3.1, 12.0])
    prim = np.vstack([x, x[::-1]])
    f = Formula.from_postfix(f"a {token}", ["a", "b"])
    with np.errstate(all="ignore"):
        expected = _NUMPY_UNARY[token](x)
    got = f.evaluate(prim)
    assert np.array_equal(np.isnan(got), np.isnan(expected)), token
    assert np.array_equal(np.isposinf(got), np.isposinf(expected)), token
    assert np.array_equal(np.isneginf(got), np.isneginf(expected)), token
    fin = np.isfinite(expected)
    np.testing.assert_allclose(got[fin], expected[fin], rtol=1e-13, atol=1e-300)
    assert f.complexity == 1


@pytest.mark.parametrize("token", sorted(_NUMPY_BINARY))
def test_every_binary_operator_evaluates_like_numpy(token):
    rng = np.random.default_rng(5)
    a = rng.normal(size=40)
    b = rng.normal(size=40)
    b[3] = 0.0
    prim = np.vstack([a, b])
    f = Formula.from_postfix(f"a b {token}", ["a", "b"])
    with np.errstate(all="ignore"):
        expected = _NUMPY_BINARY[token](a, b)
    got = f.evaluate(prim)
    assert np.array_equal(got, expected, equal_nan=True), token
    # operand order matters for the non-commutative ones
    g = Formula.from_postfix(f"b a {token}", ["a", "b"])
    with np.errstate(all="ignore"):
        assert np.array_equal(g.evaluate(prim), _NUMPY_BINARY[token](b, a), equal_nan=True)


def test_evaluate_deep_formula_against_numpy():
    rng = np.random.default_rng(11)
    prim = rng.uniform(0.5, 2.0, size=(3, 50))
    a, b, c = prim
    code = "a b ^2 + c sqrt| * a exp- b cbrt |-| / c log a cos * -"
    f = Formula.from_postfix(code, ["a", "b", "c"])
    expected = (a + b * b) * np.sqrt(np.abs(c)) / np.abs(np.exp(-a) - np.cbrt(b)) - np.log(c) * np.cos(a)
    np.testing.assert_allclose(f.evaluate(prim), expected, rtol=1e-12)


def test_evaluate_uses_only_the_named_rows():
    prim = np.arange(12, dtype=float).reshape(3, 4) + 1.0
    f = Formula.from_postfix("c a -", ["a", "b", "c"])
    assert np.array_equal(f.evaluate(prim), prim[2] - prim[0])
    # a non-contiguous / integer input is converted, not misread
    g = Formula.from_postfix("b", ["a", "b", "c"])
    assert np.array_equal(g.evaluate(np.asfortranarray(prim)), prim[1])
    assert np.array_equal(g.evaluate(prim.astype(int)), prim[1])


# ---------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "+",
        "a +",
        "a b",
        "a b c +",
        "a b + +",
        "exp",
        "a ^2 b",
    ],
)
def test_malformed_postfix_raises_value_error(code):
    with pytest.raises(ValueError):
        Formula.from_postfix(code, ["a", "b", "c"])


@pytest.mark.parametrize("code", ["a x +", "a ^4", "A", "a b plus", "a b ** ", "exp(a)", "a sqrt(|)"])
def test_unknown_token_raises_value_error(code):
    with pytest.raises(ValueError):
        Formula.from_postfix(code, ["a", "b"])


def test_unknown_token_message_names_it():
    with pytest.raises(ValueError, match="nope"):
        Formula.from_postfix("IP_A nope +", ["IP_A", "IP_B"])


def test_names_too_short_or_matrix_too_small_raise_value_error():
    f = Formula.from_postfix("a c +", ["a", "b", "c"])
    with pytest.raises(ValueError):
        f.to_string(["a", "b"])
    with pytest.raises(ValueError):
        f.to_postfix(["a"])
    with pytest.raises(ValueError):
        f.evaluate(np.ones((2, 5)))
    with pytest.raises(ValueError):
        f.evaluate(np.ones(5))
