// A candidate source over a given matrix (m candidates x n samples, row-major), for the core's unit tests.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "formulasearch/candidate_source.hpp"

namespace fs_test {

class MatrixSource final : public formulasearch::CandidateSource {
public:
    MatrixSource(std::vector<double> v, std::size_t m, std::size_t n) : v_(std::move(v)), m_(m), n_(n) {}
    std::uint64_t size() const override { return m_; }
    std::size_t n_samples() const override { return n_; }
    formulasearch::Formula formula(std::uint64_t) const override { return formulasearch::Formula(); }
    void evaluate_range(std::uint64_t b, std::uint64_t e, double* out) const override {
        std::copy(v_.begin() + static_cast<std::ptrdiff_t>(b * n_), v_.begin() + static_cast<std::ptrdiff_t>(e * n_), out);
    }
    bool has_string_duplicates() const override { return false; }
    std::uint64_t string_key(std::uint64_t i) const override { return i; }

private:
    std::vector<double> v_;
    std::size_t m_, n_;
};

}  // namespace fs_test
