// SissoSpace (the SISSO-style operator feature space) and Unit, against an
// independent re-statement of the documented rules (sisso_space.hpp, README):
//
//   rung r: u(f) for f of rung r-1 and u unary; f op g for f of rung r-1 and
//   g any stored feature (f != g);
//   + - |-| only between equal units, * / combine units, powers scale them;
//   strict_units: exp/log/sin/cos only of dimensionless features;
//   never generated: x op x; the second orientation of a + b, a * b, |a - b|,
//   a - b; exp(log x), log(exp x); sqrt(x^2), (sqrt x)^2, (x^-1)^-1;
//   A*B/B, B/(A*B), (A/B)*B;
//   a / b and b / a are different features: both are generated.
//
// The oracle below builds the expected feature set with its own loops and its
// own integer unit arithmetic (exponents in sixths), then compares it with the
// set of formulas the space reports as generated, by canonical key (operands
// of + * - |-| unordered, so that either orientation matches).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <omp.h>

#include "check.hpp"
#include "formulasearch/screening.hpp"
#include "formulasearch/sisso_space.hpp"
#include "formulasearch/units.hpp"

using namespace formulasearch;

namespace {

using Dims = std::array<int, Unit::kDims>;  // exponents in sixths

const std::vector<std::string> kNames{"E1", "E2", "R"};
const std::vector<std::string> kBase{"eV", "angstrom"};

Dims dims(int ev, int ang) {
    Dims d{};
    d[0] = ev;
    d[1] = ang;
    return d;
}

bool is_commutative_or_signed(Op op) { return op == Op::Add || op == Op::Mul || op == Op::AbsDiff || op == Op::Sub; }

// Canonical text of a formula: operands of + * |-| - in sorted order, recursively.
std::string key(const Formula& f) {
    const Op last = f.code().back().op;
    if (last == Op::Var) return kNames.at(f.code().back().arg);
    const auto ops = f.operands();
    const std::string tok(op_token(last));
    if (ops.size() == 1) return tok + "(" + key(ops[0]) + ")";
    std::string a = key(ops[0]), b = key(ops[1]);
    if (is_commutative_or_signed(last) && b < a) std::swap(a, b);
    return tok + "(" + a + "," + b + ")";
}

Op last_op(const Formula& f) { return f.code().back().op; }

// One feature of the oracle.
struct Feat {
    Formula f;
    Dims unit{};
    int cx = 0;
};

bool in_range(const Dims& d) {
    for (int e : d)
        if (std::abs(e) > 6 * 24) return false;
    return true;
}

struct OracleOptions {
    std::vector<Op> ops;
    int max_complexity = 0;
    bool strict = false;
};

bool transcendental(Op op) { return op == Op::Exp || op == Op::ExpNeg || op == Op::Log || op == Op::Sin || op == Op::Cos; }

bool zero(const Dims& d) {
    for (int e : d)
        if (e != 0) return false;
    return true;
}

// The next rung by the documented rules: newest = stored[prev_begin, end).
std::vector<Feat> oracle_rung(const std::vector<Feat>& stored, std::size_t prev_begin, const OracleOptions& o) {
    std::vector<Feat> out;
    auto push = [&](Formula f, Dims u, int cx) {
        if (o.max_complexity > 0 && cx > o.max_complexity) return;
        if (!in_range(u)) return;
        out.push_back({std::move(f), u, cx});
    };
    for (std::size_t i = prev_begin; i < stored.size(); ++i) {
        const Feat& x = stored[i];
        const Op lx = last_op(x.f);
        for (Op u : o.ops) {
            if (arity(u) != 1) continue;
            // Redundant compositions.
            if ((u == Op::Exp || u == Op::ExpNeg) && lx == Op::Log) continue;
            if (u == Op::Log && (lx == Op::Exp || lx == Op::ExpNeg)) continue;
            if (u == Op::Sqrt && lx == Op::Square) continue;
            if (u == Op::Square && lx == Op::Sqrt) continue;
            if (u == Op::Cbrt && lx == Op::Cube) continue;
            if (u == Op::Cube && lx == Op::Cbrt) continue;
            if (u == Op::Inv && lx == Op::Inv) continue;
            Dims d{};
            bool ok = true;
            for (int k = 0; k < Unit::kDims; ++k) {
                const int e = x.unit[k];
                switch (u) {
                    case Op::Square: d[k] = 2 * e; break;
                    case Op::Cube: d[k] = 3 * e; break;
                    case Op::Pow6: d[k] = 6 * e; break;
                    case Op::Inv: d[k] = -e; break;
                    case Op::Sqrt:
                    case Op::SqrtAbs:
                        if (e % 2) ok = false;
                        d[k] = e / 2;
                        break;
                    case Op::Cbrt:
                        if (e % 3) ok = false;
                        d[k] = e / 3;
                        break;
                    case Op::Abs: d[k] = e; break;
                    default: d[k] = 0; break;
                }
            }
            if (!ok) continue;
            if (transcendental(u) && o.strict && !zero(x.unit)) continue;
            push(Formula::unary(u, x.f), d, x.cx + 1);
        }
    }
    // Each unordered pair {a, b} with a in the newest rung, once.
    for (std::size_t i = prev_begin; i < stored.size(); ++i) {
        for (std::size_t j = 0; j < stored.size(); ++j) {
            if (j == i || (j >= prev_begin && j < i)) continue;
            const Feat& a = stored[i];
            const Feat& b = stored[j];
            const int cx = a.cx + b.cx + 1;
            for (Op op : o.ops) {
                if (arity(op) != 2) continue;
                if (op == Op::Add || op == Op::Sub || op == Op::AbsDiff) {
                    if (a.unit != b.unit) continue;
                    push(Formula::binary(op, a.f, b.f), a.unit, cx);
                } else if (op == Op::Mul) {
                    // (A/B)*B in either order.
                    auto div_by = [](const Feat& p, const Feat& q) {
                        return last_op(p.f) == Op::Div && key(p.f.operands()[1]) == key(q.f);
                    };
                    if (div_by(a, b) || div_by(b, a)) continue;
                    Dims d;
                    for (int k = 0; k < Unit::kDims; ++k) d[k] = a.unit[k] + b.unit[k];
                    push(Formula::binary(op, a.f, b.f), d, cx);
                } else if (op == Op::Div) {
                    // p/q unless p = A*q (A*B/B) or q = A*p (B/(A*B)).
                    auto has_factor = [](const Feat& p, const Feat& q) {
                        if (last_op(p.f) != Op::Mul) return false;
                        const auto ops = p.f.operands();
                        return key(ops[0]) == key(q.f) || key(ops[1]) == key(q.f);
                    };
                    for (int orient = 0; orient < 2; ++orient) {
                        const Feat& p = orient == 0 ? a : b;
                        const Feat& q = orient == 0 ? b : a;
                        if (has_factor(p, q) || has_factor(q, p)) continue;
                        Dims d;
                        for (int k = 0; k < Unit::kDims; ++k) d[k] = p.unit[k] - q.unit[k];
                        push(Formula::binary(op, p.f, q.f), d, cx);
                    }
                }
            }
        }
    }
    return out;
}

Dims dims_of(const Unit& u) {
    Dims d;
    for (int k = 0; k < Unit::kDims; ++k) d[k] = u.sixths(k);
    return d;
}

bool same_bits(const double* a, const double* b, std::size_t n) {
    for (std::size_t s = 0; s < n; ++s) {
        if (std::isnan(a[s]) && std::isnan(b[s])) continue;
        if (std::memcmp(&a[s], &b[s], sizeof(double)) != 0) return false;
    }
    return true;
}

// Generated candidates of the lazy rung, by canonical key -> index (and the
// count of keys met more than once).
struct Block {
    std::map<std::string, std::uint64_t> by_key;
    int repeated = 0;
    std::vector<std::uint64_t> indices;
};

Block generated_block(const SissoSpace& space) {
    Block b;
    for (std::uint64_t idx = space.n_stored(); idx < space.size(); ++idx) {
        if (!space.generated(idx)) continue;
        b.indices.push_back(idx);
        if (!b.by_key.emplace(key(space.formula(idx)), idx).second) {
            ++b.repeated;
            std::cerr << "  generated twice: " << space.formula(idx).to_string(kNames) << "\n";
        }
    }
    return b;
}

// The block against the oracle: same set of features, each once; units,
// complexity and values of every generated candidate.
void compare_block(const SissoSpace& space, const std::vector<Feat>& expected, const Primaries& prim,
                   const char* what) {
    const Block b = generated_block(space);
    CHECK(b.repeated == 0);
    std::map<std::string, const Feat*> want;
    for (const Feat& e : expected) {
        const bool fresh = want.emplace(key(e.f), &e).second;
        if (!fresh) std::cerr << "  (oracle) " << what << " repeats " << e.f.to_string(kNames) << "\n";
    }
    int extra = 0, missing = 0;
    for (const auto& [k, idx] : b.by_key)
        if (!want.count(k)) {
            if (++extra <= 10) std::cerr << "  " << what << ": generated but not allowed by the rules: "
                                         << space.formula(idx).to_string(kNames) << "\n";
        }
    for (const auto& [k, e] : want)
        if (!b.by_key.count(k)) {
            if (++missing <= 10) std::cerr << "  " << what << ": allowed by the rules but not generated: "
                                           << e->f.to_string(kNames) << "\n";
        }
    if (extra || missing)
        std::cerr << "  " << what << ": " << extra << " extra, " << missing << " missing of " << want.size() << "\n";
    CHECK(extra == 0);
    CHECK(missing == 0);

    const std::size_t n = prim.n_samples;
    std::vector<double> lazy(n), direct(n);
    for (const auto& [k, idx] : b.by_key) {
        const Formula f = space.formula(idx);
        CHECK(space.rung(idx) == space.lazy_rung());
        CHECK(space.complexity(idx) == f.complexity());
        auto it = want.find(k);
        if (it != want.end()) {
            CHECK(dims_of(space.unit(idx)) == it->second->unit);
            CHECK(space.complexity(idx) == it->second->cx);
        }
        // The stored-operand evaluation equals the formula's own, bit for bit.
        space.evaluate_range(idx, idx + 1, lazy.data());
        f.evaluate(prim.values.data(), prim.n_vars, n, direct.data());
        CHECK(same_bits(lazy.data(), direct.data(), n));
    }
}

Primaries make_primaries(std::size_t n, unsigned seed, const std::vector<std::string>& names) {
    Primaries p;
    p.n_vars = names.size();
    p.n_samples = n;
    p.names = names;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0.3, 2.5);
    for (std::size_t k = 0; k < p.n_vars * n; ++k) p.values.push_back(u(rng));
    p.values[1] = -0.7;  // one negative value: sqrt of it is NaN (compared as NaN)
    return p;
}

