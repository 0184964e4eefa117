#include "formulasearch/sisso_space.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace formulasearch {

namespace {

bool transcendental(Op op) { return op == Op::Exp || op == Op::ExpNeg || op == Op::Log || op == Op::Sin || op == Op::Cos; }
bool one_orientation(Op op) { return op == Op::Add || op == Op::Mul || op == Op::AbsDiff || op == Op::Sub; }

// u(f) that undoes or repeats f's last operator.
bool redundant_unary(Op u, Op f) {
    switch (u) {
        case Op::Exp:
        case Op::ExpNeg: return f == Op::Log;
        case Op::Log: return f == Op::Exp || f == Op::ExpNeg;
        case Op::Sqrt: return f == Op::Square;
        case Op::Square: return f == Op::Sqrt;
        case Op::Cbrt: return f == Op::Cube;
        case Op::Cube: return f == Op::Cbrt;
        case Op::Inv: return f == Op::Inv;
        case Op::SqrtAbs: return f == Op::Square || f == Op::SqrtAbs;
        case Op::Abs:
            return f == Op::Abs || f == Op::Square || f == Op::Pow6 || f == Op::SqrtAbs || f == Op::Exp ||
                   f == Op::ExpNeg || f == Op::AbsDiff || f == Op::Sqrt;
        default: return false;
    }
}

}  // namespace

SissoSpace::SissoSpace(Primaries primaries, std::vector<Unit> units, SissoOptions options)
    : primaries_(std::move(primaries)), options_(std::move(options)), n_(primaries_.n_samples) {
    primaries_.validate();
    if (units.size() != primaries_.n_vars) throw std::invalid_argument("need one unit per primary variable");
    for (const auto& ops : options_.ops_per_rung)
        for (Op op : ops)
            if (op == Op::Var) throw std::invalid_argument("a variable is not an operator");
    values_ = primaries_.values;
    for (std::size_t v = 0; v < primaries_.n_vars; ++v)
        features_.push_back({Formula::variable(static_cast<int>(v)), units[v], 0, 0, Op::Var, -1, -1});
    open_rung();
}

void SissoSpace::open_rung() {
    unary_.clear();
    binary_.clear();
    n_unary_ = n_binary_ = 0;
    if (lazy_rung_ > max_rung()) return;
    for (Op op : options_.ops_per_rung[static_cast<std::size_t>(lazy_rung_ - 1)]) {
        if (arity(op) == 1) {
            unary_.push_back(op);
            continue;
        }
        binary_.push_back({op, false});
        if (op == Op::Div) binary_.push_back({op, true});  // g / f with g older than f
    }
    const std::uint64_t n_prev = n_stored() - prev_begin_;
    n_unary_ = n_prev * unary_.size();
    n_binary_ = n_prev * n_stored() * binary_.size();
}

SissoSpace::Lazy SissoSpace::decode(std::uint64_t index) const {
    if (index < n_stored() || index >= size()) throw std::out_of_range("not a candidate of the lazy rung");
    std::uint64_t k = index - n_stored();
    if (k < n_unary_) return {true, prev_begin_ + k / unary_.size(), 0, unary_[k % unary_.size()]};
    k -= n_unary_;
    const std::uint64_t per_left = n_stored() * binary_.size();
    const std::uint64_t rem = k % per_left;
    const BinaryOp& b = binary_[rem % binary_.size()];
    return {false, prev_begin_ + k / per_left, rem / binary_.size(), b.op, b.reversed};
}

