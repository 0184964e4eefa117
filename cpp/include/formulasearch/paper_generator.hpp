// The candidate grammar of Gajera et al. (arXiv 2202.07372), generations 1-4.
//
// Every candidate is left_part / right_part:
//   generation 1: numerator / denominator, all pairs
//   generation 2: numerator / denominator of a different class
//   generation 3: numerator_i / numerator_j, i < j (variant Classes: different classes)
//   generation 4: block_i / block_j, i < j
// The parts (a few thousand at most) are built and evaluated once; a candidate
// is evaluated on demand as one element-wise division, so the millions of
// candidates are never stored.
#pragma once

#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/primaries.hpp"

namespace formulasearch {

enum class PaperVariant {
    Paper,    // as the paper's results were produced (generation 3 without a class rule)
    Classes,  // generation 3: the two numerators must be of different classes
};

class PaperGenerator final : public CandidateSource {
public:
    PaperGenerator(Primaries primaries, int generation, PaperVariant variant = PaperVariant::Paper);

    std::uint64_t size() const override { return offsets_.back(); }
    std::size_t n_samples() const override { return primaries_.n_samples; }
    Formula formula(std::uint64_t index) const override;
    void evaluate_range(std::uint64_t begin, std::uint64_t end, double* out) const override;
    bool has_string_duplicates() const override { return has_duplicate_parts_; }
    std::uint64_t string_key(std::uint64_t index) const override;

    int generation() const { return generation_; }
    const Primaries& primaries() const { return primaries_; }
    std::size_t n_left_parts() const { return left_.size(); }
    std::size_t n_right_parts() const { return right().size(); }
    const Formula& left_part(std::size_t i) const { return left_[i].formula; }
    const Formula& right_part(std::size_t j) const { return right()[j].formula; }
    // (left part, right part) of a candidate.
    std::pair<std::uint32_t, std::uint32_t> parts_of(std::uint64_t index) const;

private:
    struct Part {
        Formula formula;
        int cls;
        std::uint32_t canonical;  // equal for parts with identical code
    };
    // The right parts allowed for one left part: [lo0, hi0) then [lo1, hi1).
    struct Ranges {
        std::uint32_t lo0, hi0, lo1, hi1;
        std::uint32_t count() const { return (hi0 - lo0) + (hi1 - lo1); }
        std::uint32_t at(std::uint32_t k) const { return k < hi0 - lo0 ? lo0 + k : lo1 + (k - (hi0 - lo0)); }
    };

    void build_numerators();
    void build_denominators();
    void build_blocks();
    void evaluate_parts(std::vector<Part>& parts, std::vector<double>& values) const;
    void assign_canonical(std::vector<Part>& parts);
    void build_ranges(PaperVariant variant);
    std::uint32_t locate_left(std::uint64_t index) const;

    Primaries primaries_;
    int generation_;
    // Generations 3 and 4 divide parts of one list by each other (shared_).
    const std::vector<Part>& right() const { return shared_ ? left_ : right_; }
    const std::vector<double>& right_values() const { return shared_ ? left_values_ : right_values_; }

    std::vector<Part> left_, right_;
    std::vector<double> left_values_, right_values_;
    bool shared_ = false;
    std::vector<Ranges> ranges_;
    std::vector<std::uint64_t> offsets_{0};  // candidates before left part i
    bool has_duplicate_parts_ = false;
};

}  // namespace formulasearch