SissoSpace make_space(const Primaries& p, const std::vector<Dims>& units, const std::vector<std::vector<Op>>& ops,
                      int max_complexity, bool strict) {
    std::vector<Unit> us;
    for (const Dims& d : units) us.push_back(Unit::from_sixths(d));
    SissoOptions opt;
    opt.ops_per_rung = ops;
    opt.max_complexity = max_complexity;
    opt.strict_units = strict;
    return SissoSpace(p, us, opt);
}

std::vector<Feat> primaries_as_feats(const std::vector<Dims>& units) {
    std::vector<Feat> out;
    for (std::size_t v = 0; v < units.size(); ++v) out.push_back({Formula::variable(static_cast<int>(v)), units[v], 0});
    return out;
}

bool has(const Block& b, const Formula& f) { return b.by_key.count(key(f)) > 0; }

// The stored feature equal to f up to the orientation of + * - |-|.
Formula stored(const SissoSpace& space, const Formula& f) {
    for (std::uint64_t idx = 0; idx < space.n_stored(); ++idx)
        if (key(space.formula(idx)) == key(f)) return space.formula(idx);
    std::cerr << "  not stored: " << f.to_string(kNames) << "\n";
    return f;
}

void test_units() {
    const Unit ev = Unit::from_sixths(dims(6, 0)), ang = Unit::from_sixths(dims(0, 6));
    Unit u;
    // to_string: exponents as reduced fractions of a power.
    CHECK(Unit::from_sixths(dims(12, -3)).to_string(kBase) == "eV^2 angstrom^-1/2");
    CHECK(ev.to_string(kBase) == "eV");
    CHECK(Unit().to_string(kBase).empty());
    CHECK(Unit().dimensionless() && !ev.dimensionless());
    CHECK(Unit::from_sixths(dims(-6, 0)).to_string(kBase) == "eV^-1");
    CHECK(Unit::from_sixths(dims(4, 0)).to_string(kBase) == "eV^2/3");
    CHECK(Unit::from_sixths(dims(-5, 18)).to_string(kBase) == "eV^-5/6 angstrom^3");
    CHECK(Unit::from_sixths(dims(0, 2)).to_string(kBase) == "angstrom^1/3");
    CHECK_THROWS(Unit::from_sixths(dims(0, 6)).to_string({"eV"}));  // no name for base 1

    // multiply: this * other^sign.
    CHECK(ev.multiply(ang, -1, u) && u == Unit::from_sixths(dims(6, -6)));
    CHECK(u.to_string(kBase) == "eV angstrom^-1");
    CHECK(ev.multiply(ev, 1, u) && u == Unit::from_sixths(dims(12, 0)));
    CHECK(ev.multiply(ev, -1, u) && u.dimensionless());
    // power: num/den with den 1, 2, 3; refuses powers that are not whole sixths.
    CHECK(ev.power(1, 2, u) && u.to_string(kBase) == "eV^1/2");
    CHECK(ev.power(1, 3, u) && u.to_string(kBase) == "eV^1/3");
    CHECK(ev.power(-1, 1, u) && u.to_string(kBase) == "eV^-1");
    CHECK(ev.power(2, 1, u) && u == Unit::from_sixths(dims(12, 0)));
    const Unit half = Unit::from_sixths(dims(3, 0));
    CHECK(!half.power(1, 2, u));                                  // eV^1/4: not a sixth
    CHECK(!Unit::from_sixths(dims(-3, 0)).power(1, 2, u));        // eV^-1/4 neither
    CHECK(half.power(1, 3, u) && u == Unit::from_sixths(dims(1, 0)));  // eV^1/6
    CHECK(Unit::from_sixths(dims(2, 0)).power(3, 1, u) && u == ev);
    // Range: |exponent| <= 24 (144 sixths).
    CHECK_THROWS(Unit::from_sixths(dims(145, 0)));
    CHECK_THROWS(Unit::from_sixths(dims(0, -145)));
    const Unit big = Unit::from_sixths(dims(144, 0));
    CHECK(!big.multiply(ev, 1, u));
    CHECK(big.multiply(ev, -1, u) && u == Unit::from_sixths(dims(138, 0)));
    CHECK(!big.power(2, 1, u));
    CHECK(Unit::from_sixths(dims(72, 0)).power(2, 1, u) && u == big);
    CHECK(Unit::from_sixths(dims(0, -144)).multiply(ang, 1, u) && u == Unit::from_sixths(dims(0, -138)));
    CHECK(!Unit::from_sixths(dims(0, -144)).multiply(ang, -1, u));
}

