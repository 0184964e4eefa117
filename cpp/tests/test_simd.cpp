// The 8-wide vector helpers of the kernels (simd.hpp, vector_math.hpp) against plain scalar
// arithmetic, lane by lane. The helpers take another path for each instruction set (AVX-512,
// AVX2, SSE2), so tests/test_vector_isa.py also compiles this file for each one the machine
// runs, on its own (header-only: no library needed).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "check.hpp"
#include "simd.hpp"
#include "vector_math.hpp"

using namespace formulasearch::detail;

namespace {

double lane(v8d v, int u) {
    double l[8];
    std::memcpy(l, &v, sizeof l);
    return l[u];
}
long long lane(v8l v, int u) {
    long long l[8];
    std::memcpy(l, &v, sizeof l);
    return l[u];
}
v8d from(const double* p) { return load8(p); }

// Values that exercise every comparison: equal, signed zeros, infinities and NaN.
std::vector<double> edge_values() {
    const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
    return {0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 2.5, 2.5, inf, -inf, nan, 1e308, -3.0, 0.5, 7.0, -7.0};
}

void comparisons_match_scalar() {
    std::mt19937_64 rng(7);
    const std::vector<double> pool = edge_values();
    std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1);
    for (int t = 0; t < 2000; ++t) {
        double a[8], b[8];
        long long ia[8], ib[8];
        for (int u = 0; u < 8; ++u) {
            a[u] = pool[pick(rng)], b[u] = pool[pick(rng)];
            ia[u] = static_cast<long long>(pick(rng)) - 8, ib[u] = static_cast<long long>(pick(rng)) - 8;
        }
        v8l va, vb;
        std::memcpy(&va, ia, sizeof va);
        std::memcpy(&vb, ib, sizeof vb);
        const v8l l = lt(from(a), from(b)), g = gt(from(a), from(b)), e = ge(from(a), from(b)), gi = gt(va, vb);
        const v8d s = select(l, from(a), from(b));
        unsigned bits = 0;
        for (int u = 0; u < 8; ++u) {
            CHECK(lane(l, u) == (a[u] < b[u] ? -1 : 0));
            CHECK(lane(g, u) == (a[u] > b[u] ? -1 : 0));
            CHECK(lane(e, u) == (a[u] >= b[u] ? -1 : 0));
            CHECK(lane(gi, u) == (ia[u] > ib[u] ? -1 : 0));
            const double want = a[u] < b[u] ? a[u] : b[u];  // the bits of the chosen lane, NaN included
            const double got = lane(s, u);
            CHECK(std::memcmp(&got, &want, sizeof got) == 0);
            bits |= (a[u] < b[u] ? 1u : 0u) << u;
        }
        CHECK(lane_bits(l) == bits);
        CHECK(any(l) == (bits != 0));
    }
}

void exp_matches_libm() {
    // e^x for x <= 0: a few units in the last place of std::exp; e^-708 below -708.
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> wide(-720.0, 0.0), narrow(-2.0, 0.0);
    for (int t = 0; t < 4000; ++t) {
        double x[8];
        for (int u = 0; u < 8; ++u) x[u] = t % 2 ? wide(rng) : narrow(rng);
        if (t == 0) x[0] = 0.0, x[1] = -708.0, x[2] = -709.0, x[3] = -1e-300;
        const v8d e = exp_nonpositive(from(x));
        for (int u = 0; u < 8; ++u) {
            const double want = std::exp(std::max(x[u], -708.0));
            CHECK(std::fabs(lane(e, u) - want) <= 4e-16 * want);
        }
    }
}

void log1p_matches_libm() {
    // log(1 + e), 0 <= e <= 1, from the quotient the caller forms on either side of the split.
    std::mt19937_64 rng(13);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int t = 0; t < 2000; ++t) {
        double e[8], s[8];
        long long big[8];
        for (int u = 0; u < 8; ++u) {
            e[u] = t == 0 ? u / 7.0 : unit(rng);
            big[u] = e[u] > kLog1pSplit ? -1 : 0;
            s[u] = big[u] ? (e[u] - 1.0) / (e[u] + 3.0) : e[u] / (2.0 + e[u]);
        }
        v8l vbig;
        std::memcpy(&vbig, big, sizeof vbig);
        const v8d got = log1p_from_quotient(from(s), vbig);
        for (int u = 0; u < 8; ++u) CHECK(std::fabs(lane(got, u) - std::log1p(e[u])) <= 2e-16);
    }
}

}  // namespace

int main() {
    comparisons_match_scalar();
    exp_matches_libm();
    log1p_matches_libm();
    return fs_test::report("test_simd");
}
