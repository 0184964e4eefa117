#include "formulasearch/sisso_space.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <stdexcept>
#include <utility>

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

int popcount(std::uint32_t m) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_popcount(m);
#else
    int k = 0;
    for (; m; m &= m - 1) ++k;
    return k;
#endif
}

int lowest_bit(std::uint32_t m) {  // m != 0
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(m);
#else
    int k = 0;
    while (!(m & 1u)) m >>= 1, ++k;
    return k;
#endif
}

std::uint32_t drop_lowest(std::uint32_t m, int k) {  // m without its k lowest set bits
    for (; k > 0; --k) m &= m - 1;
    return m;
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
    if (lazy_rung_ > max_rung()) {
        if (options_.structured) build_structure();  // an empty block
        return;
    }
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
    if (options_.structured) build_structure();
}

// The structured index of the lazy block.
//
// Binary candidates of row r (newest feature i = prev_begin_ + r) in the
// unstructured order: columns j = 0..n_stored()-1, at each column the operator
// slots in binary_ order. Which slots a column may take depends on
//   - the classes of i and j, (unit, complexity): units and complexity rules;
//     one mask of slots per (row class, column class), and the columns of a
//     plan (the masks of one row class) form runs of equal mask;
//   - where j is (the mode): older than the newest rung (mode 0: every slot),
//     newest and before i (mode 1: no one-orientation op, no reversed quotient),
//     i itself (nothing), newest and after i (mode 2: no reversed quotient);
//   - the per-pair redundancy rules, which only ever refuse an operand of i as j:
//     the row's exceptions, by coarse rank.
// "Coarse" candidates pass the first two; generated ones all three.
void SissoSpace::build_structure() {
    unary_allowed_.clear();
    plans_.clear();
    row_plan_.clear();
    row_offset_.clear();
    exc_offset_.clear();
    exc_rank_.clear();
    n_allowed_unary_ = n_allowed_binary_ = n_coarse_binary_ = 0;
    const std::size_t n_st = n_stored(), pb = prev_begin_, n_prev = n_st - pb;

    // Unary: few; listed.
    const std::size_t nu = unary_.size();
    for (std::size_t r = 0; r < n_prev && nu; ++r)
        for (std::size_t u = 0; u < nu; ++u)
            if (allowed({true, pb + r, 0, unary_[u], false, u}, nullptr, nullptr)) unary_allowed_.push_back(r * nu + u);
    n_allowed_unary_ = unary_allowed_.size();

    row_offset_.assign(n_prev + 1, 0);
    exc_offset_.assign(n_prev + 1, 0);
    if (binary_.empty() || n_prev == 0 || lazy_rung_ > max_rung()) return;
    if (binary_.size() > 32) throw std::invalid_argument("too many binary operators in one rung");

    mode_mask_[0] = mode_mask_[1] = mode_mask_[2] = 0;
    for (std::size_t s = 0; s < binary_.size(); ++s) {
        const Mask bit = Mask{1} << s;
        mode_mask_[0] |= bit;
        if (!binary_[s].reversed) mode_mask_[2] |= bit;
        if (!binary_[s].reversed && !one_orientation(binary_[s].op)) mode_mask_[1] |= bit;
    }

    // Classes of stored features: (unit, complexity).
    std::map<std::array<int, Unit::kDims>, std::uint32_t> unit_ids;
    std::vector<Unit> unit_of_id;
    std::map<std::pair<std::uint32_t, int>, std::uint32_t> class_ids;
    std::vector<std::pair<std::uint32_t, int>> class_key;
    std::vector<std::uint32_t> col_class(n_st);
    for (std::size_t j = 0; j < n_st; ++j) {
        std::array<int, Unit::kDims> e{};
        for (int d = 0; d < Unit::kDims; ++d) e[static_cast<std::size_t>(d)] = features_[j].unit.sixths(d);
        auto u = unit_ids.emplace(e, static_cast<std::uint32_t>(unit_of_id.size()));
        if (u.second) unit_of_id.push_back(features_[j].unit);
        const std::pair<std::uint32_t, int> key{u.first->second, features_[j].complexity};
        auto c = class_ids.emplace(key, static_cast<std::uint32_t>(class_key.size()));
        if (c.second) class_key.push_back(key);
        col_class[j] = c.first->second;
    }
    const std::size_t n_classes = class_key.size();
    // Slots allowed between a newest feature of class a and a stored one of
    // class b by units and complexity (the same tests as allowed()).
    auto class_mask = [&](std::uint32_t a, std::uint32_t b) {
        const Unit& ua = unit_of_id[class_key[a].first];
        const Unit& ub = unit_of_id[class_key[b].first];
        if (options_.max_complexity > 0 && class_key[a].second + class_key[b].second + 1 > options_.max_complexity)
            return Mask{0};
        Mask m = 0;
        Unit out;
        for (std::size_t s = 0; s < binary_.size(); ++s) {
            bool ok = false;
            switch (binary_[s].op) {
                case Op::Add:
                case Op::Sub:
                case Op::AbsDiff: ok = ua == ub; break;
                case Op::Mul: ok = ua.multiply(ub, 1, out); break;
                case Op::Div: ok = binary_[s].reversed ? ub.multiply(ua, -1, out) : ua.multiply(ub, -1, out); break;
                default: break;
            }
            if (ok) m |= Mask{1} << s;
        }
        return m;
    };

    // One plan per distinct row of class masks.
    std::map<std::vector<Mask>, std::uint32_t> plan_ids;
    std::vector<std::int64_t> plan_of_class(n_classes, -1);
    row_plan_.resize(n_prev);
    for (std::size_t r = 0; r < n_prev; ++r) {
        const std::uint32_t a = col_class[pb + r];
        if (plan_of_class[a] < 0) {
            std::vector<Mask> masks(n_classes);
            for (std::uint32_t b = 0; b < n_classes; ++b) masks[b] = class_mask(a, b);
            auto p = plan_ids.emplace(std::move(masks), static_cast<std::uint32_t>(plans_.size()));
            if (p.second) {
                Plan plan;
                const std::vector<Mask>& pm = p.first->first;
                std::uint64_t cum[3] = {0, 0, 0};
                for (std::size_t j = 0; j < n_st; ++j) {
                    const Mask m = pm[col_class[j]];
                    if (!plan.runs.empty() && plan.runs.back().mask == m) continue;
                    if (!plan.runs.empty()) {
                        const Run& last = plan.runs.back();
                        for (int mode = 0; mode < 3; ++mode)
                            cum[mode] += (j - last.begin) * static_cast<std::uint64_t>(popcount(last.mask & mode_mask_[mode]));
                    }
                    plan.runs.push_back({j, m, {cum[0], cum[1], cum[2]}});
                }
                const Run& last = plan.runs.back();
                for (int mode = 0; mode < 3; ++mode)
                    cum[mode] += (n_st - last.begin) * static_cast<std::uint64_t>(popcount(last.mask & mode_mask_[mode]));
                plan.runs.push_back({n_st, 0, {cum[0], cum[1], cum[2]}});  // sentinel
                plans_.push_back(std::move(plan));
            }
            plan_of_class[a] = p.first->second;
        }
        row_plan_[r] = static_cast<std::uint32_t>(plan_of_class[a]);
    }

    // Rows: coarse counts, exceptions, offsets.
    for (std::size_t r = 0; r < n_prev; ++r) {
        const std::size_t i = pb + r;
        const Plan& plan = plans_[row_plan_[r]];
        std::uint64_t coarse = 0;
        for (int seg = 0; seg < 3; ++seg)
            coarse += count_before(plan, seg, seg_end(i, seg)) - count_before(plan, seg, seg_begin(i, seg));
        // The redundancy rules refuse only pairs with an operand of i (see allowed()).
        std::vector<std::uint64_t> exc;
        for (int side = 0; side < 2; ++side) {
            const std::int64_t operand = side == 0 ? features_[i].left : features_[i].right;
            if (operand < 0 || (side == 1 && operand == features_[i].left)) continue;
            const auto j = static_cast<std::size_t>(operand);
            if (j == i) continue;
            const int seg = j < pb ? 0 : (j < i ? 1 : 2);
            const auto q = static_cast<std::size_t>(
                std::upper_bound(plan.runs.begin(), plan.runs.end(), j,
                                 [](std::uint64_t v, const Run& run) { return v < run.begin; }) - plan.runs.begin() - 1);
            const Mask m = plan.runs[q].mask & mode_mask_[seg];
            for (std::size_t s = 0; s < binary_.size(); ++s) {
                if (!(m & (Mask{1} << s))) continue;
                if (!allowed({false, i, j, binary_[s].op, binary_[s].reversed, s}, nullptr, nullptr))
                    exc.push_back(coarse_rank(r, j, s));
            }
        }
        std::sort(exc.begin(), exc.end());
        exc_rank_.insert(exc_rank_.end(), exc.begin(), exc.end());
        exc_offset_[r + 1] = exc_rank_.size();
        n_coarse_binary_ += coarse;
        row_offset_[r + 1] = row_offset_[r] + coarse - exc.size();
    }
    n_allowed_binary_ = row_offset_[n_prev];
}