void test_rungs_1_and_2() {
    const std::vector<Dims> units{dims(6, 0), dims(6, 0), dims(0, 6)};  // E1, E2: eV; R: angstrom
    const Primaries prim = make_primaries(9, 7, kNames);
    const std::vector<Op> ops{Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Exp, Op::Square, Op::Sqrt, Op::Inv, Op::AbsDiff};
    SissoSpace space = make_space(prim, units, {ops, ops}, 0, false);
    CHECK(space.lazy_rung() == 1 && space.max_rung() == 2);
    CHECK(space.n_stored() == 3);
    // The product: 4 unary-op images of each newest feature, 5 binary ops
    // plus the reversed quotient over every (newest, stored) pair of indices;
    // the (structured) lazy block holds the generated ones only.
    CHECK(space.product_size() == 3 * 4 + 3 * 3 * 6);
    CHECK(space.size() < 3 + space.product_size());
    for (std::uint64_t v = 0; v < 3; ++v) {
        CHECK(space.generated(v) && space.rung(v) == 0 && space.complexity(v) == 0);
        CHECK(space.formula(v) == Formula::variable(static_cast<int>(v)));
    }

    const std::vector<Feat> stored0 = primaries_as_feats(units);
    const std::vector<Feat> rung1 = oracle_rung(stored0, 0, {ops, 0, false});
    compare_block(space, rung1, prim, "rung 1");

    const Block b1 = generated_block(space);
    const Formula E1 = Formula::variable(0), E2 = Formula::variable(1), R = Formula::variable(2);
    // Equal units only for + - |-|.
    CHECK(has(b1, Formula::binary(Op::Add, E1, E2)));
    CHECK(!has(b1, Formula::binary(Op::Add, E1, R)));
    CHECK(!has(b1, Formula::binary(Op::Sub, E2, R)));
    CHECK(!has(b1, Formula::binary(Op::AbsDiff, E1, R)));
    CHECK(has(b1, Formula::binary(Op::AbsDiff, E1, E2)));
    // x op x never.
    for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::AbsDiff}) CHECK(!has(b1, Formula::binary(op, E1, E1)));
    // One orientation of + * - |-|; both of /.
    for (Op op : {Op::Add, Op::Mul, Op::Sub, Op::AbsDiff}) {
        int n = 0;
        for (std::uint64_t idx : b1.indices) {
            const Formula f = space.formula(idx);
            if (f == Formula::binary(op, E1, E2) || f == Formula::binary(op, E2, E1)) ++n;
        }
        CHECK(n == 1);
    }
    int n_div = 0;
    for (std::uint64_t idx : b1.indices) {
        const Formula f = space.formula(idx);
        if (f == Formula::binary(Op::Div, E1, R) || f == Formula::binary(Op::Div, R, E1)) ++n_div;
    }
    CHECK(n_div == 2);
    // Units of results.
    auto unit_of = [&](const Formula& f) {
        for (std::uint64_t idx : b1.indices)
            if (space.formula(idx) == f) return space.unit(idx).to_string(kBase);
        return std::string("<not generated>");
    };
    CHECK(unit_of(Formula::binary(Op::Div, E1, R)) == "eV angstrom^-1");
    CHECK(unit_of(Formula::binary(Op::Div, R, E1)) == "eV^-1 angstrom");
    CHECK(unit_of(Formula::unary(Op::Sqrt, E1)) == "eV^1/2");
    CHECK(unit_of(Formula::unary(Op::Square, R)) == "angstrom^2");
    CHECK(unit_of(Formula::unary(Op::Inv, R)) == "angstrom^-1");
    CHECK(unit_of(Formula::unary(Op::Exp, E1)).empty());  // exp of anything is dimensionless (not strict)
    CHECK(unit_of(Formula::binary(Op::Div, E1, E2)).empty());
    // A non-candidate index (of the unstructured product) cannot be turned into a formula or stored.
    {
        std::vector<Unit> us;
        for (const Dims& d : units) us.push_back(Unit::from_sixths(d));
        SissoOptions uo;
        uo.ops_per_rung = {ops, ops};
        uo.structured = false;
        SissoSpace walk(prim, us, uo);
        CHECK(walk.size() == 3 + 3 * 4 + 3 * 3 * 6);
        std::uint64_t not_generated = 0;
        for (std::uint64_t idx = walk.n_stored(); idx < walk.size(); ++idx)
            if (!walk.generated(idx)) {
                not_generated = idx;
                break;
            }
        CHECK(not_generated != 0);
        CHECK_THROWS(walk.formula(not_generated));
        SissoSpace copy = walk;
        CHECK_THROWS(copy.advance({not_generated}));
    }
    CHECK_THROWS(space.formula(space.size()));

    // Rung 2 from every generated rung-1 candidate.
    space.advance(b1.indices);
    CHECK(space.lazy_rung() == 2);
    CHECK(space.n_stored() == 3 + b1.indices.size());
    CHECK(space.stored_bytes() == space.n_stored() * prim.n_samples * sizeof(double));
    // Stored rung-1 features keep their formulas, units and values.
    std::vector<Feat> stored1 = stored0;
    for (std::size_t k = 0; k < b1.indices.size(); ++k) {
        const std::uint64_t idx = 3 + k;
        CHECK(space.rung(idx) == 1);
        const std::string kk = key(space.formula(idx));
        auto it = std::find_if(rung1.begin(), rung1.end(), [&](const Feat& e) { return key(e.f) == kk; });
        CHECK(it != rung1.end());
        if (it != rung1.end()) stored1.push_back({space.formula(idx), it->unit, it->cx});
    }
    const std::vector<Feat> rung2 = oracle_rung(stored1, 3, {ops, 0, false});
    compare_block(space, rung2, prim, "rung 2");

    const Block b2 = generated_block(space);
    // The redundancy rules: none of sqrt(x^2), (sqrt x)^2, (x^-1)^-1, A*B/B, B/(A*B), (A/B)*B.
    int redundant = 0;
    for (std::uint64_t idx : b2.indices) {
        const Formula f = space.formula(idx);
        const Op op = last_op(f);
        const auto args = f.operands();
        if (args.size() == 1) {
            const Op inner = last_op(args[0]);
            if ((op == Op::Sqrt && inner == Op::Square) || (op == Op::Square && inner == Op::Sqrt) ||
                (op == Op::Inv && inner == Op::Inv))
                ++redundant;
            continue;
        }
        auto factors = [](const Formula& g) { return last_op(g) == Op::Mul ? g.operands() : std::vector<Formula>{}; };
        if (op == Op::Div) {
            for (const Formula& x : factors(args[0]))
                if (x == args[1]) ++redundant;  // A*B/B
            for (const Formula& x : factors(args[1]))
                if (x == args[0]) ++redundant;  // B/(A*B)
        }
        if (op == Op::Mul) {
            for (int s = 0; s < 2; ++s)
                if (last_op(args[s]) == Op::Div && args[s].operands()[1] == args[1 - s]) ++redundant;  // (A/B)*B
        }
        if (redundant) {
            std::cerr << "  redundant rung-2 feature: " << f.to_string(kNames) << "\n";
            break;
        }
    }
    CHECK(redundant == 0);
    // a/b and b/a are different features (not equal up to sign or scale), so the
    // rule that keeps one orientation must not apply to division: for every
    // generated p/q of a rung-1 feature p and a primary q, q/p is generated too
    // (unless it is B/(A*B)).
    int one_way = 0, two_way = 0;
    for (std::uint64_t idx : b2.indices) {
        const Formula f = space.formula(idx);
        if (last_op(f) != Op::Div) continue;
        const auto pq = f.operands();
        if (pq[0].complexity() != 1 || pq[1].complexity() != 0) continue;
        const bool q_is_factor_of_p = last_op(pq[0]) == Op::Mul &&
                                      (pq[0].operands()[0] == pq[1] || pq[0].operands()[1] == pq[1]);
        if (q_is_factor_of_p) continue;
        if (has(b2, Formula::binary(Op::Div, pq[1], pq[0]))) {
            ++two_way;
        } else if (++one_way <= 3) {
            std::cerr << "  " << f.to_string(kNames) << " is generated, " << Formula::binary(Op::Div, pq[1], pq[0]).to_string(kNames)
                      << " is not\n";
        }
    }
    if (one_way) std::cerr << "  " << one_way << " rung-2 quotients of a rung-1 feature by a primary lack their reverse\n";
    CHECK(one_way == 0);
    CHECK(two_way + one_way > 0);
    // Division of a primary by a rung-1 feature and the reverse: both are features.
    const Formula sum = Formula::binary(Op::Add, E1, E2);
    const Formula stored_sum = stored(space, sum);
    CHECK(has(b2, Formula::binary(Op::Div, stored_sum, R)));   // (E1 + E2)/R
    CHECK(has(b2, Formula::binary(Op::Div, R, stored_sum)));   // R/(E1 + E2)
    const Formula inv_r = stored(space, Formula::unary(Op::Inv, R));
    CHECK(has(b2, Formula::binary(Op::Div, E1, inv_r)));       // E1/R^-1
    CHECK(has(b2, Formula::binary(Op::Div, inv_r, E1)));       // R^-1/E1
    // Not the (x^-1)^-1, nor sqrt(x^2).
    CHECK(!has(b2, Formula::unary(Op::Inv, inv_r)));
    CHECK(!has(b2, Formula::unary(Op::Sqrt, Formula::unary(Op::Square, R))));
    CHECK(has(b2, Formula::unary(Op::Square, Formula::unary(Op::Square, R))));  // (R^2)^2 is fine
    // The last rung is screened, never stored.
    CHECK_THROWS(space.advance({}));
}

