// Standardised candidates and their centred cross-products (Gram matrix).
//
// After centring and scaling every candidate to unit norm (z_i) and the target
// likewise (t), G = Z Z^T holds the Pearson correlations between candidates and
// b = Z t the correlations with the target; every least-squares fit of a
// combination follows from G and b alone (see kernels.md).
#pragma once

#include <cstddef>
#include <vector>

namespace formulasearch {

class StandardizedSet {
public:
    // `values`: m candidates x n samples, row-major. Throws if a candidate is
    // constant or non-finite.
    StandardizedSet(const double* values, std::size_t m, std::size_t n, const double* target);

    std::size_t size() const { return m_; }
    std::size_t n_samples() const { return n_; }
    // Correlation of each candidate with the target.
    const std::vector<double>& target_correlations() const { return b_; }

    // Tile of G: rows [i0, i0 + ti), columns [j0, j0 + tj), written row-major
    // with leading dimension ld. ti must be a multiple of kRowBlock and tj of
    // kColBlock; rows and columns past size() come out as 0. Every entry is
    // summed in the same order whatever the tile, so results do not depend on
    // tiling or threads.
    void gram_tile(std::size_t i0, std::size_t ti, std::size_t j0, std::size_t tj, double* out, std::size_t ld) const;

    static constexpr std::size_t kRowBlock = 4;
    static constexpr std::size_t kColBlock = 16;
    // Columns padded so any tile aligned to kColBlock stays in bounds.
    std::size_t padded_size() const { return m_pad_; }

private:
    std::size_t m_, n_, m_pad_;
    std::vector<double> zt_;  // sample-major: z_i[k] at zt_[k * m_pad_ + i]
    std::vector<double> b_;
};

}  // namespace formulasearch
