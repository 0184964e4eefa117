#include "formulasearch/gram.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "lane_sum.hpp"

namespace formulasearch {

namespace {

using detail::lane_sum;

// Eight doubles in one value: GCC/Clang vector extensions map this to one
// AVX-512 register, or to two AVX2 ones, without intrinsics.
typedef double v8d __attribute__((vector_size(64)));

inline v8d load8(const double* p) {
    v8d v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void store8(double* p, v8d v) { std::memcpy(p, &v, sizeof v); }

std::size_t round_up(std::size_t x, std::size_t m) { return (x + m - 1) / m * m; }

}  // namespace

StandardizedSet::StandardizedSet(const double* values, std::size_t m, std::size_t n, const double* target)
    : m_(m), n_(n), m_pad_(round_up(m, kColBlock)), zt_(n * m_pad_, 0.0), b_(m, 0.0) {
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
    for (std::size_t i = 0; i < m; ++i) {
        if (!standardize(values + i * n, zt_.data() + i, m_pad_))
            throw std::invalid_argument("candidate " + std::to_string(i) + " is constant or not finite");
        b_[i] = lane_sum(n, [&](std::size_t s) { return zt_[s * m_pad_ + i] * t[s]; });
    }
}

void StandardizedSet::gram_tile(std::size_t i0, std::size_t ti, std::size_t j0, std::size_t tj, double* out,
                                std::size_t ld) const {
    if (ti % kRowBlock || tj % kColBlock || i0 % kRowBlock || j0 % kColBlock)
        throw std::invalid_argument("Gram tile not aligned to the kernel's blocks");
    const std::size_t i_end = std::max(i0, std::min(i0 + ti, m_pad_));
    const std::size_t j_end = std::max(j0, std::min(j0 + tj, m_pad_));
    // Register block: 4 rows x 16 columns of G, summed over samples k in order,
    // one fused multiply-add per entry per k.
    for (std::size_t i = i0; i < i_end; i += kRowBlock) {
        for (std::size_t j = j0; j < j_end; j += kColBlock) {
            v8d c[kRowBlock][2] = {};
            for (std::size_t k = 0; k < n_; ++k) {
                const double* row = zt_.data() + k * m_pad_;
                const v8d b0 = load8(row + j), b1 = load8(row + j + 8);
                for (std::size_t r = 0; r < kRowBlock; ++r) {
                    const double a = row[i + r];
                    c[r][0] += a * b0;
                    c[r][1] += a * b1;
                }
            }
            for (std::size_t r = 0; r < kRowBlock; ++r) {
                double* o = out + (i - i0 + r) * ld + (j - j0);
                store8(o, c[r][0]);
                store8(o + 8, c[r][1]);
            }
        }
        for (std::size_t r = 0; r < kRowBlock; ++r)  // columns past the padding
            std::fill(out + (i - i0 + r) * ld + (j_end - j0), out + (i - i0 + r) * ld + tj, 0.0);
    }
    for (std::size_t i = i_end; i < i0 + ti; ++i) std::fill(out + (i - i0) * ld, out + (i - i0) * ld + tj, 0.0);
}

}  // namespace formulasearch