void test_complexity_limit() {
    const std::vector<Dims> units{dims(6, 0), dims(6, 0), dims(0, 6)};
    const Primaries prim = make_primaries(8, 3, kNames);
    const std::vector<Op> ops{Op::Add, Op::Mul, Op::Div, Op::Square, Op::Sqrt, Op::AbsDiff};
    SissoSpace free_space = make_space(prim, units, {ops, ops}, 0, false);
    SissoSpace limited = make_space(prim, units, {ops, ops}, 2, false);
    // Rung 1 has complexity 1 everywhere: identical blocks.
    const Block f1 = generated_block(free_space), l1 = generated_block(limited);
    CHECK(f1.indices == l1.indices);
    free_space.advance(f1.indices);
    limited.advance(l1.indices);
    const Block f2 = generated_block(free_space), l2 = generated_block(limited);
    // The limited block is exactly the unlimited one's features of complexity <= 2.
    std::set<std::string> want;
    int above = 0;
    for (std::uint64_t idx : f2.indices) {
        const int cx = free_space.formula(idx).complexity();
        CHECK(free_space.complexity(idx) == cx);
        if (cx <= 2) want.insert(key(free_space.formula(idx)));
        else ++above;
    }
    CHECK(above > 0);  // the limit bites
    std::set<std::string> got;
    for (std::uint64_t idx : l2.indices) {
        CHECK(limited.complexity(idx) <= 2);
        CHECK(limited.formula(idx).complexity() <= 2);
        got.insert(key(limited.formula(idx)));
    }
    CHECK(got == want);
    // And against the oracle with the limit.
    std::vector<Feat> stored1 = primaries_as_feats(units);
    const std::vector<Feat> rung1 = oracle_rung(stored1, 0, {ops, 2, false});
    for (std::size_t k = 0; k < l1.indices.size(); ++k) {
        const std::string kk = key(limited.formula(3 + k));
        auto it = std::find_if(rung1.begin(), rung1.end(), [&](const Feat& e) { return key(e.f) == kk; });
        if (it != rung1.end()) stored1.push_back({limited.formula(3 + k), it->unit, it->cx});
    }
    CHECK(stored1.size() == limited.n_stored());
    compare_block(limited, oracle_rung(stored1, 3, {ops, 2, false}), prim, "rung 2, max_complexity 2");
}

