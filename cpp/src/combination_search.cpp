#include "formulasearch/combination_search.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "formulasearch/subset_search.hpp"
#include "formulasearch/top_k.hpp"
#include "gram_kernel.hpp"
#include "pair_tiles.hpp"
#include "triple_scoring.hpp"

#include "openmp_shim.hpp"

namespace formulasearch {

namespace {

using detail::kSafety;
using detail::merge;
using detail::PerThread;

using detail::check_search_options;

}  // namespace

namespace {

using detail::Block8x16;
using detail::kPanel;
using detail::kRows;
using detail::v8d;
using detail::v8l;

// What a triple (i, j, k) shares with every k for fixed i, j.
struct TripleBase {
    double a, one_minus_a2, bi, bj, bi2, bj2;
    double det(double c, double d) const { return one_minus_a2 + 2.0 * a * c * d - c * c - d * d; }
};

// The exact scoring of one triple (adjugate formula of kernels.md), shared by
// the vector and scalar paths.
inline void consider_triple(PerThread& me, const TripleBase& t, double c, double d, double bk, double bk2,
                            std::size_t i, std::size_t j, std::size_t k, double lim2, double tol) {
    if (!(c * c < lim2) || !(d * d < lim2)) return;
    const double det = t.det(c, d);
    if (!(det > tol)) return;
    const double num = t.bi2 * (1.0 - d * d) + t.bj2 * (1.0 - c * c) + bk2 * t.one_minus_a2 +
                       2.0 * (t.bi * t.bj * (c * d - t.a) + t.bi * bk * (t.a * d - c) + t.bj * bk * (t.a * c - d));
    if (num < me.threshold() * det) return;
    me.top.push({num / det, 3, {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j), static_cast<std::uint32_t>(k)}});
}

}  // namespace

std::uint64_t count_combinations(std::size_t m, int d, std::size_t first, std::size_t last) {
    // C(m - 1 - i, d - 1) summed over the first member i in the slice.
    std::uint64_t total = 0;
    for (std::size_t i = first; i < std::min(m, last); ++i) {
        const std::uint64_t r = m - 1 - i;
        const std::uint64_t here = d == 1 ? 1 : d == 2 ? r : d == 3 ? r * (r - (r > 0)) / 2 : binomial(r, d - 1);
        if (total + here < total) throw std::invalid_argument("more than 2^64 combinations");
        total += here;
    }
    return total;
}

