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

// Lane-wise comparisons (true lanes all ones) and selection, written on pieces of
// the CPU's vector width: wherever vectors are narrower than 512 bits, GCC lowers a
// comparison or a ?: of whole 8-wide vectors one lane at a time (scalar compares
// and branches), which made the triple scoring 4x slower with AVX2 alone; on
// native-width pieces it emits one vector compare per piece.
#if defined(__AVX512F__)
constexpr std::size_t kPieceBytes = 64;
#elif defined(__AVX__)
constexpr std::size_t kPieceBytes = 32;
#else
constexpr std::size_t kPieceBytes = 16;
#endif
constexpr std::size_t kPieces = 64 / kPieceBytes;
typedef double piece_d __attribute__((vector_size(kPieceBytes)));
typedef long long piece_l __attribute__((vector_size(kPieceBytes)));

template <class Piece, class V, class Op>
inline v8l piecewise(V a, V b, Op op) {
    Piece pa[kPieces], pb[kPieces];
    piece_l out[kPieces];
    std::memcpy(pa, &a, sizeof a);
    std::memcpy(pb, &b, sizeof b);
    for (std::size_t p = 0; p < kPieces; ++p) out[p] = op(pa[p], pb[p]);
    v8l m;
    std::memcpy(&m, out, sizeof m);
    return m;
}

inline v8l lt(v8d a, v8d b) {
    return piecewise<piece_d>(a, b, [](piece_d x, piece_d y) -> piece_l { return x < y; });
}
inline v8l gt(v8d a, v8d b) { return lt(b, a); }
inline v8l ge(v8d a, v8d b) {
    return piecewise<piece_d>(a, b, [](piece_d x, piece_d y) -> piece_l { return x >= y; });
}
inline v8l gt(v8l a, v8l b) {
    return piecewise<piece_l>(a, b, [](piece_l x, piece_l y) -> piece_l { return x > y; });
}

// The bits of a where m is true, of b elsewhere (m: a comparison's lanes).
inline v8d select(v8l m, v8d a, v8d b) {
    v8l x, y;
    std::memcpy(&x, &a, sizeof a);
    std::memcpy(&y, &b, sizeof b);
    const v8l r = (m & x) | (~m & y);
    v8d out;
    std::memcpy(&out, &r, sizeof out);
    return out;
}

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