void test_strict_units() {
    // Strict: exp only of dimensionless features.
    const std::vector<Dims> units{dims(6, 0), dims(6, 0), dims(0, 6)};
    const Primaries prim = make_primaries(8, 5, kNames);
    const Formula E1 = Formula::variable(0), E2 = Formula::variable(1), R = Formula::variable(2);
    const std::vector<Op> rung1_ops{Op::Div, Op::Exp};
    const std::vector<Op> rung2_ops{Op::Exp, Op::Log};
    {
        SissoSpace loose = make_space(prim, units, {rung1_ops, rung2_ops}, 0, false);
        const Block b = generated_block(loose);
        CHECK(has(b, Formula::unary(Op::Exp, E1)));
        CHECK(has(b, Formula::unary(Op::Exp, R)));
    }
    SissoSpace strict = make_space(prim, units, {rung1_ops, rung2_ops}, 0, true);
    const Block b1 = generated_block(strict);
    for (const Formula& x : {E1, E2, R}) CHECK(!has(b1, Formula::unary(Op::Exp, x)));
    CHECK(has(b1, Formula::binary(Op::Div, E1, E2)));
    CHECK(has(b1, Formula::binary(Op::Div, E1, R)));
    compare_block(strict, oracle_rung(primaries_as_feats(units), 0, {rung1_ops, 0, true}), prim, "strict rung 1");
    strict.advance(b1.indices);
    const Block b2 = generated_block(strict);
    CHECK(has(b2, Formula::unary(Op::Exp, Formula::binary(Op::Div, E1, E2))));
    CHECK(has(b2, Formula::unary(Op::Log, Formula::binary(Op::Div, E2, E1))));
    CHECK(!has(b2, Formula::unary(Op::Exp, Formula::binary(Op::Div, E1, R))));
    CHECK(!has(b2, Formula::unary(Op::Log, Formula::binary(Op::Div, R, E2))));
    for (std::uint64_t idx : b2.indices) {
        const Formula f = strict.formula(idx);
        CHECK(strict.unit(idx).dimensionless());
        // The argument of every transcendental feature is dimensionless: a ratio of equal units.
        const Formula arg = f.operands()[0];
        CHECK(last_op(arg) == Op::Div);
        const auto pq = arg.operands();
        CHECK((pq[0] == R) == (pq[1] == R));
    }
}

void test_exp_log_and_more() {
    // exp(log x) and log(exp x) are never generated; exp(exp x), log(log x) are.
    const std::vector<std::string> names{"a", "b", "c"};
    const std::vector<Dims> units{Dims{}, Dims{}, Dims{}};
    Primaries prim = make_primaries(8, 9, names);
    for (double& v : prim.values) v = std::fabs(v) + 1.1;  // log(log x) finite
    const std::vector<Op> ops{Op::Exp, Op::Log, Op::Mul, Op::Div};
    SissoSpace space = make_space(prim, units, {ops, ops}, 0, true);
    const Block b1 = generated_block(space);
    space.advance(b1.indices);
    const Block b2 = generated_block(space);
    int exp_log = 0, log_exp = 0, exp_exp = 0, log_log = 0;
    for (std::uint64_t idx : b2.indices) {
        const Formula f = space.formula(idx);
        const auto args = f.operands();
        if (args.size() != 1) continue;
        const Op o = last_op(f), in = last_op(args[0]);
        exp_log += o == Op::Exp && in == Op::Log;
        log_exp += o == Op::Log && in == Op::Exp;
        exp_exp += o == Op::Exp && in == Op::Exp;
        log_log += o == Op::Log && in == Op::Log;
    }
    CHECK(exp_log == 0);
    CHECK(log_exp == 0);
    CHECK(exp_exp == 3);
    CHECK(log_log == 3);
    // A*B/B with dimensionless A and B: (a*b)/b is not generated, (a*b)/c is.
    const Formula a = Formula::variable(0), bb = Formula::variable(1), c = Formula::variable(2);
    const Formula ab = stored(space, Formula::binary(Op::Mul, a, bb));
    CHECK(!has(b2, Formula::binary(Op::Div, ab, bb)));
    CHECK(!has(b2, Formula::binary(Op::Div, ab, a)));
    CHECK(has(b2, Formula::binary(Op::Div, ab, c)));
    CHECK(!has(b2, Formula::binary(Op::Div, bb, ab)));  // B/(A*B)
    // (A/B)*B is not generated, (A/B)*C is.
    const Formula a_over_b = stored(space, Formula::binary(Op::Div, a, bb));
    CHECK(!has(b2, Formula::binary(Op::Mul, a_over_b, bb)));
    CHECK(has(b2, Formula::binary(Op::Mul, a_over_b, c)));
    // Everything else per the rules (values bit for bit inside).
    std::vector<Feat> stored1 = primaries_as_feats(units);
    const std::vector<Feat> rung1 = oracle_rung(stored1, 0, {ops, 0, true});
    compare_block(SissoSpace(make_space(prim, units, {ops, ops}, 0, true)), rung1, prim, "dimensionless rung 1");
    for (std::uint64_t idx = 3; idx < space.n_stored(); ++idx) {
        const std::string kk = key(space.formula(idx));
        auto it = std::find_if(rung1.begin(), rung1.end(), [&](const Feat& e) { return key(e.f) == kk; });
        CHECK(it != rung1.end());
        if (it != rung1.end()) stored1.push_back({space.formula(idx), it->unit, it->cx});
    }
    compare_block(space, oracle_rung(stored1, 3, {ops, 0, true}), prim, "dimensionless rung 2");
}