SearchResult search_pairs(const StandardizedSet& set, const SearchOptions& opt, Progress* progress) {
    check_search_options(opt);
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t m = set.size(), mp = set.padded_size(), n = set.n_samples(), T = opt.tile;
    const double lim = detail::pair_limit(opt);
    const detail::PairLimits limits{lim * lim, opt.singular_tol};
    const detail::PairSides sides{set, set};
    const std::size_t kc = detail::sample_block(opt, T);
    const std::size_t n_tiles = (mp + T - 1) / T;
    if (opt.first % T || (opt.last < m && opt.last % T))
        throw std::invalid_argument("a slice of the pair search must start and end on tile boundaries");
    const std::size_t I_begin = opt.first / T, I_end = std::min(n_tiles, (std::min(opt.last, m) + T - 1) / T);
    std::vector<PerThread> threads(static_cast<std::size_t>(omp_get_max_threads()), PerThread(opt.keep));
    bool cancelled = false;

    // Tiles of T x T candidates, I <= J: the J tile's panels (a chunk of kc
    // samples of them, when n is large) stay in L2 while the I tile's 8-row
    // blocks stream through them; each 8 x 16 block of G is scored straight
    // from registers and never written to memory (pair_tiles.hpp).
    // Tile pairs are processed in batches of kBatchPerThread pairs per thread,
    // so threads stay busy even where a row has few pairs, and progress and
    // cancellation are checked between batches (a few ms each).
    // Progress and the result count the pairs of the completed tile pairs, so a
    // cancelled search reports what it evaluated, not what it planned.
    constexpr std::size_t kBatchPerThread = 32;
    const std::size_t batch_target = kBatchPerThread * threads.size();
    auto pairs_of_tiles = [&](std::size_t I, std::size_t J) -> std::uint64_t {
        const std::uint64_t rows = std::min(m, I * T + T) - std::min(m, I * T);
        if (I == J) return rows * (rows - 1) / 2;  // rows >= 1: a tile row starts before m
        return rows * (std::min(m, J * T + T) - std::min(m, J * T));
    };
    const std::uint64_t total = count_combinations(m, 2, opt.first, opt.last);
    std::uint64_t done = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> batch;
    // A cursor over the tile pairs (I, J >= I), row by row; a batch may end
    // inside a row, so a batch stays short even when rows are long.
    std::size_t I_cur = I_begin, J_cur = I_begin;
    while (I_cur < I_end && !cancelled) {
        batch.clear();
        while (I_cur < I_end && batch.size() < batch_target) {
            batch.emplace_back(static_cast<std::uint32_t>(I_cur), static_cast<std::uint32_t>(J_cur));
            if (++J_cur == n_tiles) J_cur = ++I_cur;
        }
        const auto n_batch = static_cast<long long>(batch.size());
#pragma omp parallel if (n_batch > 1)
        {
            PerThread& me = threads[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(static)
            for (long long q = 0; q < n_batch; ++q) {
                const std::size_t I = batch[static_cast<std::size_t>(q)].first, J = batch[static_cast<std::size_t>(q)].second;
                detail::pair_tile(me, sides, I * T, std::min(m, I * T + T), J * T, std::min(m, J * T + T), kc, limits);
            }
        }
        for (const auto& [I, J] : batch) done += pairs_of_tiles(I, J);
        cancelled = !keep_going(progress, "pairs", done, total);
    }
    SearchResult res = merge(threads, opt.keep);
    res.dim = 2;
    res.n_combinations = done;
    for (const auto& t : threads) {
        res.gram_flops += t.blocks * kRows * kPanel * n * 2;
        res.peak_bytes += t.partial.size() * sizeof(detail::Block8x16);
    }
    res.peak_bytes += set.memory_bytes();
    res.cancelled = cancelled;
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

SearchResult search_triples(const StandardizedSet& set, const SearchOptions& opt, Progress* progress) {
    check_search_options(opt);
    const auto t0 = std::chrono::steady_clock::now();
    // The m x m Gram matrix (top-N sets are small: 10^4 -> 800 MB at most);
    // only its tiles on and above the diagonal, as the scoring reads G[i][k], i < k.
    const std::size_t ld = set.padded_size(), T = opt.tile;
    std::vector<double> G(ld * ld);
    const std::uint64_t flops = detail::fill_gram(set, set, true, T, detail::sample_block(opt, T), G.data(), ld);
    SearchResult res = detail::score_triples(G.data(), ld, set.target_correlations().data(), set.size(), opt, progress);
    res.gram_flops = flops;
    res.peak_bytes = set.memory_bytes() + G.size() * sizeof(double);
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

namespace detail {

std::uint64_t fill_gram(const StandardizedSet& rows, const StandardizedSet& cols, bool upper, std::size_t tile,
                        std::size_t kc, double* out, std::size_t ld) {
    const std::size_t mr = rows.padded_size(), mc = cols.padded_size(), T = tile;
    std::vector<std::pair<std::size_t, std::size_t>> tiles;
    for (std::size_t i = 0; i < mr; i += T)
        for (std::size_t j = upper ? i : 0; j < mc; j += T) tiles.emplace_back(i, j);
    const auto n_tiles = static_cast<long long>(tiles.size());
#pragma omp parallel for schedule(dynamic, 1)
    for (long long q = 0; q < n_tiles; ++q) {
        const auto [i, j] = tiles[static_cast<std::size_t>(q)];
        cross_gram_tile(rows, i, std::min(T, mr - i), cols, j, std::min(T, mc - j), out + i * ld + j, ld, kc);
    }
    std::uint64_t flops = 0;
    for (const auto& [i, j] : tiles) flops += std::min(T, mr - i) * std::min(T, mc - j) * rows.n_samples() * 2;
    return flops;
}

SearchResult score_triples(const double* G, std::size_t ld, const double* b, std::size_t m, const SearchOptions& opt,
                           Progress* progress) {
    check_search_options(opt);
    const double lim = detail::pair_limit(opt), lim2 = lim * lim, tol = opt.singular_tol;
    std::vector<PerThread> threads(static_cast<std::size_t>(omp_get_max_threads()), PerThread(opt.keep));
    std::vector<double> bsq(m);
    for (std::size_t i = 0; i < m; ++i) bsq[i] = b[i] * b[i];

    // Rows i in chunks of about kChunkTriples triples between progress reports
    // (so cancelling answers quickly); inside a chunk, round-robin over threads
    // (the work per i shrinks as i grows).
    constexpr double kChunkTriples = 2e7;
    bool cancelled = false;
    const std::size_t i_first = std::min(m, opt.first), i_last = std::min(m, opt.last);
    const std::uint64_t total = count_combinations(m, 3, i_first, i_last);
    std::uint64_t done = 0;  // triples of the completed rows
    for (std::size_t i_lo = i_first, i_next = i_first; i_lo < i_last && !cancelled; i_lo = i_next) {
        const double rest = static_cast<double>(m - i_lo);
        const auto rows = static_cast<std::size_t>(std::clamp(kChunkTriples / (0.5 * rest * rest + 1), 1.0, 1024.0));
        i_next = std::min(i_last, i_lo + rows);
        const auto i_hi = static_cast<long long>(i_next);
        const double chunk_triples = static_cast<double>(i_next - i_lo) * 0.5 * rest * rest;
#pragma omp parallel if (chunk_triples * 9 > static_cast<double>(detail::kParallelMinWork))
        {
            PerThread& me = threads[static_cast<std::size_t>(omp_get_thread_num())];
            // Per i, the k that pass the |r| test against i, compressed: the
            // (j, k) loops then only visit combinations that can be valid.
            std::vector<std::uint32_t> idx;
            std::vector<double> cs, bks, bk2s, ds;
#pragma omp for schedule(static, 1)
            for (long long ii = static_cast<long long>(i_lo); ii < i_hi; ++ii) {
                const auto i = static_cast<std::size_t>(ii);
                const double* gi = G + i * ld;
                const double bi = b[i];
                idx.clear(), cs.clear(), bks.clear(), bk2s.clear();
                for (std::size_t k = i + 1; k < m; ++k)
                    if (gi[k] * gi[k] < lim2) idx.push_back(static_cast<std::uint32_t>(k)), cs.push_back(gi[k]), bks.push_back(b[k]), bk2s.push_back(bsq[k]);
                const std::size_t L = idx.size();
                ds.resize(L);
                v8l valid_count = {};
                for (std::size_t tj = 0; tj < L; ++tj) {
                    const std::size_t j = idx[tj];
                    const double* gj = G + j * ld;
                    const TripleBase base{cs[tj], 1.0 - cs[tj] * cs[tj], bi, b[j], bsq[i], bsq[j]};
                    for (std::size_t t = tj + 1; t < L; ++t) ds[t] = gj[idx[t]];
                    const v8d va = detail::splat(base.a), vbi = detail::splat(bi), vbj = detail::splat(base.bj);
                    const v8d v1a2 = detail::splat(base.one_minus_a2), vbi2 = detail::splat(base.bi2), vbj2 = detail::splat(base.bj2);
                    const v8d vlim2 = detail::splat(lim2), vtol = detail::splat(tol);
                    std::size_t t = tj + 1;
                    // Eight k at a time: a loose vector pre-test; only lanes that
                    // might enter the top-k take the exact scalar path.
                    for (; t + 8 <= L; t += 8) {
                        const v8d c = detail::load8(&cs[t]), d = detail::load8(&ds[t]);
                        const v8d bk = detail::load8(&bks[t]), bk2 = detail::load8(&bk2s[t]);
                        const v8d det = v1a2 + 2.0 * va * c * d - c * c - d * d;
                        const v8l valid = (d * d < vlim2) & (det > vtol);
                        const v8d num = vbi2 * (1.0 - d * d) + vbj2 * (1.0 - c * c) + bk2 * v1a2 +
                                        2.0 * (vbi * vbj * (c * d - va) + vbi * bk * (va * d - c) + vbj * bk * (va * c - d));
                        const v8l hit = valid & (num >= detail::splat(me.threshold() * kSafety) * det);
                        valid_count -= valid;  // true lanes are -1
                        if (!detail::any(hit)) continue;
                        for (std::size_t u = t; u < t + 8; ++u)
                            consider_triple(me, base, cs[u], ds[u], bks[u], bk2s[u], i, j, idx[u], lim2, tol);
                    }
                    for (; t < L; ++t) {
                        if (ds[t] * ds[t] < lim2 && base.det(cs[t], ds[t]) > tol) ++me.scored;
                        consider_triple(me, base, cs[t], ds[t], bks[t], bk2s[t], i, j, idx[t], lim2, tol);
                    }
                }
                me.scored += detail::lane_total(valid_count);
            }
        }
        done += count_combinations(m, 3, i_lo, i_next);
        cancelled = !keep_going(progress, "triples", done, total);
    }
    SearchResult res = merge(threads, opt.keep);
    res.dim = 3;
    res.n_combinations = done;
    res.cancelled = cancelled;
    return res;
}

}  // namespace detail

}  // namespace formulasearch
