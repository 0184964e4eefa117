#include "formulasearch/combination_search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "formulasearch/top_k.hpp"

#ifdef _OPENMP
#include <omp.h>
#else
inline int omp_get_max_threads() { return 1; }
inline int omp_get_thread_num() { return 0; }
#endif

namespace formulasearch {

namespace {

// A candidate is rejected early only when it is certainly below the current
// k-th best even after rounding; borderline ones get the exact comparison. So
// whatever a thread's threshold is, no member of the global top-k is lost and
// the merged result does not depend on the partition.
constexpr double kSafety = 1.0 - 1e-12;

double pair_limit(const SearchOptions& o) {
    return (o.max_pair_corr <= 0 || o.max_pair_corr >= 1) ? std::numeric_limits<double>::infinity() : o.max_pair_corr;
}

struct PerThread {
    explicit PerThread(std::size_t k) : top(k) {}
    TopK<Combination> top;
    std::uint64_t scored = 0;
    double threshold() const { return top.full() ? top.worst().r2 * kSafety : -1.0; }
};

SearchResult merge(std::vector<PerThread>& threads, std::size_t keep) {
    TopK<Combination> all(keep);
    SearchResult res;
    for (auto& t : threads) {
        all.merge(t.top);
        res.n_scored += t.scored;
    }
    res.best = all.sorted();
    return res;
}

void check(const SearchOptions& o) {
    if (o.keep == 0) throw std::invalid_argument("keep must be at least 1");
    if (o.tile == 0 || o.tile % StandardizedSet::kColBlock) throw std::invalid_argument("tile must be a positive multiple of 16");
}

}  // namespace

SearchResult search_pairs(const StandardizedSet& set, const SearchOptions& opt, Progress* progress) {
    check(opt);
    const std::size_t m = set.size(), T = opt.tile;
    const double lim = pair_limit(opt), tol = opt.singular_tol;
    const double* b = set.target_correlations().data();
    const std::size_t n_tiles = (m + T - 1) / T;
    std::vector<PerThread> threads(static_cast<std::size_t>(omp_get_max_threads()), PerThread(opt.keep));
    bool cancelled = false;

    for (std::size_t I = 0; I < n_tiles && !cancelled; ++I) {
        const auto n_right = static_cast<long long>(n_tiles - I);
#pragma omp parallel
        {
            PerThread& me = threads[static_cast<std::size_t>(omp_get_thread_num())];
            std::vector<double> tile(T * T);
#pragma omp for schedule(static)
            for (long long jj = 0; jj < n_right; ++jj) {
                const std::size_t J = I + static_cast<std::size_t>(jj);
                const std::size_t i0 = I * T, j0 = J * T;
                set.gram_tile(i0, T, j0, T, tile.data(), T);
                const std::size_t i_hi = std::min(m, i0 + T), j_hi = std::min(m, j0 + T);
                for (std::size_t i = i0; i < i_hi; ++i) {
                    const double bi = b[i];
                    const double* g = tile.data() + (i - i0) * T - j0;
                    double thr = me.threshold();
                    for (std::size_t j = std::max(j0, i + 1); j < j_hi; ++j) {
                        const double r = g[j];
                        if (!(std::fabs(r) < lim)) continue;
                        const double det = 1.0 - r * r;
                        if (!(det > tol)) continue;
                        ++me.scored;
                        const double num = bi * bi + b[j] * b[j] - 2.0 * bi * b[j] * r;
                        if (num < thr * det) continue;
                        me.top.push({num / det, 2, {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j), 0}});
                        thr = me.threshold();
                    }
                }
            }
        }
        cancelled = !keep_going(progress, "pairs", I + 1, n_tiles);
    }
    SearchResult res = merge(threads, opt.keep);
    res.n_combinations = static_cast<std::uint64_t>(m) * (m - (m > 0)) / 2;
    res.cancelled = cancelled;
    return res;
}

