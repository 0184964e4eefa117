// Internal: portable 8-wide double vectors (GCC/Clang vector extensions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace formulasearch::detail {

// Eight doubles in one value: GCC/Clang vector extensions map this to one
// AVX-512 register, or to two AVX2 / four SSE2 ones, without intrinsics.
typedef double v8d __attribute__((vector_size(64)));
typedef long long v8l __attribute__((vector_size(64)));

inline v8d load8(const double* p) {
    v8d v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline void store8(double* p, v8d v) { std::memcpy(p, &v, sizeof v); }

inline v8d splat(double x) { return v8d{x, x, x, x, x, x, x, x}; }

// Whether any lane of a comparison mask is set, and the sum of a count vector.
inline bool any(v8l m) {
    long long l[8];
    std::memcpy(l, &m, sizeof l);
    return ((l[0] | l[1]) | (l[2] | l[3])) | ((l[4] | l[5]) | (l[6] | l[7]));
}

inline std::uint64_t lane_total(v8l v) {
    long long l[8];
    std::memcpy(l, &v, sizeof l);
    return static_cast<std::uint64_t>(((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])));
}

}  // namespace formulasearch::detail