bool SissoSpace::allowed(const Lazy& c, Unit* unit_out, int* complexity_out) const {
    Unit u;
    int cx;
    if (c.unary) {
        const Feature& f = features_[c.i];
        cx = f.complexity + 1;
        if (redundant_unary(c.op, f.op)) return false;
        switch (c.op) {
            case Op::Square: if (!f.unit.power(2, 1, u)) return false; break;
            case Op::Cube: if (!f.unit.power(3, 1, u)) return false; break;
            case Op::Pow6: if (!f.unit.power(6, 1, u)) return false; break;
            case Op::Inv: if (!f.unit.power(-1, 1, u)) return false; break;
            case Op::Sqrt:
            case Op::SqrtAbs: if (!f.unit.power(1, 2, u)) return false; break;
            case Op::Cbrt: if (!f.unit.power(1, 3, u)) return false; break;
            case Op::Abs: u = f.unit; break;
            default:  // exp, exp(-x), log, sin, cos: dimensionless result
                if (options_.strict_units && !f.unit.dimensionless()) return false;
                break;
        }
    } else {
        if (c.i == c.j) return false;
        if (one_orientation(c.op) && c.j >= prev_begin_ && c.j < c.i) return false;  // met as (j, i)
        if (c.reversed && c.j >= prev_begin_) return false;  // j / i of the newest rung is met as (j, i)
        // From here on, f op g with f, g in formula order.
        const std::size_t fi = c.reversed ? c.j : c.i, gi = c.reversed ? c.i : c.j;
        const Feature& g = features_[gi];
        const Feature& f = features_[fi];
        cx = f.complexity + g.complexity + 1;
        switch (c.op) {
            case Op::Add:
            case Op::Sub:
            case Op::AbsDiff:
                if (f.unit != g.unit) return false;
                u = f.unit;
                break;
            case Op::Mul:
                if (!f.unit.multiply(g.unit, 1, u)) return false;
                if ((f.op == Op::Div && f.right == static_cast<std::int64_t>(gi)) ||
                    (g.op == Op::Div && g.right == static_cast<std::int64_t>(fi)))
                    return false;  // (A/B)*B
                break;
            case Op::Div:
                if (!f.unit.multiply(g.unit, -1, u)) return false;
                if ((f.op == Op::Mul && (f.left == static_cast<std::int64_t>(gi) || f.right == static_cast<std::int64_t>(gi))) ||
                    (g.op == Op::Mul && (g.left == static_cast<std::int64_t>(fi) || g.right == static_cast<std::int64_t>(fi))))
                    return false;  // A*B/B, B/(A*B)
                break;
            default: return false;
        }
    }
    if (options_.max_complexity > 0 && cx > options_.max_complexity) return false;
    if (unit_out) *unit_out = u;
    if (complexity_out) *complexity_out = cx;
    return true;
}

bool SissoSpace::generated(std::uint64_t index) const {
    return index < n_stored() || allowed(decode(index), nullptr, nullptr);
}

SissoSpace::Feature SissoSpace::make(const Lazy& c) const {
    Feature f;
    if (!allowed(c, &f.unit, &f.complexity)) throw std::invalid_argument("candidate is not generated by the rules");
    const std::size_t a = c.reversed ? c.j : c.i, b = c.reversed ? c.i : c.j;
    f.formula = c.unary ? Formula::unary(c.op, features_[a].formula)
                        : Formula::binary(c.op, features_[a].formula, features_[b].formula);
    f.rung = lazy_rung_;
    f.op = c.op;
    f.left = static_cast<std::int64_t>(a);
    f.right = c.unary ? -1 : static_cast<std::int64_t>(b);
    return f;
}

Formula SissoSpace::formula(std::uint64_t index) const {
    if (index < n_stored()) return features_[index].formula;
    return make(decode(index)).formula;
}

Unit SissoSpace::unit(std::uint64_t index) const {
    return index < n_stored() ? features_[index].unit : make(decode(index)).unit;
}

int SissoSpace::complexity(std::uint64_t index) const {
    return index < n_stored() ? features_[index].complexity : make(decode(index)).complexity;
}

int SissoSpace::rung(std::uint64_t index) const {
    return index < n_stored() ? features_[index].rung : lazy_rung_;
}

void SissoSpace::evaluate_range(std::uint64_t begin, std::uint64_t end, double* out) const {
    if (end > size()) throw std::out_of_range("candidate range out of range");
    for (std::uint64_t idx = begin; idx < end; ++idx, out += n_) {
        if (idx < n_stored()) {
            std::copy_n(values_.data() + idx * n_, n_, out);
            continue;
        }
        const Lazy c = decode(idx);
        if (!allowed(c, nullptr, nullptr)) {
            std::fill_n(out, n_, std::numeric_limits<double>::quiet_NaN());
            continue;
        }
        const double* x = values_.data() + (c.reversed ? c.j : c.i) * n_;
        const double* y = values_.data() + (c.reversed ? c.i : c.j) * n_;
        apply_op(c.op, x, c.unary ? x : y, out, n_);
    }
}

void SissoSpace::advance(std::vector<std::uint64_t> kept) {
    if (lazy_rung_ >= max_rung()) throw std::invalid_argument("the last rung is never stored");
    std::sort(kept.begin(), kept.end());
    const std::size_t old = n_stored();
    std::vector<Feature> fresh;
    for (auto idx : kept)
        if (idx >= old) fresh.push_back(make(decode(idx)));
    values_.resize((old + fresh.size()) * n_);
    std::size_t row = old;
    for (auto idx : kept)
        if (idx >= old) evaluate_range(idx, idx + 1, values_.data() + (row++) * n_);
    features_.insert(features_.end(), fresh.begin(), fresh.end());
    prev_begin_ = old;
    ++lazy_rung_;
    open_rung();
}

}  // namespace formulasearch