std::uint64_t SissoSpace::seg_begin(std::size_t i, int seg) const {
    return seg == 0 ? 0 : seg == 1 ? prev_begin_ : i + 1;
}

std::uint64_t SissoSpace::seg_end(std::size_t i, int seg) const {
    return seg == 0 ? prev_begin_ : seg == 1 ? i : n_stored();
}

// Coarse candidates of a plan in columns [0, column) under a mode.
std::uint64_t SissoSpace::count_before(const Plan& p, int mode, std::uint64_t column) const {
    const auto it = std::upper_bound(p.runs.begin(), p.runs.end(), column,
                                     [](std::uint64_t v, const Run& run) { return v < run.begin; });
    const Run& run = *(it - 1);
    return run.cum[mode] + (column - run.begin) * static_cast<std::uint64_t>(popcount(run.mask & mode_mask_[mode]));
}

// Rank among the row's coarse candidates of (column j, slot), a coarse candidate.
std::uint64_t SissoSpace::coarse_rank(std::size_t r, std::uint64_t j, std::size_t slot) const {
    const std::size_t i = prev_begin_ + r;
    const Plan& plan = plans_[row_plan_[r]];
    const int seg = j < prev_begin_ ? 0 : (j < i ? 1 : 2);
    std::uint64_t rank = 0;
    for (int s = 0; s < seg; ++s) rank += count_before(plan, s, seg_end(i, s)) - count_before(plan, s, seg_begin(i, s));
    rank += count_before(plan, seg, j) - count_before(plan, seg, seg_begin(i, seg));
    const auto it = std::upper_bound(plan.runs.begin(), plan.runs.end(), j,
                                     [](std::uint64_t v, const Run& run) { return v < run.begin; });
    const Mask m = (it - 1)->mask & mode_mask_[seg];
    return rank + static_cast<std::uint64_t>(popcount(m & ((Mask{1} << slot) - 1)));
}

