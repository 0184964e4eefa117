// Anything that enumerates candidate formulas by index: the paper's grammar now,
// SISSO-style operator spaces later. Screening and search only see this.
#pragma once

#include <cstddef>
#include <cstdint>

#include "formulasearch/formula.hpp"

namespace formulasearch {

class CandidateSource {
public:
    virtual ~CandidateSource() = default;
    virtual std::uint64_t size() const = 0;
    virtual std::size_t n_samples() const = 0;
    virtual Formula formula(std::uint64_t index) const = 0;
    // Values of candidates [begin, end) over all samples, row-major
    // ((end - begin) x n_samples). Must be safe to call from several threads.
    virtual void evaluate_range(std::uint64_t begin, std::uint64_t end, double* out) const = 0;
    // Key equal for two candidates iff their formula strings are equal. Sources
    // whose strings are unique by construction report has_string_duplicates() = false.
    virtual bool has_string_duplicates() const = 0;
    virtual std::uint64_t string_key(std::uint64_t index) const = 0;
    // False for an index of the enumeration that the grammar's rules exclude
    // (units, complexity, redundancy); such indices are not candidates at all.
    virtual bool generated(std::uint64_t /*index*/) const { return true; }
};

}  // namespace formulasearch
