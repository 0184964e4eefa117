// Standardised candidates and their centred cross-products (Gram matrix).
//
// After centring and scaling every candidate to unit norm (z_i) and the target
// likewise (t), G = Z Z^T holds the Pearson correlations between candidates and
// b = Z t the correlations with the target; every least-squares fit of a
// combination follows from G and b alone (see kernels.md). G is never stored
// whole for a large set: it is produced block by block (8 x 16 entries) by a
// register-blocked kernel and consumed at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/progress.hpp"

namespace formulasearch {

class StandardizedSet {
public:
    // `values`: m candidates x n samples, row-major. Throws if a candidate is
    // constant or non-finite.
    StandardizedSet(const double* values, std::size_t m, std::size_t n, const double* target);
    // The same, but a candidate that is constant or not finite is kept as a
    // zero vector (correlation 0 with everything) and flagged in `unusable`
    // (resized to m) instead of throwing: for subsets of the samples (a task of
    // multitask.hpp) over which a candidate may be constant.
    StandardizedSet(const double* values, std::size_t m, std::size_t n, const double* target,
                    std::vector<unsigned char>& unusable);
    // The given candidates of a source, evaluated a few at a time straight into
    // the standardised panels: no raw value matrix is ever held.
    // Reports progress between blocks and throws Cancelled when asked to stop.
    StandardizedSet(const CandidateSource& source, const std::vector<std::uint64_t>& indices, const double* target,
                    Progress* progress = nullptr);
    // The same, replacing this set's candidates by those of a source over the
    // same samples and reusing the storage (no fresh pages to fault in and clear).
    void assign(const CandidateSource& source, const std::vector<std::uint64_t>& indices, const double* target,
                Progress* progress = nullptr);

    std::size_t size() const { return m_; }
    std::size_t n_samples() const { return n_; }
    // Correlation of each candidate with the target.
    const std::vector<double>& target_correlations() const { return b_; }
    // Correlations padded with zeros to padded_size().
    const double* padded_correlations() const { return b_pad_.data(); }

    // Candidates are stored in panels of kPanelWidth, sample-major inside a
    // panel: z_i[k] at panel(i / 16)[k * 16 + i % 16]. Padding candidates are 0.
    static constexpr std::size_t kPanelWidth = 16;
    std::size_t padded_size() const { return m_pad_; }
    const double* panel(std::size_t p) const { return z_.data() + p * n_ * kPanelWidth; }

    // Tile of G: rows [i0, i0 + ti), columns [j0, j0 + tj), written row-major
    // with leading dimension ld; i0, ti multiples of 8, j0, tj of 16. Rows and
    // columns past size() come out as 0. Samples are summed in chunks of
    // sample_block (0: all at once), using `out` for the running sums; the
    // values are bitwise the same for any chunk size.
    void gram_tile(std::size_t i0, std::size_t ti, std::size_t j0, std::size_t tj, double* out, std::size_t ld,
                   std::size_t sample_block = 0) const;

    // Bytes held (the standardised panels and correlations, as allocated).
    std::size_t memory_bytes() const { return (z_.capacity() + b_pad_.capacity() + b_.capacity()) * sizeof(double); }

private:
    void standardize_target(const double* target, std::vector<double>& t) const;
    bool add(std::size_t i, const double* x, const std::vector<double>& t);
    std::size_t m_, n_, m_pad_;
    std::vector<double> z_;
    std::vector<double> b_, b_pad_;
};

// gram_tile across two sets over the same samples: rows from `rows`, columns
// from `cols` (the same entries, bit for bit, as one set holding both).
void cross_gram_tile(const StandardizedSet& rows, std::size_t i0, std::size_t ti, const StandardizedSet& cols,
                     std::size_t j0, std::size_t tj, double* out, std::size_t ld, std::size_t sample_block = 0);

}  // namespace formulasearch
