#include <cmath>
#include <vector>

#include "check.hpp"
#include "formulasearch/formula.hpp"

using namespace formulasearch;

int main() {
    const std::vector<std::string> names{"rp_A", "rp_B", "rs_B"};
    // (rp_B^3 - exp(rs_B))/rp_A^2, the paper's best generation-1 formula.
    Formula f = Formula::binary(
        Op::Div, Formula::binary(Op::Sub, Formula::unary(Op::Cube, Formula::variable(1)), Formula::unary(Op::Exp, Formula::variable(2))),
        Formula::unary(Op::Square, Formula::variable(0)));
    CHECK(f.to_string(names) == "(rp_B^3 - exp(rs_B))/rp_A^2");
    CHECK(f.complexity() == 5);  // ^3, exp, -, ^2, /
    CHECK(Formula::from_postfix(f.to_postfix(names), names) == f);

    // Parentheses keep the tree: a - (b + c), a/(b*c), (a + b)^2.
    Formula a = Formula::variable(0), b = Formula::variable(1), c = Formula::variable(2);
    CHECK(Formula::binary(Op::Sub, a, Formula::binary(Op::Add, b, c)).to_string(names) == "rp_A - (rp_B + rs_B)");
    CHECK(Formula::binary(Op::Sub, Formula::binary(Op::Add, a, b), c).to_string(names) == "rp_A + rp_B - rs_B");
    CHECK(Formula::binary(Op::Div, a, Formula::binary(Op::Mul, b, c)).to_string(names) == "rp_A/(rp_B*rs_B)");
    CHECK(Formula::unary(Op::Square, Formula::binary(Op::Add, a, b)).to_string(names) == "(rp_A + rp_B)^2");
    CHECK(Formula::unary(Op::SqrtAbs, a).to_string(names) == "sqrt(|rp_A|)");

    // Evaluation against the same arithmetic written out by hand.
    const std::size_t n = 5;
    std::vector<double> prim{1.0, 1.5, 2.0, 0.7, 1.2,    // rp_A
                             0.8, 0.9, 1.1, 1.3, 2.0,    // rp_B
                             0.5, 0.6, 0.7, -0.2, 0.1};  // rs_B
    std::vector<double> out(n);
    f.evaluate(prim.data(), 3, n, out.data());
    for (std::size_t s = 0; s < n; ++s) {
        double want = (std::pow(prim[n + s], 3) - std::exp(prim[2 * n + s])) / (prim[s] * prim[s]);
        CHECK(fs_test::close(out[s], want, 1e-14));
    }

    // Every operator round-trips through the postfix text.
    for (int op = static_cast<int>(Op::Square); op <= static_cast<int>(Op::AbsDiff); ++op) {
        Op o = static_cast<Op>(op);
        Formula g = arity(o) == 1 ? Formula::unary(o, a) : Formula::binary(o, a, b);
        CHECK(Formula::from_postfix(g.to_postfix(names), names) == g);
    }

    // Constants: merged operands keep their own numbers, the text round-trips
    // exactly, and evaluation uses them.
    Formula k = Formula::binary(Op::Sub, Formula::binary(Op::Mul, Formula::constant(2.25), a),
                                Formula::binary(Op::Mul, Formula::constant(-0.1), b));
    CHECK(k.constants().size() == 2 && k.constants()[0] == 2.25 && k.constants()[1] == -0.1);
    CHECK(k.to_string(names) == "2.25*rp_A - (-0.1)*rp_B");
    CHECK(Formula::from_postfix(k.to_postfix(names), names) == k);
    CHECK(Formula::from_postfix("rp_A 0.1 *", names) != Formula::from_postfix("rp_A 0.2 *", names));
    const double third = 1.0 / 3.0;
    Formula t = Formula::binary(Op::Mul, Formula::constant(third), c);
    CHECK(Formula::from_postfix(t.to_postfix(names), names).constants()[0] == third);  // 17 digits: exact
    k.evaluate(prim.data(), 3, n, out.data());
    // To rounding: the compiler may fuse this expression's product and difference (FMA), the
    // evaluation rounds each operation.
    for (std::size_t s = 0; s < n; ++s) CHECK(fs_test::close(out[s], 2.25 * prim[s] - (-0.1) * prim[n + s], 1e-15));
    CHECK(k.complexity() == 3);
    auto parts = k.operands();
    CHECK(parts.size() == 2 && parts[1] == Formula::binary(Op::Mul, Formula::constant(-0.1), b));
    CHECK_THROWS(Formula::constant(std::nan("")));

    CHECK_THROWS(Formula::from_postfix("rp_A +", names));        // missing operand
    CHECK_THROWS(Formula::from_postfix("rp_A rp_B", names));     // leftover operand
    CHECK_THROWS(Formula::from_postfix("rp_A nosuch +", names)); // unknown name
    return fs_test::report("test_formula");
}
