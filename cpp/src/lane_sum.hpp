// Internal: reproducible fast sums.
#pragma once

#include <cstddef>

namespace formulasearch::detail {

// Sum of term(0..n-1) with 8 independent accumulators. The compiler can put
// the lanes in one vector register without -ffast-math, and the result is
// bitwise the same on every call, thread and partition because the order of
// additions is fixed here, not by the optimiser.
template <class Term>
inline double lane_sum(std::size_t n, Term term) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (std::size_t l = 0; l < 8; ++l) acc[l] += term(i + l);
    for (std::size_t l = 0; i < n; ++i, ++l) acc[l] += term(i);
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

}  // namespace formulasearch::detail
