#include "formulasearch/formula.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace formulasearch {

namespace {

struct OpInfo {
    Op op;
    const char* token;  // postfix spelling
    int arity;
};

constexpr std::array<OpInfo, 20> kOps{{
    {Op::Var, "", 0},          {Op::Square, "^2", 1},   {Op::Cube, "^3", 1},
    {Op::Pow6, "^6", 1},       {Op::Inv, "^-1", 1},     {Op::Sqrt, "sqrt", 1},
    {Op::SqrtAbs, "sqrt|", 1}, {Op::Cbrt, "cbrt", 1},   {Op::Exp, "exp", 1},
    {Op::ExpNeg, "exp-", 1},   {Op::Log, "log", 1},     {Op::Abs, "abs", 1},
    {Op::Sin, "sin", 1},       {Op::Cos, "cos", 1},     {Op::Add, "+", 2},
    {Op::Sub, "-", 2},         {Op::Mul, "*", 2},       {Op::Div, "/", 2},
    {Op::AbsDiff, "|-|", 2},   {Op::Const, "", 0},
}};

const OpInfo& info(Op op) { return kOps[static_cast<std::size_t>(op)]; }

// Infix precedence: 1 sums, 2 products, 3 powers, 4 atoms (names, calls, |x|).
int precedence(Op op) {
    switch (op) {
        case Op::Add:
        case Op::Sub: return 1;
        case Op::Mul:
        case Op::Div: return 2;
        case Op::Square:
        case Op::Cube:
        case Op::Pow6:
        case Op::Inv: return 3;
        default: return 4;
    }
}

struct Printed {
    std::string text;
    int prec;
};

std::string wrap(const Printed& p, bool parens) { return parens ? "(" + p.text + ")" : p.text; }

// Readable constant: 6 significant digits; a negative one binds like a sum.
Printed constant_text(double c) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", c);
    return {buf, c < 0 ? 1 : 4};
}

Printed pop(std::vector<Printed>& st) {
    Printed p = std::move(st.back());
    st.pop_back();
    return p;
}

// Print postfix code bottom-up, one notation for both text and LaTeX:
// `unary(op, x)` and `binary(op, a, b)` give each node's text and precedence;
// variables and constants are atoms.
template <class Unary, class Binary>
std::string print_tree(const std::vector<Token>& code, const std::vector<double>& constants,
                       const std::vector<std::string>& names, Unary unary, Binary binary) {
    std::vector<Printed> st;
    for (Token t : code) {
        if (t.op == Op::Var) {
            st.push_back({names[t.arg], 4});
        } else if (t.op == Op::Const) {
            st.push_back(constant_text(constants[t.arg]));
        } else if (arity(t.op) == 1) {
            Printed x = pop(st);
            st.push_back(unary(t.op, x));
        } else {
            Printed b = pop(st);
            Printed a = pop(st);
            st.push_back(binary(t.op, a, b));
        }
    }
    return st.empty() ? std::string() : st.back().text;
}

}  // namespace

int arity(Op op) { return info(op).arity; }

void apply_op(Op op, const double* x, const double* y, double* out, std::size_t n) {
    switch (op) {
        case Op::Square: for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * x[i]; break;
        case Op::Cube: for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * x[i] * x[i]; break;
        case Op::Pow6: for (std::size_t i = 0; i < n; ++i) { double c = x[i] * x[i] * x[i]; out[i] = c * c; } break;
        case Op::Inv: for (std::size_t i = 0; i < n; ++i) out[i] = 1.0 / x[i]; break;
        case Op::Sqrt: for (std::size_t i = 0; i < n; ++i) out[i] = std::sqrt(x[i]); break;
        case Op::SqrtAbs: for (std::size_t i = 0; i < n; ++i) out[i] = std::sqrt(std::fabs(x[i])); break;
        case Op::Cbrt: for (std::size_t i = 0; i < n; ++i) out[i] = std::cbrt(x[i]); break;
        case Op::Exp: for (std::size_t i = 0; i < n; ++i) out[i] = std::exp(x[i]); break;
        case Op::ExpNeg: for (std::size_t i = 0; i < n; ++i) out[i] = std::exp(-x[i]); break;
        case Op::Log: for (std::size_t i = 0; i < n; ++i) out[i] = std::log(x[i]); break;
        case Op::Abs: for (std::size_t i = 0; i < n; ++i) out[i] = std::fabs(x[i]); break;
        case Op::Sin: for (std::size_t i = 0; i < n; ++i) out[i] = std::sin(x[i]); break;
        case Op::Cos: for (std::size_t i = 0; i < n; ++i) out[i] = std::cos(x[i]); break;
        case Op::Add: for (std::size_t i = 0; i < n; ++i) out[i] = x[i] + y[i]; break;
        case Op::Sub: for (std::size_t i = 0; i < n; ++i) out[i] = x[i] - y[i]; break;
        case Op::Mul: for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * y[i]; break;
        case Op::Div: for (std::size_t i = 0; i < n; ++i) out[i] = x[i] / y[i]; break;
        case Op::AbsDiff: for (std::size_t i = 0; i < n; ++i) out[i] = std::fabs(x[i] - y[i]); break;
        case Op::Var:
        case Op::Const: throw std::invalid_argument("apply_op: a variable or constant is not an operator");
    }
}

