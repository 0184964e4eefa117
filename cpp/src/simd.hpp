// Internal: portable 8-wide double vectors (GCC/Clang vector extensions;
// intrinsics only where a reduction has no portable spelling).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

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

// Whether any lane of a comparison mask is set (one test instruction where the
// CPU has one: the lane-by-lane OR costs more than the arithmetic it guards),
// and the sum of a count vector.
inline bool any(v8l m) {
#if defined(__AVX512F__)
    const __m512i v = (__m512i)m;
    return _mm512_test_epi64_mask(v, v) != 0;
#elif defined(__AVX2__)
    __m256i h[2];
    std::memcpy(h, &m, sizeof h);
    const __m256i v = _mm256_or_si256(h[0], h[1]);
    return !_mm256_testz_si256(v, v);
#else
    long long l[8];
    std::memcpy(l, &m, sizeof l);
    return ((l[0] | l[1]) | (l[2] | l[3])) | ((l[4] | l[5]) | (l[6] | l[7]));
#endif
}

// The lanes of a comparison mask as the low 8 bits of an integer (lane l -> bit l).
inline unsigned lane_bits(v8l m) {
#if defined(__AVX512F__)
    const __m512i v = (__m512i)m;
    return static_cast<unsigned>(_mm512_test_epi64_mask(v, v));
#elif defined(__AVX2__)
    __m256d h[2];
    std::memcpy(h, &m, sizeof h);
    return static_cast<unsigned>(_mm256_movemask_pd(h[0]) | (_mm256_movemask_pd(h[1]) << 4));
#else
    long long l[8];
    std::memcpy(l, &m, sizeof l);
    unsigned bits = 0;
    for (int u = 0; u < 8; ++u) bits |= (l[u] != 0 ? 1u : 0u) << u;
    return bits;
#endif
}

inline double lane_total(v8d v) {
    double l[8];
    std::memcpy(l, &v, sizeof l);
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

inline std::uint64_t lane_total(v8l v) {
    long long l[8];
    std::memcpy(l, &v, sizeof l);
    return static_cast<std::uint64_t>(((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])));
}

}  // namespace formulasearch::detail