void test_advance_subset() {
    // Only the kept candidates are stored; rung 2 is built from them alone.
    const std::vector<Dims> units{dims(6, 0), dims(6, 0), dims(0, 6)};
    const Primaries prim = make_primaries(8, 13, kNames);
    const std::vector<Op> ops{Op::Add, Op::Mul, Op::Div, Op::Square, Op::Sqrt};
    SissoSpace space = make_space(prim, units, {ops, ops}, 0, false);
    const Block b1 = generated_block(space);
    std::vector<std::uint64_t> kept;
    std::set<std::string> kept_keys;
    for (std::size_t k = 0; k < b1.indices.size(); k += 3) {
        kept.push_back(b1.indices[k]);
        kept_keys.insert(key(space.formula(b1.indices[k])));
    }
    std::vector<std::uint64_t> shuffled(kept.rbegin(), kept.rend());  // any order
    std::vector<std::vector<double>> values;
    for (std::uint64_t idx : kept) {
        std::vector<double> v(prim.n_samples);
        space.evaluate_range(idx, idx + 1, v.data());
        values.push_back(v);
    }
    space.advance(shuffled);
    CHECK(space.n_stored() == 3 + kept.size());
    std::set<std::string> stored_keys;
    for (std::uint64_t idx = 3; idx < space.n_stored(); ++idx) {
        stored_keys.insert(key(space.formula(idx)));
        // Stored in generation order, with the values they had as candidates.
        std::vector<double> v(prim.n_samples);
        space.evaluate_range(idx, idx + 1, v.data());
        CHECK(same_bits(v.data(), values[idx - 3].data(), prim.n_samples));
    }
    CHECK(stored_keys == kept_keys);
    const Block b2 = generated_block(space);
    CHECK(!b2.indices.empty());
    for (std::uint64_t idx : b2.indices) {
        const Formula f = space.formula(idx);
        bool uses_new = false;
        for (const Formula& x : f.operands()) {
            const bool primary = x.complexity() == 0;
            CHECK(primary || stored_keys.count(key(x)));
            uses_new = uses_new || !primary;
        }
        CHECK(uses_new);  // every rung-2 feature has a rung-1 operand
        std::vector<double> lazy(prim.n_samples), direct(prim.n_samples);
        space.evaluate_range(idx, idx + 1, lazy.data());
        f.evaluate(prim.values.data(), prim.n_vars, prim.n_samples, direct.data());
        CHECK(same_bits(lazy.data(), direct.data(), prim.n_samples));
    }
}

// No operator (rung 0): the space is the primaries themselves, each its own formula.
void test_rung_0() {
    const std::vector<Dims> units{dims(6, 0), dims(6, 0), dims(0, 6)};
    const Primaries prim = make_primaries(3, 5, kNames);
    SissoSpace space = make_space(prim, units, {}, 0, false);
    CHECK(space.size() == prim.n_vars && space.max_rung() == 0 && space.n_stored() == prim.n_vars);
    for (std::uint64_t i = 0; i < space.size(); ++i) {
        CHECK(space.generated(i));
        CHECK(space.formula(i) == Formula::variable(static_cast<int>(i)));
        std::vector<double> got(prim.n_samples);
        space.evaluate_range(i, i + 1, got.data());
        CHECK(same_bits(got.data(), prim.values.data() + i * prim.n_samples, prim.n_samples));
    }
}

void test_bad_arguments() {
    const std::vector<Dims> units{dims(6, 0), dims(6, 0), dims(0, 6)};
    const Primaries prim = make_primaries(6, 1, kNames);
    CHECK_THROWS(make_space(prim, {dims(6, 0)}, {{Op::Add}}, 0, false));       // one unit per variable
    CHECK_THROWS(make_space(prim, units, {{Op::Var}}, 0, false));               // not an operator
}


// The structured enumeration against the unstructured walk of the product
// (decode + the rules, index by index): the same candidates, in the same
// order (product_index), with the same formulas, units, complexities and
// values; random access (formula(index)) and any split of evaluate_range
// agree with one sequential pass. Rung after rung, keeping a subset.
struct StructuredCase {
    const char* name;
    std::vector<std::string> names;
    std::vector<Dims> units;
    std::vector<std::vector<Op>> ops;
    int max_complexity;
    bool strict;
    std::size_t keep_every;  // store every k-th generated candidate of rungs below the last
};

void compare_structured_rung(const SissoSpace& s, const SissoSpace& u, const char* what,
                             std::vector<std::uint64_t>& s_idx, std::vector<std::uint64_t>& u_idx) {
    const std::size_t n = s.n_samples();
    CHECK(s.structured() && !u.structured());
    CHECK(s.n_stored() == u.n_stored());
    CHECK(s.product_size() == u.product_size());
    CHECK(u.size() == u.n_stored() + u.product_size());
    // The product, index by index, with the rules: the brute force.
    u_idx.clear();
    for (std::uint64_t idx = u.n_stored(); idx < u.size(); ++idx)
        if (u.generated(idx)) u_idx.push_back(idx);
    s_idx.clear();
    for (std::uint64_t idx = s.n_stored(); idx < s.size(); ++idx) s_idx.push_back(idx);
    const bool same_count = s_idx.size() == u_idx.size();
    if (!same_count) std::cerr << "  " << what << ": " << s_idx.size() << " structured vs " << u_idx.size() << " generated\n";
    CHECK(same_count);
    CHECK(s.n_visited() >= s.n_lazy() && s.n_visited() <= s.product_size());
    CHECK(u.n_visited() == u.product_size());
    // Same set of formulas (sorted postfix strings).
    std::vector<std::string> ps, pu;
    for (auto idx : s_idx) ps.push_back(s.formula(idx).to_postfix(s.primaries().names));
    for (auto idx : u_idx) pu.push_back(u.formula(idx).to_postfix(u.primaries().names));
    std::vector<std::string> ss = ps, su = pu;
    std::sort(ss.begin(), ss.end());
    std::sort(su.begin(), su.end());
    CHECK(ss == su);
    CHECK(std::adjacent_find(ss.begin(), ss.end()) == ss.end());  // each once
    if (!same_count) return;
    // Same order: the k-th structured candidate is the k-th generated index of the product.
    int misplaced = 0;
    for (std::size_t k = 0; k < s_idx.size(); ++k) {
        if (s.product_index(s_idx[k]) != u_idx[k] || ps[k] != pu[k]) {
            if (++misplaced <= 5)
                std::cerr << "  " << what << ": candidate " << k << " is " << ps[k] << ", unstructured " << pu[k] << "\n";
            continue;
        }
        CHECK(s.unit(s_idx[k]) == u.unit(u_idx[k]));
        CHECK(s.complexity(s_idx[k]) == u.complexity(u_idx[k]));
        CHECK(s.rung(s_idx[k]) == u.rung(u_idx[k]));
        CHECK(u.product_index(u_idx[k]) == u_idx[k]);
    }
    CHECK(misplaced == 0);
    // Values: the whole block at once, then in random pieces, equal bit for bit
    // to the unstructured candidates' (and the stored part too).
    std::vector<double> whole(static_cast<std::size_t>(s.size()) * n), piece(whole.size()), one(n);
    s.evaluate_range(0, s.size(), whole.data());
    std::mt19937 rng(11);
    for (std::uint64_t lo = 0; lo < s.size();) {
        const std::uint64_t hi = std::min<std::uint64_t>(s.size(), lo + 1 + rng() % 70);
        s.evaluate_range(lo, hi, piece.data() + lo * n);
        lo = hi;
    }
    int differ = 0;
    for (std::uint64_t idx = 0; idx < s.size(); ++idx)
        if (!same_bits(whole.data() + idx * n, piece.data() + idx * n, n) && ++differ <= 3)
            std::cerr << "  " << what << ": candidate " << idx << " (" << s.formula(idx).to_string(s.primaries().names)
                      << ") differs between one pass and pieces\n";
    CHECK(differ == 0);
    differ = 0;
    for (std::size_t k = 0; k < s_idx.size(); ++k) {
        u.evaluate_range(u_idx[k], u_idx[k] + 1, one.data());
        if (!same_bits(whole.data() + s_idx[k] * n, one.data(), n) && ++differ <= 3)
            std::cerr << "  " << what << ": candidate " << s_idx[k] << " (" << ps[k] << ") differs from the walk's\n";
    }
    CHECK(differ == 0);
    CHECK_THROWS(s.formula(s.size()));
    CHECK_THROWS(s.product_index(s.size()));
    CHECK(!s.generated(s.size()) || s.size() == 0);
}