// The cursor at the row's coarse candidate of the given rank (< the row's coarse count).
SissoSpace::Cursor SissoSpace::locate(std::size_t r, std::uint64_t coarse) const {
    const std::size_t i = prev_begin_ + r;
    const Plan& plan = plans_[row_plan_[r]];
    Cursor c;
    c.r = r;
    c.t = coarse;
    for (int seg = 0; seg < 3; ++seg) {
        const std::uint64_t lo = count_before(plan, seg, seg_begin(i, seg));
        const std::uint64_t hi = count_before(plan, seg, seg_end(i, seg));
        if (coarse >= hi - lo) {
            coarse -= hi - lo;
            continue;
        }
        const std::uint64_t target = lo + coarse;
        const auto it = std::upper_bound(plan.runs.begin(), plan.runs.end(), target,
                                         [seg](std::uint64_t v, const Run& run) { return v < run.cum[seg]; });
        c.q = static_cast<std::size_t>(it - plan.runs.begin() - 1);
        const Run& run = plan.runs[c.q];
        const Mask m = run.mask & mode_mask_[seg];
        const auto w = static_cast<std::uint64_t>(popcount(m));
        const std::uint64_t off = target - run.cum[seg];
        c.seg = seg;
        c.j = run.begin + off / w;
        c.left = drop_lowest(m, static_cast<int>(off % w));
        return c;
    }
    throw std::logic_error("coarse rank beyond its row");
}

// From c (c.left: slots of column c.j still to visit; none: from column c.j on),
// to the first generated candidate, or past the last row.
void SissoSpace::settle(Cursor& c) const {
    const std::size_t n_prev = n_stored() - prev_begin_;
    while (c.r < n_prev) {
        if (c.left) {
            if (c.e < exc_offset_[c.r + 1] && exc_rank_[c.e] == c.t) {  // refused by a redundancy rule
                c.left &= c.left - 1;
                ++c.t;
                ++c.e;
                if (!c.left) ++c.j;
                continue;
            }
            return;
        }
        // The next column with a slot, in this row.
        const std::size_t i = prev_begin_ + c.r;
        const std::vector<Run>& runs = plans_[row_plan_[c.r]].runs;
        bool found = false;
        while (c.seg < 3) {
            if (c.j >= seg_end(i, c.seg)) {
                if (++c.seg < 3) c.j = std::max(c.j, seg_begin(i, c.seg));
                continue;
            }
            while (runs[c.q + 1].begin <= c.j) ++c.q;
            const Mask m = runs[c.q].mask & mode_mask_[c.seg];
            if (m) {
                c.left = m;
                found = true;
                break;
            }
            c.j = std::min(runs[c.q + 1].begin, seg_end(i, c.seg));  // the run's mask may differ in the next segment
        }
        if (found) continue;
        ++c.r;  // the next row, from its start
        c.seg = 0;
        c.q = 0;
        c.j = 0;
        c.t = 0;
        c.e = exc_offset_[c.r];
    }
}

