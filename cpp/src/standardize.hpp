// Internal: the one centring and scaling routine of the core, used by the
// screening filters and targets, the standardised sets of the searches and
// every classification score. Means and sums of squares are lane sums, so one
// vector's moments and standardised values are the same bits on every path.
#pragma once

#include <cmath>
#include <cstddef>

#include "lane_sum.hpp"

namespace formulasearch::detail {

// Mean and centred sum of squares of n values.
struct Moments {
    double mean = 0;
    double sxx = 0;
};

inline double mean_of(const double* x, std::size_t n) {
    return lane_sum(n, [&](std::size_t s) { return x[s]; }) / static_cast<double>(n);
}

inline double centred_squares(const double* x, std::size_t n, double mean) {
    return lane_sum(n, [&](std::size_t s) {
        const double d = x[s] - mean;
        return d * d;
    });
}

inline Moments moments_of(const double* x, std::size_t n) {
    Moments m;
    m.mean = mean_of(x, n);
    m.sxx = centred_squares(x, n, m.mean);
    return m;
}

// What the centred values are scaled to. UnitNorm: sum z^2 = 1, so that dot
// products of standardised vectors are correlations (the Gram searches).
// UnitStd: population standard deviation 1, so that distances, penalties and
// tolerances are in standard deviations (the classification scores).
enum class Scale { UnitNorm, UnitStd };

// The divisor of the centred values; not positive and finite for a constant
// or non-finite vector.
inline double scale_of(const Moments& m, std::size_t n, Scale scale) {
    return std::sqrt(scale == Scale::UnitNorm ? m.sxx : m.sxx / static_cast<double>(n));
}

// z[s * stride] = (x[s] - mean) / scale_of(m). Returns false, writing nothing,
// when x is constant or not finite.
inline bool standardize(const double* x, std::size_t n, const Moments& m, Scale scale, double* z,
                        std::size_t stride = 1) {
    const double d = scale_of(m, n, scale);
    if (!(d > 0) || !std::isfinite(d)) return false;
    if (scale == Scale::UnitNorm) {
        const double inv = 1.0 / d;  // the Gram kernels' panels: one multiply per value
        for (std::size_t s = 0; s < n; ++s) z[s * stride] = (x[s] - m.mean) * inv;
    } else {
        for (std::size_t s = 0; s < n; ++s) z[s * stride] = (x[s] - m.mean) / d;
    }
    return true;
}

// The same from the values alone; their moments go to `moments` when given.
inline bool standardize(const double* x, std::size_t n, Scale scale, double* z, std::size_t stride = 1,
                        Moments* moments = nullptr) {
    const Moments m = moments_of(x, n);
    if (moments) *moments = m;
    return standardize(x, n, m, scale, z, stride);
}

}  // namespace formulasearch::detail
