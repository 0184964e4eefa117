// A SISSO-style feature space grown from operators, rung by rung
// (Ouyang et al., PRM 2, 083802 (2018); Purcell et al., JOSS 7, 3960 (2022)).
//
// The space is built in stages. At each stage the features kept so far are
// stored (values included) and the next rung is a lazy block of candidates:
//   unary:  u(f)     for f of the newest stored rung, u a unary operator
//   binary: f op g   for f of the newest rung, g any stored feature, and
//           g / f    for g of an older rung (both quotients exist)
// A candidate of the block is "generated" only if it obeys the unit rules,
// the complexity limit and the redundancy rules (below); screening evaluates
// the block in streams, and advance() stores the survivors as the next rung.
// The last rung is never stored: it is screened on the fly.
//
// Redundancies never generated: x op x; the second orientation of a + b,
// a * b, |a - b| and a - b (b - a is the same feature up to sign); exp(log x),
// log(exp x); sqrt(x^2), (sqrt x)^2, cbrt(x^3), (cbrt x)^3, (x^-1)^-1, |x^2|,
// ||x||; A*B/B, B/(A*B), (A/B)*B.
#pragma once

#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/primaries.hpp"
#include "formulasearch/units.hpp"

namespace formulasearch {

struct SissoOptions {
    std::vector<std::vector<Op>> ops_per_rung;  // operators used to build rung r at [r - 1]
    int max_complexity = 0;                     // operators per feature at most (0: no limit)
    bool strict_units = false;                  // exp/log/sin/cos need dimensionless arguments
};

class SissoSpace final : public CandidateSource {
public:
    // Stage 0: the primaries are stored; the lazy block is rung 1.
    SissoSpace(Primaries primaries, std::vector<Unit> units, SissoOptions options);

    std::uint64_t size() const override { return n_stored() + n_unary_ + n_binary_; }
    std::size_t n_samples() const override { return n_; }
    Formula formula(std::uint64_t index) const override;
    void evaluate_range(std::uint64_t begin, std::uint64_t end, double* out) const override;
    bool has_string_duplicates() const override { return false; }
    std::uint64_t string_key(std::uint64_t index) const override { return index; }
    bool generated(std::uint64_t index) const override;

    Unit unit(std::uint64_t index) const;
    int complexity(std::uint64_t index) const;
    // Rung of a candidate (0 for primaries).
    int rung(std::uint64_t index) const;

    // Store the given candidates (indices of this stage, each generated; stored
    // features must all be among them) and open the next rung.
    void advance(std::vector<std::uint64_t> kept);
    int lazy_rung() const { return lazy_rung_; }
    int max_rung() const { return static_cast<int>(options_.ops_per_rung.size()); }
    std::size_t n_stored() const { return features_.size(); }
    std::size_t stored_bytes() const { return values_.size() * sizeof(double); }
    const Primaries& primaries() const { return primaries_; }

private:
    struct Feature {
        Formula formula;
        Unit unit;
        int complexity = 0;
        int rung = 0;
        Op op = Op::Var;                    // last operator
        std::int64_t left = -1, right = -1; // stored operands, if any
    };
    struct Lazy {
        bool unary;
        std::size_t i, j;       // stored feature(s); i of the newest rung
        Op op;
        bool reversed = false;  // j op i (a quotient by a newer feature)
    };
    struct BinaryOp {
        Op op;
        bool reversed;
    };
    Lazy decode(std::uint64_t index) const;
    bool allowed(const Lazy& c, Unit* unit_out, int* complexity_out) const;
    Feature make(const Lazy& c) const;
    void open_rung();

    Primaries primaries_;
    SissoOptions options_;
    std::size_t n_;
    std::vector<Feature> features_;  // stored, in generation order
    std::vector<double> values_;     // stored values, n per feature
    std::size_t prev_begin_ = 0;     // newest stored rung: [prev_begin_, n_stored())
    std::vector<Op> unary_;          // operators of the lazy rung
    std::vector<BinaryOp> binary_;
    std::uint64_t n_unary_ = 0, n_binary_ = 0;
    int lazy_rung_ = 1;
};

}  // namespace formulasearch