Op op_from_token(std::string_view token) {
    auto op = std::find_if(kOps.begin() + 1, kOps.end(), [&](const OpInfo& o) { return o.token[0] && token == o.token; });
    if (op == kOps.end()) throw std::invalid_argument("unknown operator '" + std::string(token) + "'");
    return op->op;
}
std::string_view op_token(Op op) { return info(op).token; }

Formula::Formula(std::vector<Token> code) : code_(std::move(code)) { check_well_formed(); }

Formula Formula::variable(int index) {
    if (index < 0 || index > 0xFFFF) throw std::invalid_argument("variable index out of range");
    Formula f;
    f.code_.push_back({Op::Var, static_cast<std::uint16_t>(index)});
    return f;
}

Formula Formula::constant(double value) {
    if (!std::isfinite(value)) throw std::invalid_argument("a formula constant must be finite");
    Formula f;
    f.constants_.push_back(value);
    f.code_.push_back({Op::Const, 0});
    return f;
}

Formula Formula::unary(Op op, const Formula& x) {
    if (arity(op) != 1) throw std::invalid_argument("not a unary operator");
    Formula f = x;
    f.code_.push_back({op, 0});
    return f;
}

Formula Formula::binary(Op op, const Formula& a, const Formula& b) {
    if (arity(op) != 2) throw std::invalid_argument("not a binary operator");
    Formula f = a;
    f.code_.reserve(a.size() + b.size() + 1);
    const auto shift = static_cast<std::uint16_t>(a.constants_.size());
    for (Token t : b.code_) f.code_.push_back(t.op == Op::Const ? Token{Op::Const, static_cast<std::uint16_t>(t.arg + shift)} : t);
    f.constants_.insert(f.constants_.end(), b.constants_.begin(), b.constants_.end());
    f.code_.push_back({op, 0});
    return f;
}

void Formula::check_well_formed() const {
    int depth = 0;
    for (Token t : code_) {
        if (static_cast<std::size_t>(t.op) >= kOps.size()) throw std::invalid_argument("unknown operator code");
        if (t.op == Op::Const && t.arg >= constants_.size()) throw std::invalid_argument("malformed formula: missing constant");
        int a = arity(t.op);
        if (depth < a) throw std::invalid_argument("malformed formula: operator lacks operands");
        depth += 1 - a;
    }
    if (!code_.empty() && depth != 1) throw std::invalid_argument("malformed formula: leftover operands");
}

int Formula::complexity() const {
    return static_cast<int>(
        std::count_if(code_.begin(), code_.end(), [](Token t) { return t.op != Op::Var && t.op != Op::Const; }));
}

int Formula::max_variable() const {
    int m = -1;
    for (Token t : code_)
        if (t.op == Op::Var) m = std::max(m, static_cast<int>(t.arg));
    return m;
}

bool operator<(const Formula& a, const Formula& b) {
    if (a.code_ == b.code_) return a.constants_ < b.constants_;
    return std::lexicographical_compare(
        a.code_.begin(), a.code_.end(), b.code_.begin(), b.code_.end(), [](Token x, Token y) {
            return x.op != y.op ? x.op < y.op : x.arg < y.arg;
        });
}

