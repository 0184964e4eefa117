#include "formulasearch/gram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "gram_kernel.hpp"
#include "lane_sum.hpp"

namespace formulasearch {

namespace {

using detail::lane_sum;

std::size_t round_up(std::size_t x, std::size_t m) { return (x + m - 1) / m * m; }

}  // namespace

StandardizedSet::StandardizedSet(const double* values, std::size_t m, std::size_t n, const double* target)
    : m_(m), n_(n), m_pad_(round_up(m, kPanelWidth)), z_(m_pad_ * n, 0.0), b_(m, 0.0), b_pad_(m_pad_, 0.0) {
    static_assert(kPanelWidth == detail::kPanel, "panel width shared with the kernel");
    if (n < 2) throw std::invalid_argument("need at least 2 samples");
    auto standardize = [n](const double* x, double* z, std::size_t stride) {
        const double mean = lane_sum(n, [&](std::size_t s) { return x[s]; }) / static_cast<double>(n);
        const double ss = lane_sum(n, [&](std::size_t s) { double d = x[s] - mean; return d * d; });
        if (!(ss > 0) || !std::isfinite(ss)) return false;
        const double inv = 1.0 / std::sqrt(ss);
        for (std::size_t s = 0; s < n; ++s) z[s * stride] = (x[s] - mean) * inv;
        return true;
    };
    std::vector<double> t(n);
    if (!standardize(target, t.data(), 1)) throw std::invalid_argument("the target is constant or not finite");
    bool ok = true;
    const auto mm = static_cast<long long>(m);
#pragma omp parallel for schedule(static) reduction(&& : ok)
    for (long long ii = 0; ii < mm; ++ii) {
        const auto i = static_cast<std::size_t>(ii);
        double* zi = z_.data() + (i / kPanelWidth) * n * kPanelWidth + i % kPanelWidth;
        if (!standardize(values + i * n, zi, kPanelWidth)) {
            ok = false;
            continue;
        }
        b_[i] = lane_sum(n, [&](std::size_t s) { return zi[s * kPanelWidth] * t[s]; });
    }
    if (!ok) {
        for (std::size_t i = 0; i < m; ++i)
            if (!standardize(values + i * n, t.data(), 1))  // t is no longer needed
                throw std::invalid_argument("candidate " + std::to_string(i) + " is constant or not finite");
    }
    std::copy(b_.begin(), b_.end(), b_pad_.begin());
}

void StandardizedSet::gram_tile(std::size_t i0, std::size_t ti, std::size_t j0, std::size_t tj, double* out,
                                std::size_t ld) const {
    using namespace detail;
    if (ti % kRows || tj % kPanel || i0 % kRows || j0 % kPanel)
        throw std::invalid_argument("Gram tile not aligned to the kernel's blocks");
    Block8x16 blk;
    for (std::size_t i = i0; i < i0 + ti; i += kRows) {
        for (std::size_t j = j0; j < j0 + tj; j += kPanel) {
            double* o = out + (i - i0) * ld + (j - j0);
            if (i >= m_pad_ || j >= m_pad_) {
                for (std::size_t r = 0; r < kRows; ++r) std::fill(o + r * ld, o + r * ld + kPanel, 0.0);
                continue;
            }
            gram_block(panel(i / kPanel) + i % kPanel, panel(j / kPanel), n_, blk);
            for (std::size_t r = 0; r < kRows; ++r) {
                store8(o + r * ld, blk.c[r][0]);
                store8(o + r * ld + 8, blk.c[r][1]);
            }
        }
    }
}

}  // namespace formulasearch