void test_structured_enumeration() {
    const Dims ev = dims(6, 0), ang = dims(0, 6), none{};
    const std::vector<Op> arith{Op::Add, Op::Sub, Op::Mul, Op::Div, Op::AbsDiff};
    const std::vector<Op> mixed{Op::Add, Op::Mul, Op::Div, Op::AbsDiff, Op::Exp, Op::Square, Op::Sqrt, Op::Inv};
    const std::vector<Op> prl{Op::Add, Op::AbsDiff, Op::Exp, Op::Square, Op::Div};
    const std::vector<Op> sums{Op::Add, Op::Sub, Op::AbsDiff, Op::Square, Op::Log};
    const std::vector<StructuredCase> cases{
        {"5 primaries, + - * / |-|, rung 2", {"a", "b", "c", "d", "e"}, {ev, ev, ang, ang, none}, {arith, arith}, 0, false, 1},
        {"5 primaries, prl ops, rung 3, max_complexity 4", {"a", "b", "c", "d", "e"}, {ev, ev, ang, ang, ev},
         {prl, prl, prl}, 4, false, 3},
        {"6 primaries, mixed ops, rung 3, max_complexity 3, strict", {"a", "b", "c", "d", "e", "f"},
         {ev, ang, ang, none, none, ev}, {mixed, mixed, mixed}, 3, true, 7},
        {"4 primaries, mixed ops, rung 3, no limit", {"a", "b", "c", "d"}, {ev, ang, none, ev}, {mixed, mixed, arith},
         0, false, 29},
        {"5 primaries, + - |-| ^2 log only, rung 3, max_complexity 5", {"a", "b", "c", "d", "e"},
         {ev, ev, ang, ang, ang}, {sums, sums, sums}, 5, false, 2},
        {"5 primaries, per-rung ops, rung 3, max_complexity 4, strict", {"a", "b", "c", "d", "e"},
         {ev, none, ang, ang, none}, {{Op::Div, Op::Exp}, {Op::Mul, Op::Add, Op::Log}, {Op::Div, Op::Sub, Op::Mul}},
         4, true, 2},
    };
    for (const auto& tc : cases) {
        Primaries prim = make_primaries(7, 17, tc.names);
        SissoSpace s = make_space(prim, tc.units, tc.ops, tc.max_complexity, tc.strict);
        std::vector<Unit> us;
        for (const Dims& d : tc.units) us.push_back(Unit::from_sixths(d));
        SissoOptions uo;
        uo.ops_per_rung = tc.ops;
        uo.max_complexity = tc.max_complexity;
        uo.strict_units = tc.strict;
        uo.structured = false;
        SissoSpace u(prim, us, uo);
        for (int rung = 1;; ++rung) {
            const std::string what = std::string(tc.name) + ", rung " + std::to_string(rung);
            std::vector<std::uint64_t> s_idx, u_idx;
            compare_structured_rung(s, u, what.c_str(), s_idx, u_idx);
            if (rung == s.max_rung() || s_idx.size() != u_idx.size()) break;
            std::vector<std::uint64_t> ks, ku;
            for (std::size_t k = 0; k < s_idx.size(); k += tc.keep_every) ks.push_back(s_idx[k]), ku.push_back(u_idx[k]);
            s.advance(ks);
            u.advance(ku);
        }
    }
}

// Screening a structured rung through a ScreenCache: bit for bit the result of
// screening without one, for several targets, on 1 and 3 threads; past the
// budget it streams (same result); a cancelled screening leaves it empty.
bool same_screen(const ScreenResult& a, const ScreenResult& b) {
    bool same = a.n_candidates == b.n_candidates && a.n_screened == b.n_screened && a.n_nonfinite == b.n_nonfinite &&
                a.n_out_of_range == b.n_out_of_range && a.n_low_variance == b.n_low_variance &&
                a.n_value_duplicates == b.n_value_duplicates && a.n_kept == b.n_kept && a.cancelled == b.cancelled &&
                a.top.size() == b.top.size();
    for (std::size_t k = 0; same && k < a.top.size(); ++k)
        same = a.top[k].index == b.top[k].index && std::memcmp(&a.top[k].score, &b.top[k].score, sizeof(double)) == 0;
    return same;
}

struct StopAfter final : Progress {
    int left;
    explicit StopAfter(int calls) : left(calls) {}
    bool update(const char*, std::uint64_t, std::uint64_t) override { return --left > 0; }
};