void Formula::evaluate(const double* primaries, std::size_t n_vars, std::size_t n, double* out) const {
    if (code_.empty()) throw std::invalid_argument("cannot evaluate an empty formula");
    if (max_variable() >= static_cast<int>(n_vars)) throw std::invalid_argument("formula uses a variable beyond the primary matrix");
    // A stack of sample vectors; the result ends in slot 0.
    std::vector<double> stack;
    std::size_t depth = 0;
    for (Token t : code_) {
        const int a = arity(t.op);
        if (a == 0) {
            stack.resize(std::max(stack.size(), (depth + 1) * n));
            if (t.op == Op::Const)
                std::fill_n(stack.data() + depth * n, n, constants_[t.arg]);
            else
                std::copy_n(primaries + t.arg * n, n, stack.data() + depth * n);
            ++depth;
            continue;
        }
        double* x = stack.data() + (depth - a) * n;
        apply_op(t.op, x, x + n, x, n);
        depth -= a - 1;
    }
    std::copy_n(stack.data(), n, out);
}

std::string Formula::to_string(const std::vector<std::string>& names) const {
    if (max_variable() >= static_cast<int>(names.size())) throw std::invalid_argument("formula uses a variable with no name");
    auto unary = [](Op op, const Printed& x) -> Printed {
        std::string s;
        switch (op) {
            case Op::Square: s = wrap(x, x.prec < 4) + "^2"; break;
            case Op::Cube: s = wrap(x, x.prec < 4) + "^3"; break;
            case Op::Pow6: s = wrap(x, x.prec < 4) + "^6"; break;
            case Op::Inv: s = wrap(x, x.prec < 4) + "^-1"; break;
            case Op::Sqrt: s = "sqrt(" + x.text + ")"; break;
            case Op::SqrtAbs: s = "sqrt(|" + x.text + "|)"; break;
            case Op::Cbrt: s = "cbrt(" + x.text + ")"; break;
            case Op::Exp: s = "exp(" + x.text + ")"; break;
            case Op::ExpNeg: s = "exp(-" + wrap(x, x.prec < 3) + ")"; break;
            case Op::Log: s = "log(" + x.text + ")"; break;
            case Op::Abs: s = "|" + x.text + "|"; break;
            case Op::Sin: s = "sin(" + x.text + ")"; break;
            case Op::Cos: s = "cos(" + x.text + ")"; break;
            default: break;
        }
        return {std::move(s), precedence(op)};
    };
    // Left operand needs parentheses below this precedence, the right one at
    // or below it, so that the printed text keeps the tree's shape.
    auto binary = [](Op op, const Printed& a, const Printed& b) -> Printed {
        const int p = precedence(op);
        std::string s;
        switch (op) {
            case Op::Add: s = wrap(a, a.prec < p) + " + " + wrap(b, b.prec <= p); break;
            case Op::Sub: s = wrap(a, a.prec < p) + " - " + wrap(b, b.prec <= p); break;
            case Op::Mul: s = wrap(a, a.prec < p) + "*" + wrap(b, b.prec <= p); break;
            case Op::Div: s = wrap(a, a.prec < p) + "/" + wrap(b, b.prec <= p); break;
            case Op::AbsDiff: s = "|" + a.text + " - " + wrap(b, b.prec <= 1) + "|"; break;
            default: break;
        }
        return {std::move(s), p};
    };
    return print_tree(code_, constants_, names, unary, binary);
}

std::string Formula::to_postfix(const std::vector<std::string>& names) const {
    if (max_variable() >= static_cast<int>(names.size())) throw std::invalid_argument("formula uses a variable with no name");
    std::string s;
    for (Token t : code_) {
        if (!s.empty()) s += ' ';
        if (t.op == Op::Const) {
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.17g", constants_[t.arg]);
            s += buf;
        } else {
            s += t.op == Op::Var ? std::string_view(names[t.arg]) : op_token(t.op);
        }
    }
    return s;
}

Formula Formula::slice(std::size_t begin, std::size_t end) const {
    Formula f;
    for (std::size_t k = begin; k < end; ++k) {
        Token t = code_[k];
        if (t.op == Op::Const) {
            t.arg = static_cast<std::uint16_t>(f.constants_.size());
            f.constants_.push_back(constants_[code_[k].arg]);
        }
        f.code_.push_back(t);
    }
    return f;
}

