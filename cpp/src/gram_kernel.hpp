// Internal: the register-blocked micro-kernel of the Gram products.
//
// Candidates are stored in panels of kPanel = 16: panel p holds candidates
// [16p, 16p + 16) sample by sample, so the kernel reads both operands as
// contiguous streams. One call computes an 8 x 16 block of G = Z Z^T in 16
// vector accumulators; every entry is the same chain of fused multiply-adds
// over the samples in order, whatever the block's position, tile size or
// thread: results are bitwise reproducible. Summing the samples in chunks
// (gram_accumulate, storing the running sums between chunks) keeps that chain:
// storing and reloading a double is exact.
#pragma once

#include <cstddef>

#include "simd.hpp"

namespace formulasearch::detail {

constexpr std::size_t kPanel = 16;
constexpr std::size_t kRows = 8;

// c[r][h] (lane l) = sum_k a[k * kPanel + r] * b[k * kPanel + 8h + l].
// `a` points into a panel at row offset 0 or 8, `b` at a panel's start.
struct Block8x16 {
    v8d c[kRows][2];
};

// Samples [0, n) of the operands summed onto `acc` (kFromZero: onto zero, the
// accumulators starting in registers, `acc` only written).
template <bool kFromZero>
inline void gram_chain(const double* __restrict a, const double* __restrict b, std::size_t n, Block8x16& acc) {
    auto start = [&](std::size_t r, int h) { return kFromZero ? v8d{} : acc.c[r][h]; };
    v8d c00 = start(0, 0), c01 = start(0, 1), c10 = start(1, 0), c11 = start(1, 1);
    v8d c20 = start(2, 0), c21 = start(2, 1), c30 = start(3, 0), c31 = start(3, 1);
    v8d c40 = start(4, 0), c41 = start(4, 1), c50 = start(5, 0), c51 = start(5, 1);
    v8d c60 = start(6, 0), c61 = start(6, 1), c70 = start(7, 0), c71 = start(7, 1);
    for (std::size_t k = 0; k < n; ++k, a += kPanel, b += kPanel) {
        const v8d b0 = load8(b), b1 = load8(b + 8);
        v8d s;
        s = splat(a[0]); c00 += s * b0; c01 += s * b1;
        s = splat(a[1]); c10 += s * b0; c11 += s * b1;
        s = splat(a[2]); c20 += s * b0; c21 += s * b1;
        s = splat(a[3]); c30 += s * b0; c31 += s * b1;
        s = splat(a[4]); c40 += s * b0; c41 += s * b1;
        s = splat(a[5]); c50 += s * b0; c51 += s * b1;
        s = splat(a[6]); c60 += s * b0; c61 += s * b1;
        s = splat(a[7]); c70 += s * b0; c71 += s * b1;
    }
    acc.c[0][0] = c00; acc.c[0][1] = c01; acc.c[1][0] = c10; acc.c[1][1] = c11;
    acc.c[2][0] = c20; acc.c[2][1] = c21; acc.c[3][0] = c30; acc.c[3][1] = c31;
    acc.c[4][0] = c40; acc.c[4][1] = c41; acc.c[5][0] = c50; acc.c[5][1] = c51;
    acc.c[6][0] = c60; acc.c[6][1] = c61; acc.c[7][0] = c70; acc.c[7][1] = c71;
}

// Adds samples [0, n) of the operands onto the running sums in `acc`.
inline void gram_accumulate(const double* a, const double* b, std::size_t n, Block8x16& acc) {
    gram_chain<false>(a, b, n, acc);
}

// The whole block over n samples: the same chain started from zero.
inline void gram_block(const double* a, const double* b, std::size_t n, Block8x16& out) { gram_chain<true>(a, b, n, out); }

// Samples per chunk when a tile's column panels (`cols` candidates) should stay
// in L2 while its rows stream through: about 256 KiB of them, a multiple of 8.
inline std::size_t default_sample_block(std::size_t cols) {
    const std::size_t kc = (256u * 1024u / sizeof(double)) / (cols ? cols : 1);
    return kc < 64 ? 64 : kc / 8 * 8;
}

}  // namespace formulasearch::detail