void test_screen_cache() {
    const std::vector<std::string> names{"a", "b", "c", "d", "e"};
    const std::vector<Dims> units{dims(6, 0), dims(6, 0), dims(0, 6), dims(0, 6), Dims{}};
    const std::vector<Op> ops{Op::Add, Op::Mul, Op::Div, Op::AbsDiff, Op::Exp, Op::Square, Op::Sqrt};
    const Primaries prim = make_primaries(23, 29, names);
    std::vector<std::vector<double>> targets;
    std::mt19937 rng(3);
    std::normal_distribution<double> g(0.0, 1.0);
    for (int t = 0; t < 4; ++t) {
        std::vector<double> y(prim.n_samples);
        for (std::size_t s = 0; s < y.size(); ++s) y[s] = prim.values[s] * (t + 1) + g(rng);
        targets.push_back(y);
    }
    std::vector<ScreenResult> by_threads[2];
    for (int pass = 0; pass < 2; ++pass) {
        omp_set_num_threads(pass == 0 ? 1 : 3);
        SissoSpace space = make_space(prim, units, {ops, ops}, 0, false);
        std::vector<std::uint64_t> all;
        for (std::uint64_t i = space.n_stored(); i < space.size(); ++i) all.push_back(i);
        space.advance(all);
        ScreenOptions opt;
        opt.keep = 200;
        opt.block = 1000;  // several blocks
        opt.variance_filter = 0.0;
        opt.max_abs = 1e5;
        opt.min_abs = 1e-3;
        ScreenCache cache(64u << 20), tiny(1u << 16);
        CHECK(!cache.ready());
        for (std::size_t t = 0; t < targets.size(); ++t) {
            const ScreenResult plain = screen(space, targets[t], opt);
            const ScreenResult cached = screen(space, targets[t], opt, nullptr, &cache);
            CHECK(same_screen(plain, cached));
            CHECK(cache.ready() && cache.size() > 0 && cache.size() <= plain.n_kept);
            CHECK(same_screen(plain, screen(space, targets[t], opt, nullptr, &tiny)));
            CHECK(tiny.over_budget() && !tiny.ready() && tiny.size() == 0);
            by_threads[pass].push_back(cached);
        }
        // Several targets at once (SIS on the residuals of several models).
        CHECK(same_screen(screen(space, {targets[0], targets[2]}, opt), screen(space, {targets[0], targets[2]}, opt, nullptr, &cache)));
        // Other filters: refilled, not misused.
        ScreenOptions other = opt;
        other.variance_filter = 0.3;
        CHECK(same_screen(screen(space, targets[1], other), screen(space, targets[1], other, nullptr, &cache)));
        CHECK(cache.ready() && cache.matches(space, other) && !cache.matches(space, opt));
        // A cancelled screening does not fill it; a cancelled one from it says so.
        ScreenCache fresh(64u << 20);
        StopAfter stop(2);
        const ScreenResult part = screen(space, targets[0], opt, &stop, &fresh);
        CHECK(part.cancelled && !fresh.ready() && fresh.size() == 0);
        screen(space, targets[0], opt, nullptr, &fresh);
        StopAfter stop_again(1);
        ScreenOptions small_blocks = opt;
        small_blocks.block = 10;
        CHECK(fresh.ready() && fresh.size() > 10 && screen(space, targets[1], small_blocks, &stop_again, &fresh).cancelled);
    }
    omp_set_num_threads(omp_get_num_procs());
    CHECK(by_threads[0].size() == by_threads[1].size());
    for (std::size_t t = 0; t < by_threads[0].size(); ++t) CHECK(same_screen(by_threads[0][t], by_threads[1][t]));
}

// Screening in blocks (the scale-out's unit): each block with the value hashes
// of the earlier blocks as seen gives, counted and merged by score then index,
// bit for bit the screening of the whole space; without them a block keeps
// its copies of earlier candidates, and report_values names them.
void test_screen_blocks() {
    const std::vector<std::string> names{"a", "b", "c", "d", "e"};
    const std::vector<Dims> units{dims(6, 0), dims(6, 0), dims(0, 6), dims(0, 6), Dims{}};
    const std::vector<Op> ops{Op::Add, Op::Mul, Op::Div, Op::AbsDiff, Op::Exp, Op::Square, Op::Sqrt};
    const Primaries prim = make_primaries(23, 29, names);
    SissoSpace space = make_space(prim, units, {ops, ops}, 0, false);
    std::vector<std::uint64_t> all;
    for (std::uint64_t i = space.n_stored(); i < space.size(); ++i) all.push_back(i);
    space.advance(all);
    std::vector<double> y(prim.n_samples);
    for (std::size_t s = 0; s < y.size(); ++s) y[s] = prim.values[s] * prim.values[prim.n_samples + s] + 0.1 * s;
    ScreenOptions opt;
    opt.keep = 50;
    opt.block = 300;
    opt.variance_filter = 0.0;
    const ScreenResult whole = screen(space, y, opt);
    const std::uint64_t size = space.size();
    for (std::uint64_t n_blocks : {1u, 4u, 7u}) {
        std::vector<std::uint64_t> seen;
        ScreenResult merged;
        std::vector<ScoredCandidate> tops;
        std::uint64_t copies = 0;
        for (std::uint64_t k = 0; k < n_blocks; ++k) {
            ScreenOptions part_opt = opt;
            part_opt.begin = size * k / n_blocks;
            part_opt.end = size * (k + 1) / n_blocks;
            part_opt.report_values = true;
            const ScreenResult alone = screen(space, y, part_opt);  // the block on its own
            part_opt.earlier_values = &seen;
            const ScreenResult part = screen(space, y, part_opt);
            CHECK(part.kept_index.size() == part.n_kept && part.kept_hash.size() == part.n_kept);
            CHECK(part.n_screened == part_opt.end - part_opt.begin);
            CHECK(alone.n_kept >= part.n_kept && alone.n_kept - part.n_kept == part.n_value_duplicates - alone.n_value_duplicates);
            copies += alone.n_kept - part.n_kept;
            for (auto h : part.kept_hash) seen.push_back(h);
            merged.n_candidates += part.n_candidates, merged.n_screened += part.n_screened;
            merged.n_nonfinite += part.n_nonfinite, merged.n_out_of_range += part.n_out_of_range;
            merged.n_low_variance += part.n_low_variance, merged.n_value_duplicates += part.n_value_duplicates;
            merged.n_kept += part.n_kept;
            tops.insert(tops.end(), part.top.begin(), part.top.end());
        }
        std::sort(tops.begin(), tops.end(), [](const ScoredCandidate& a, const ScoredCandidate& b) { return better(a, b); });
        tops.resize(std::min<std::size_t>(tops.size(), opt.keep));
        merged.top = tops;
        CHECK(same_screen(whole, merged));
        CHECK(n_blocks == 1 ? copies == 0 : copies > 0);  // the blocks do repeat each other
    }
    ScreenOptions past = opt;
    past.begin = 10, past.end = 5;
    CHECK_THROWS(screen(space, y, past));
}

}  // namespace

int main() {
    test_units();
    test_rungs_1_and_2();
    test_complexity_limit();
    test_strict_units();
    test_exp_log_and_more();
    test_advance_subset();
    test_rung_0();
    test_bad_arguments();
    test_structured_enumeration();
    test_screen_cache();
    test_screen_blocks();
    return fs_test::report("test_sisso_space");
}