SissoSpace::Cursor SissoSpace::cursor_at(std::uint64_t binary_rank) const {
    if (binary_rank >= n_allowed_binary_) throw std::out_of_range("not a candidate of the lazy rung");
    const auto r = static_cast<std::size_t>(
        std::upper_bound(row_offset_.begin(), row_offset_.end(), binary_rank) - row_offset_.begin() - 1);
    std::uint64_t t = binary_rank - row_offset_[r];
    std::size_t e = exc_offset_[r];
    for (; e < exc_offset_[r + 1] && exc_rank_[e] <= t; ++e) ++t;  // skip the exceptions before it
    Cursor c = locate(r, t);
    c.e = e;
    return c;
}

SissoSpace::Lazy SissoSpace::lazy_of(const Cursor& c) const {
    const auto slot = static_cast<std::size_t>(lowest_bit(c.left));
    const BinaryOp& b = binary_[slot];
    return {false, prev_begin_ + c.r, static_cast<std::size_t>(c.j), b.op, b.reversed, slot};
}

std::uint64_t SissoSpace::product_index(std::uint64_t index) const {
    if (index < n_stored() || index >= size()) throw std::out_of_range("not a candidate of the lazy rung");
    if (!structured()) return index;
    const Lazy c = decode(index);
    const std::uint64_t r = c.i - prev_begin_;
    if (c.unary) return n_stored() + r * unary_.size() + c.slot;
    return n_stored() + n_unary_ + (r * n_stored() + c.j) * binary_.size() + c.slot;
}

SissoSpace::Lazy SissoSpace::decode(std::uint64_t index) const {
    if (index < n_stored() || index >= size()) throw std::out_of_range("not a candidate of the lazy rung");
    std::uint64_t k = index - n_stored();
    if (structured()) {
        if (k < n_allowed_unary_) {
            const std::uint64_t p = unary_allowed_[k];
            return {true, prev_begin_ + p / unary_.size(), 0, unary_[p % unary_.size()], false, p % unary_.size()};
        }
        return lazy_of(cursor_at(k - n_allowed_unary_));
    }
    if (k < n_unary_) return {true, prev_begin_ + k / unary_.size(), 0, unary_[k % unary_.size()], false, k % unary_.size()};
    k -= n_unary_;
    const std::uint64_t per_left = n_stored() * binary_.size();
    const std::uint64_t rem = k % per_left;
    const BinaryOp& b = binary_[rem % binary_.size()];
    return {false, prev_begin_ + k / per_left, rem / binary_.size(), b.op, b.reversed, rem % binary_.size()};
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
    if (index < n_stored()) return true;
    if (structured()) return index < size();  // every index of the structured block is a candidate
    return allowed(decode(index), nullptr, nullptr);
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
    if (structured()) {
        for (std::uint64_t idx = begin; idx < end; ++idx, out += n_) {
            if (idx < n_stored()) {
                std::copy_n(values_.data() + idx * n_, n_, out);
                continue;
            }
            const std::uint64_t k = idx - n_stored();
            if (k < n_allowed_unary_) {
                const Lazy c = decode(idx);
                apply_op(c.op, values_.data() + c.i * n_, values_.data() + c.i * n_, out, n_);
                continue;
            }
            // The binary candidates: one cursor walks the rest of the range.
            Cursor cur = cursor_at(k - n_allowed_unary_);
            for (; idx < end; ++idx, out += n_) {
                const Lazy c = lazy_of(cur);
                const double* x = values_.data() + (c.reversed ? c.j : c.i) * n_;
                const double* y = values_.data() + (c.reversed ? c.i : c.j) * n_;
                apply_op(c.op, x, y, out, n_);
                cur.left &= cur.left - 1;
                ++cur.t;
                if (!cur.left) ++cur.j;
                settle(cur);
            }
            return;
        }
        return;
    }
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