SearchResult search_triples(const StandardizedSet& set, const SearchOptions& opt, Progress* progress) {
    check(opt);
    const std::size_t m = set.size();
    const double lim = pair_limit(opt), tol = opt.singular_tol;
    const double* b = set.target_correlations().data();
    // The whole m x m Gram matrix (top-N sets are small: 10^4 -> 800 MB at most).
    const std::size_t ld = set.padded_size(), T = opt.tile;
    std::vector<double> G(ld * ld);
    {
        const std::size_t n_tiles = (ld + T - 1) / T;
        const auto n_pairs = static_cast<long long>(n_tiles * n_tiles);
        std::vector<double> scratch;
#pragma omp parallel for schedule(static) private(scratch)
        for (long long p = 0; p < n_pairs; ++p) {
            const std::size_t I = static_cast<std::size_t>(p) / n_tiles, J = static_cast<std::size_t>(p) % n_tiles;
            const std::size_t ti = std::min(T, ld - I * T), tj = std::min(T, ld - J * T);
            set.gram_tile(I * T, ti, J * T, tj, G.data() + I * T * ld + J * T, ld);
        }
    }
    std::vector<PerThread> threads(static_cast<std::size_t>(omp_get_max_threads()), PerThread(opt.keep));
    std::vector<double> bsq(m);
    for (std::size_t i = 0; i < m; ++i) bsq[i] = b[i] * b[i];

    // Rows i in chunks of about kChunkTriples triples between progress reports
    // (so cancelling answers quickly); inside a chunk, round-robin over threads
    // (the work per i shrinks as i grows).
    constexpr double kChunkTriples = 2e7;
    bool cancelled = false;
    for (std::size_t i_lo = 0, i_next = 0; i_lo < m && !cancelled; i_lo = i_next) {
        const double rest = static_cast<double>(m - i_lo);
        const auto rows = static_cast<std::size_t>(std::clamp(kChunkTriples / (0.5 * rest * rest + 1), 1.0, 1024.0));
        i_next = std::min(m, i_lo + rows);
        const auto i_hi = static_cast<long long>(i_next);
#pragma omp parallel
        {
            PerThread& me = threads[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(static, 1)
            for (long long ii = static_cast<long long>(i_lo); ii < i_hi; ++ii) {
                const auto i = static_cast<std::size_t>(ii);
                const double* gi = G.data() + i * ld;
                const double bi = b[i];
                for (std::size_t j = i + 1; j < m; ++j) {
                    const double a = gi[j];
                    if (!(std::fabs(a) < lim)) continue;
                    const double* gj = G.data() + j * ld;
                    const double bj = b[j];
                    const double a2 = 1.0 - a * a;
                    double thr = me.threshold();
                    for (std::size_t k = j + 1; k < m; ++k) {
                        const double c = gi[k], d = gj[k];
                        if (!(std::fabs(c) < lim) || !(std::fabs(d) < lim)) continue;
                        const double det = a2 + 2.0 * a * c * d - c * c - d * d;
                        if (!(det > tol)) continue;
                        ++me.scored;
                        const double bk = b[k];
                        const double num = bsq[i] * (1.0 - d * d) + bsq[j] * (1.0 - c * c) + bsq[k] * a2 +
                                           2.0 * (bi * bj * (c * d - a) + bi * bk * (a * d - c) + bj * bk * (a * c - d));
                        if (num < thr * det) continue;
                        me.top.push({num / det, 3,
                                     {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j), static_cast<std::uint32_t>(k)}});
                        thr = me.threshold();
                    }
                }
            }
        }
        cancelled = !keep_going(progress, "triples", static_cast<std::uint64_t>(i_hi), m);
    }
    SearchResult res = merge(threads, opt.keep);
    const std::uint64_t mm = m;
    res.n_combinations = mm < 3 ? 0 : mm * (mm - 1) * (mm - 2) / 6;
    res.cancelled = cancelled;
    return res;
}

}  // namespace formulasearch
