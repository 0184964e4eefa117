// Internal: exp and log(1 + x) on eight doubles at once, for the logistic loss's
// per-sample terms. Plain arithmetic on vector types (no libm calls), so the
// loops vectorise and give the same bits on every thread; accurate to a few
// units in the last place over the ranges the logistic loss needs.
#pragma once

#include "simd.hpp"

namespace formulasearch::detail {

// e^x for x <= 0; below -708 (where e^x leaves the normal range) e^-708, as x is
// clamped there: the loss term it feeds is then below any rounding of a mean.
inline v8d exp_nonpositive(v8d x) {
    const v8d lo = splat(-708.0);
    x = select(lt(x, lo), lo, x);
    // x = k ln2 + r, |r| <= ln2 / 2: round(x / ln2) by the 1.5 * 2^52 trick.
    const v8d magic = splat(6755399441055744.0);
    const v8d t = x * splat(1.4426950408889634) + magic;
    const v8d k = t - magic;
    const v8d r = (x - k * splat(0.6931471803691238)) - k * splat(1.9082149292705877e-10);
    // e^r by its Taylor series to r^12 (|r| <= 0.347: truncation below 2e-16 relative).
    v8d p = splat(1.0 / 479001600.0);
    p = p * r + splat(1.0 / 39916800.0);
    p = p * r + splat(1.0 / 3628800.0);
    p = p * r + splat(1.0 / 362880.0);
    p = p * r + splat(1.0 / 40320.0);
    p = p * r + splat(1.0 / 5040.0);
    p = p * r + splat(1.0 / 720.0);
    p = p * r + splat(1.0 / 120.0);
    p = p * r + splat(1.0 / 24.0);
    p = p * r + splat(1.0 / 6.0);
    p = p * r + splat(0.5);
    p = p * r + splat(1.0);
    p = p * r + splat(1.0);
    // 2^k from its exponent bits (k >= -1022 here). k as an integer is the difference of the
    // bits of t and of the magic number (t lies in [2^52, 2^53), where the spacing is 1): no
    // double-to-integer conversion, which has no vector instruction before AVX-512DQ.
    const v8l bits = (((v8l)t - (v8l)magic) + 1023) << 52;
    return p * (v8d)bits;  // a same-size vector cast reinterprets the bits
}

// log(1 + e) for 0 <= e <= 1 is 2 atanh(s) with s = e / (2 + e); above
// sqrt(2) - 1 ("big") it is ln 2 + 2 atanh(s) with s = (e - 1) / (e + 3), so
// that |s| <= 0.172 and eleven odd terms of the series reach double precision
// (absolute error below 1e-16). The caller forms s: its division can then be
// shared with another quotient.
constexpr double kLog1pSplit = 0.41421356237309503;  // sqrt(2) - 1

inline v8d log1p_from_quotient(v8d s, v8l big) {
    const v8d s2 = s * s;
    v8d p = splat(1.0 / 21.0);
    p = p * s2 + splat(1.0 / 19.0);
    p = p * s2 + splat(1.0 / 17.0);
    p = p * s2 + splat(1.0 / 15.0);
    p = p * s2 + splat(1.0 / 13.0);
    p = p * s2 + splat(1.0 / 11.0);
    p = p * s2 + splat(1.0 / 9.0);
    p = p * s2 + splat(1.0 / 7.0);
    p = p * s2 + splat(1.0 / 5.0);
    p = p * s2 + splat(1.0 / 3.0);
    p = p * s2 + splat(1.0);
    return splat(2.0) * s * p + select(big, splat(0.6931471805599453), splat(0.0));
}

}  // namespace formulasearch::detail
