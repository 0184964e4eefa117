// A formula over primary variables, stored as postfix code.
//
// A formula is a short sequence of tokens (a variable, or an operator that pops
// its operands off a stack). Postfix code is compact, trivially copyable and
// hashable, evaluates with a tiny stack machine over whole sample vectors, and
// prints to readable infix such as "(rp_B^3 - exp(rs_B))/rp_A^2".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace formulasearch {

enum class Op : std::uint8_t {
    Var,  // push primary variable number `arg`
    // unary
    Square,
    Cube,
    Pow6,
    Inv,      // x^-1
    Sqrt,     // sqrt(x), undefined for x < 0
    SqrtAbs,  // sqrt(|x|), the paper's family g3
    Cbrt,
    Exp,
    ExpNeg,   // exp(-x)
    Log,
    Abs,
    Sin,
    Cos,
    // binary
    Add,
    Sub,
    Mul,
    Div,
    AbsDiff,  // |a - b|
    Const,    // push the formula's constant number `arg` (refined coefficients)
};

int arity(Op op);
// Apply one operator element-wise: out = op(x) or op(x, y) over n samples
// (out may alias x). The single definition of every operator's arithmetic.
void apply_op(Op op, const double* x, const double* y, double* out, std::size_t n);
// Operator by its postfix spelling ("^2", "exp", "|-|", ...); throws if unknown.
Op op_from_token(std::string_view token);

struct Token {
    Op op = Op::Var;
    std::uint16_t arg = 0;  // variable number for Op::Var, unused otherwise
    friend bool operator==(Token a, Token b) { return a.op == b.op && a.arg == b.arg; }
    friend bool operator!=(Token a, Token b) { return !(a == b); }
};

class Formula {
public:
    Formula() = default;
    explicit Formula(std::vector<Token> code);

    static Formula variable(int index);
    static Formula constant(double value);
    static Formula unary(Op op, const Formula& x);
    static Formula binary(Op op, const Formula& a, const Formula& b);

    const std::vector<Token>& code() const { return code_; }
    const std::vector<double>& constants() const { return constants_; }
    bool empty() const { return code_.empty(); }
    std::size_t size() const { return code_.size(); }
    // Number of operators (SISSO's "complexity").
    int complexity() const;
    // Largest variable number used, or -1.
    int max_variable() const;

    // Evaluate over all samples. `primaries` is row-major (n_vars x n_samples):
    // variable v of sample s is primaries[v * n_samples + s]. Writes n_samples
    // values to `out`. Non-finite results are written as they come.
    void evaluate(const double* primaries, std::size_t n_vars, std::size_t n_samples,
                  double* out) const;

    // Readable infix, e.g. "(rp_B^3 - exp(rs_B))/rp_A^2".
    std::string to_string(const std::vector<std::string>& names) const;
    // LaTeX, e.g. "\frac{r_{p,B}^{3} - e^{r_{s,B}}}{r_{p,A}^{2}}" given LaTeX names.
    std::string to_latex(const std::vector<std::string>& latex_names) const;
    // The operands of the last operator, as formulas (empty for a variable).
    std::vector<Formula> operands() const;
    // Stable serialisation: space-separated postfix tokens, variables by name,
    // constants as numbers with 17 significant digits (exact round trip),
    // e.g. "rp_B ^3 rs_B exp - rp_A ^2 /". from_postfix() inverts it.
    std::string to_postfix(const std::vector<std::string>& names) const;
    static Formula from_postfix(std::string_view text, const std::vector<std::string>& names);

    friend bool operator==(const Formula& a, const Formula& b) {
        return a.code_ == b.code_ && a.constants_ == b.constants_;
    }
    friend bool operator!=(const Formula& a, const Formula& b) { return !(a == b); }
    friend bool operator<(const Formula& a, const Formula& b);

private:
    void check_well_formed() const;
    Formula slice(std::size_t begin, std::size_t end) const;  // a sub-expression, constants re-indexed
    std::vector<Token> code_;
    std::vector<double> constants_;
};

// The postfix spelling of an operator ("^2", "sqrt|", "+", ...).
std::string_view op_token(Op op);

}  // namespace formulasearch
