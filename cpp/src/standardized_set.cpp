#include "formulasearch/standardized_set.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "gram_kernel.hpp"
#include "lane_sum.hpp"
#include "openmp_shim.hpp"
#include "standardize.hpp"

namespace formulasearch {

namespace {

using detail::lane_sum;
using detail::Scale;
using detail::standardize;

std::size_t round_up(std::size_t x, std::size_t m) { return (x + m - 1) / m * m; }

}  // namespace

void StandardizedSet::standardize_target(const double* target, std::vector<double>& t) const {
    static_assert(kPanelWidth == detail::kPanel, "panel width shared with the kernel");
    if (n_ < 2) throw std::invalid_argument("need at least 2 samples");
    t.resize(n_);
    if (!standardize(target, n_, Scale::UnitNorm, t.data())) throw std::invalid_argument("the target is constant or not finite");
}

bool StandardizedSet::add(std::size_t i, const double* x, const std::vector<double>& t) {
    double* zi = z_.data() + (i / kPanelWidth) * n_ * kPanelWidth + i % kPanelWidth;
    if (!standardize(x, n_, Scale::UnitNorm, zi, kPanelWidth)) return false;
    b_[i] = b_pad_[i] = lane_sum(n_, [&](std::size_t s) { return zi[s * kPanelWidth] * t[s]; });
    return true;
}

StandardizedSet::StandardizedSet(const double* values, std::size_t m, std::size_t n, const double* target)
    : m_(m), n_(n), m_pad_(round_up(m, kPanelWidth)), z_(m_pad_ * n, 0.0), b_(m, 0.0), b_pad_(m_pad_, 0.0) {
    std::vector<double> t;
    standardize_target(target, t);
    long long bad = -1;
    const auto mm = static_cast<long long>(m);
#pragma omp parallel for schedule(static) reduction(max : bad) if (mm * static_cast<long long>(n) > detail::kParallelMinWork)
    for (long long i = 0; i < mm; ++i)
        if (!add(static_cast<std::size_t>(i), values + i * n, t)) bad = std::max(bad, i);
    if (bad >= 0) throw std::invalid_argument("candidate " + std::to_string(bad) + " is constant or not finite");
}

StandardizedSet::StandardizedSet(const double* values, std::size_t m, std::size_t n, const double* target,
                                 std::vector<unsigned char>& unusable)
    : m_(m), n_(n), m_pad_(round_up(m, kPanelWidth)), z_(m_pad_ * n, 0.0), b_(m, 0.0), b_pad_(m_pad_, 0.0) {
    std::vector<double> t;
    standardize_target(target, t);
    unusable.assign(m, 0);
    const auto mm = static_cast<long long>(m);
    // add() writes nothing for a candidate it rejects: its panel column and correlation stay 0.
#pragma omp parallel for schedule(static) if (mm * static_cast<long long>(n) > detail::kParallelMinWork)
    for (long long i = 0; i < mm; ++i)
        if (!add(static_cast<std::size_t>(i), values + i * n, t)) unusable[static_cast<std::size_t>(i)] = 1;
}

StandardizedSet::StandardizedSet(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                 const double* target, Progress* progress)
    : m_(0), n_(source.n_samples()), m_pad_(0) {
    assign(source, indices, target, progress);
}

void StandardizedSet::assign(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                             const double* target, Progress* progress) {
    if (source.n_samples() != n_) throw std::invalid_argument("a set's candidates are replaced over other samples");
    std::vector<double> t;
    standardize_target(target, t);
    for (auto i : indices)
        if (i >= source.size()) throw std::out_of_range("candidate index out of range");
    // Every real candidate is written below; only the padding is cleared.
    m_ = indices.size(), m_pad_ = round_up(m_, kPanelWidth);
    if (z_.capacity() < m_pad_ * n_) std::vector<double>().swap(z_);  // grow without holding old and new at once
    z_.resize(m_pad_ * n_), b_.resize(m_), b_pad_.resize(m_pad_);
    for (std::size_t i = m_; i < m_pad_; ++i) {
        b_pad_[i] = 0.0;
        double* zi = z_.data() + (i / kPanelWidth) * n_ * kPanelWidth + i % kPanelWidth;
        for (std::size_t s = 0; s < n_; ++s) zi[s * kPanelWidth] = 0.0;
    }
    long long bad = -1;
    constexpr std::size_t kBlock = 65536;
    for (std::size_t lo = 0; lo < m_; lo += kBlock) {
        const auto hi = static_cast<long long>(std::min(m_, lo + kBlock));
#pragma omp parallel if ((hi - static_cast<long long>(lo)) * static_cast<long long>(n_) > detail::kParallelMinWork)
        {
            std::vector<double> x(n_);
#pragma omp for schedule(static) reduction(max : bad)
            for (long long i = static_cast<long long>(lo); i < hi; ++i) {
                source.evaluate_range(indices[i], indices[i] + 1, x.data());
                if (!add(static_cast<std::size_t>(i), x.data(), t)) bad = std::max(bad, i);
            }
        }
        if (!keep_going(progress, "standardizing", static_cast<std::uint64_t>(hi), m_)) throw Cancelled();
    }
    if (bad >= 0) throw std::invalid_argument("candidate " + std::to_string(indices[bad]) + " is constant or not finite");
}

void StandardizedSet::gram_tile(std::size_t i0, std::size_t ti, std::size_t j0, std::size_t tj, double* out,
                                std::size_t ld, std::size_t sample_block) const {
    cross_gram_tile(*this, i0, ti, *this, j0, tj, out, ld, sample_block);
}

void cross_gram_tile(const StandardizedSet& rows, std::size_t i0, std::size_t ti, const StandardizedSet& cols,
                     std::size_t j0, std::size_t tj, double* out, std::size_t ld, std::size_t sample_block) {
    using namespace detail;
    if (ti % kRows || tj % kPanel || i0 % kRows || j0 % kPanel)
        throw std::invalid_argument("Gram tile not aligned to the kernel's blocks");
    if (rows.n_samples() != cols.n_samples()) throw std::invalid_argument("Gram tile of sets over different samples");
    const std::size_t n = rows.n_samples();
    const std::size_t kc = sample_block ? std::min(sample_block, n) : n;
    // Chunk by chunk over the samples, so that a chunk of the tile's column
    // panels is reused from cache by all of its rows.
    for (std::size_t k0 = 0; k0 < n; k0 += kc) {
        const std::size_t kn = std::min(kc, n - k0);
        for (std::size_t i = i0; i < i0 + ti; i += kRows) {
            for (std::size_t j = j0; j < j0 + tj; j += kPanel) {
                double* o = out + (i - i0) * ld + (j - j0);
                if (i >= rows.padded_size() || j >= cols.padded_size()) {
                    for (std::size_t r = 0; r < kRows; ++r) std::fill(o + r * ld, o + r * ld + kPanel, 0.0);
                    continue;
                }
                Block8x16 blk{};
                if (k0 > 0)
                    for (std::size_t r = 0; r < kRows; ++r) blk.c[r][0] = load8(o + r * ld), blk.c[r][1] = load8(o + r * ld + 8);
                gram_accumulate(rows.panel(i / kPanel) + i % kPanel + k0 * kPanel, cols.panel(j / kPanel) + k0 * kPanel,
                                kn, blk);
                for (std::size_t r = 0; r < kRows; ++r) {
                    store8(o + r * ld, blk.c[r][0]);
                    store8(o + r * ld + 8, blk.c[r][1]);
                }
            }
        }
    }
}

}  // namespace formulasearch