std::vector<Formula> Formula::operands() const {
    if (code_.empty() || arity(code_.back().op) == 0) return {};
    // The right operand is the shortest suffix (before the operator) that
    // forms one complete expression.
    const std::size_t end = code_.size() - 1;
    if (arity(code_.back().op) == 1) return {slice(0, end)};
    int need = 1;
    std::size_t right = end;
    while (need > 0) {
        --right;
        need += arity(code_[right].op) - 1;
    }
    return {slice(0, right), slice(right, end)};
}

std::string Formula::to_latex(const std::vector<std::string>& names) const {
    if (max_variable() >= static_cast<int>(names.size())) throw std::invalid_argument("formula uses a variable with no name");
    auto group = [](const Printed& p, bool parens) { return parens ? "\\left(" + p.text + "\\right)" : p.text; };
    auto unary = [&](Op op, const Printed& x) -> Printed {
        std::string s;
        switch (op) {
            case Op::Square: s = group(x, x.prec < 4) + "^{2}"; break;
            case Op::Cube: s = group(x, x.prec < 4) + "^{3}"; break;
            case Op::Pow6: s = group(x, x.prec < 4) + "^{6}"; break;
            case Op::Inv: s = group(x, x.prec < 4) + "^{-1}"; break;
            case Op::Sqrt: s = "\\sqrt{" + x.text + "}"; break;
            case Op::SqrtAbs: s = "\\sqrt{\\left|" + x.text + "\\right|}"; break;
            case Op::Cbrt: s = "\\sqrt[3]{" + x.text + "}"; break;
            case Op::Exp: s = "e^{" + x.text + "}"; break;
            case Op::ExpNeg: s = "e^{-" + group(x, x.prec < 3) + "}"; break;
            case Op::Log: s = "\\ln" + group(x, true); break;
            case Op::Abs: s = "\\left|" + x.text + "\\right|"; break;
            case Op::Sin: s = "\\sin" + group(x, true); break;
            case Op::Cos: s = "\\cos" + group(x, true); break;
            default: break;
        }
        return {std::move(s), precedence(op)};
    };
    auto binary = [&](Op op, const Printed& a, const Printed& b) -> Printed {
        const int p = precedence(op);
        std::string s;
        switch (op) {
            case Op::Add: s = group(a, a.prec < p) + " + " + group(b, b.prec <= p); break;
            case Op::Sub: s = group(a, a.prec < p) + " - " + group(b, b.prec <= p); break;
            case Op::Mul: s = group(a, a.prec < p) + " \\cdot " + group(b, b.prec <= p); break;
            case Op::Div: s = "\\frac{" + a.text + "}{" + b.text + "}"; break;
            case Op::AbsDiff: s = "\\left|" + a.text + " - " + group(b, b.prec <= 1) + "\\right|"; break;
            default: break;
        }
        return {std::move(s), op == Op::Div ? 4 : p};  // a fraction reads as one block
    };
    return print_tree(code_, constants_, names, unary, binary);
}

Formula Formula::from_postfix(std::string_view text, const std::vector<std::string>& names) {
    Formula f;
    std::istringstream in{std::string(text)};
    std::string word;
    while (in >> word) {
        auto name = std::find(names.begin(), names.end(), word);
        if (name != names.end()) {
            f.code_.push_back({Op::Var, static_cast<std::uint16_t>(name - names.begin())});
            continue;
        }
        auto op = std::find_if(kOps.begin() + 1, kOps.end(), [&](const OpInfo& o) { return o.token[0] && word == o.token; });
        if (op != kOps.end()) {
            f.code_.push_back({op->op, 0});
            continue;
        }
        char* end = nullptr;
        const double value = std::strtod(word.c_str(), &end);
        if (end == word.c_str() + word.size() && std::isfinite(value)) {
            f.code_.push_back({Op::Const, static_cast<std::uint16_t>(f.constants_.size())});
            f.constants_.push_back(value);
            continue;
        }
        throw std::invalid_argument("unknown variable or operator '" + word + "' in formula code");
    }
    if (f.code_.empty()) throw std::invalid_argument("empty formula code");
    f.check_well_formed();
    return f;
}

}  // namespace formulasearch
