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
// Structured enumeration (the default). The stored features are bucketed by
// (unit, complexity), and for every class of newest-rung feature the binary
// operators it may take with each bucket are worked out once; the lazy block's
// index space then holds the generated candidates ONLY, in the order of the
// unstructured walk (unary: newest feature, operator; binary: newest feature
// i, stored feature j, operator), with the impossible pairs skipped a run of
// columns at a time. Random access is a binary search over the rows (i) and
// over the runs of columns of equal operator mask; the few candidates that the
// bucket rules allow but a redundancy rule refuses (A*B/B, B/(A*B), (A/B)*B,
// all involving an operand of i) are exceptions listed per row. The
// unstructured walk (structured = false) enumerates the whole product, index
// by index, and reports the rejected ones as not generated: same candidates,
// same order; kept for tests and benchmarks.
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
    // true: the lazy block's indices are its generated candidates only (see above);
    // false: every index of the product (newest x stored x operator), most not generated.
    bool structured = true;
};

class SissoSpace final : public CandidateSource {
public:
    // Stage 0: the primaries are stored; the lazy block is rung 1.
    SissoSpace(Primaries primaries, std::vector<Unit> units, SissoOptions options);

    std::uint64_t size() const override { return n_stored() + n_lazy(); }
    std::size_t n_samples() const override { return n_; }
    Formula formula(std::uint64_t index) const override;
    void evaluate_range(std::uint64_t begin, std::uint64_t end, double* out) const override;
    bool has_string_duplicates() const override { return false; }
    std::uint64_t string_key(std::uint64_t index) const override { return index; }
    bool generated(std::uint64_t index) const override;

    // The lazy block: candidate indices [n_stored(), size()).
    std::uint64_t n_lazy() const { return structured() ? n_allowed_unary_ + n_allowed_binary_ : product_size(); }
    // Size of the unstructured product of the lazy rung (newest x operators, newest x stored x operators).
    std::uint64_t product_size() const { return n_unary_ + n_binary_; }
    // Candidates the enumeration visits: the whole product when unstructured; when
    // structured, every unary one and the binary ones that pass the bucket rules
    // (units, complexity, orientation), before the per-pair redundancy rules.
    std::uint64_t n_visited() const { return structured() ? n_unary_ + n_coarse_binary_ : product_size(); }
    // Index of a lazy candidate in the unstructured product (n_stored() + offset):
    // the same for both enumerations; increasing with the index when structured.
    std::uint64_t product_index(std::uint64_t index) const;
    bool structured() const { return options_.structured; }

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
        std::size_t slot = 0;   // operator slot: in unary_ or binary_
    };
    struct BinaryOp {
        Op op;
        bool reversed;
    };
    using Mask = std::uint32_t;  // a set of binary operator slots
    // Columns [begin, next run's begin) of a plan share one mask of allowed
    // slots; cum[m]: the plan's candidates before this run under mode m.
    struct Run {
        std::uint64_t begin;
        Mask mask;
        std::uint64_t cum[3];
    };
    // Runs over all stored columns (ending with a sentinel at n_stored()), for
    // the newest features of one class of (unit, complexity) masks.
    struct Plan {
        std::vector<Run> runs;
    };
    // Sequential walk over the binary candidates of the structured block.
    struct Cursor {
        std::size_t r = 0;        // row: newest feature prev_begin_ + r
        int seg = 0;              // 0: columns [0, prev_begin_), 1: [prev_begin_, i), 2: (i, n_stored())
        std::size_t q = 0;        // run of the row's plan holding column j
        std::uint64_t j = 0;      // column
        Mask left = 0;            // slots of column j not yet visited; current = lowest
        std::uint64_t t = 0;      // coarse rank of the current candidate in its row
        std::size_t e = 0;        // next exception of the row (index into exc_rank_)
    };
    Lazy decode(std::uint64_t index) const;
    bool allowed(const Lazy& c, Unit* unit_out, int* complexity_out) const;
    Feature make(const Lazy& c) const;
    void open_rung();
    void build_structure();
    // Structured internals (see the .cpp).
    std::uint64_t count_before(const Plan& p, int mode, std::uint64_t column) const;
    std::uint64_t seg_begin(std::size_t i, int seg) const;
    std::uint64_t seg_end(std::size_t i, int seg) const;
    std::uint64_t coarse_rank(std::size_t r, std::uint64_t j, std::size_t slot) const;
    Cursor locate(std::size_t r, std::uint64_t coarse) const;
    void settle(Cursor& c) const;  // move to the first allowed candidate at or after c
    Lazy lazy_of(const Cursor& c) const;
    Cursor cursor_at(std::uint64_t binary_rank) const;

    std::uint64_t n_allowed_unary_ = 0, n_allowed_binary_ = 0, n_coarse_binary_ = 0;
    std::vector<std::uint64_t> unary_allowed_;   // product offsets of the generated unary candidates
    std::vector<Plan> plans_;
    std::vector<std::uint32_t> row_plan_;        // plan of each newest feature
    std::vector<std::uint64_t> row_offset_;      // generated binary candidates before each row (+ total)
    std::vector<std::uint64_t> exc_offset_;      // CSR: coarse ranks of each row's exceptions
    std::vector<std::uint64_t> exc_rank_;
    Mask mode_mask_[3] = {0, 0, 0};

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
