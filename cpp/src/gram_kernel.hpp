// Internal: the register-blocked micro-kernel of the Gram products.
//
// Candidates are stored in panels of kPanel = 16: panel p holds candidates
// [16p, 16p + 16) sample by sample, so the kernel reads both operands as
// contiguous streams. One call computes an 8 x 16 block of G = Z Z^T in 16
// vector accumulators; every entry is the same chain of fused multiply-adds
// over the samples in order, whatever the block's position, tile size or
// thread: results are bitwise reproducible.
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

inline void gram_block(const double* __restrict a, const double* __restrict b, std::size_t n, Block8x16& out) {
    v8d c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {}, c30 = {}, c31 = {};
    v8d c40 = {}, c41 = {}, c50 = {}, c51 = {}, c60 = {}, c61 = {}, c70 = {}, c71 = {};
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
    out.c[0][0] = c00; out.c[0][1] = c01; out.c[1][0] = c10; out.c[1][1] = c11;
    out.c[2][0] = c20; out.c[2][1] = c21; out.c[3][0] = c30; out.c[3][1] = c31;
    out.c[4][0] = c40; out.c[4][1] = c41; out.c[5][0] = c50; out.c[5][1] = c51;
    out.c[6][0] = c60; out.c[6][1] = c61; out.c[7][0] = c70; out.c[7][1] = c71;
}

}  // namespace formulasearch::detail
