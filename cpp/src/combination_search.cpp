#include "formulasearch/combination_search.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include "formulasearch/subset_search.hpp"
#include "formulasearch/top_k.hpp"
#include "gram_kernel.hpp"
#include "pair_tiles.hpp"
#include "triple_scoring.hpp"

#include "openmp_shim.hpp"

namespace formulasearch {

namespace {

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
using detail::kPretestSlack;

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

// num - thr * det of the triples (i, j, k), fixed i and j, as one quadratic form
// in (c, d, e) = (G[i][k], G[j][k], b[k]): nine multiply-adds per k.
struct TripleForm {
    double k0, cc, dd, ee, cd, de, ce;
    TripleForm(const TripleBase& t, double thr)
        : k0(t.bi2 + t.bj2 - 2.0 * t.a * t.bi * t.bj - thr * t.one_minus_a2),
          cc(thr - t.bj2),
          dd(thr - t.bi2),
          ee(t.one_minus_a2),
          cd(2.0 * (t.bi * t.bj - t.a * thr)),
          de(2.0 * (t.a * t.bi - t.bj)),
          ce(2.0 * (t.a * t.bj - t.bi)) {}
    v8d eval(v8d c, v8d d, v8d e) const {
        using detail::splat;
        return c * (splat(cc) * c + splat(cd) * d + splat(ce) * e) + d * (splat(dd) * d + splat(de) * e) +
               e * (splat(ee) * e) + splat(k0);
    }
};

// Scores the valid triples (i, j, k) of one thread. Rows of the pass bits
// (bit k: the pair passes the |r| limit) select k: where few k of a pair
// (i, j) are valid they are gathered first, else every k > j is scanned
// under a mask.
class TripleRowScorer {
public:
    TripleRowScorer(PerThread& me, const double* G, std::size_t ld, const double* b, const double* bsq, std::size_t m,
                    double lim2, double tol)
        : me_(me), G_(G), ld_(ld), b_(b), bsq_(bsq), m_(m), lim2_(lim2), tol_(tol),
          k_(m + 8), c_(m + 8), d_(m + 8), e_(m + 8) {}

    // The triples (i, j, k > j). vi, vj: the pass bits of rows i and j (those of row j all lie
    // above j, so their AND needs no mask).
    void score(std::size_t i, std::size_t j, const std::uint64_t* vi, const std::uint64_t* vj) {
        const std::size_t w0 = (j + 1) >> 6, w1 = (m_ + 63) >> 6;
        std::size_t count = 0;
        for (std::size_t w = w0; w < w1; ++w) count += static_cast<std::size_t>(__builtin_popcountll(vi[w] & vj[w]));
        if (count == 0) return;
        const double a = G_[i * ld_ + j];
        const TripleBase base{a, 1.0 - a * a, b_[i], b_[j], bsq_[i], bsq_[j]};
        if (4 * count >= m_ - j - 1)
            scan(base, i, j);
        else
            gather(base, i, j, vi, vj, w0, w1);
    }

private:
    // Eight k at a time: the valid lanes counted, the hits (lanes that may enter the top-k) scored exactly.
    template <class Lane>
    void test8(const TripleBase& base, TripleForm& form, std::size_t i, std::size_t j, v8d c, v8d d, v8d e,
               v8l& valid_count, Lane k_of_lane, const double* cs, const double* ds, const double* es) {
        const v8d a = detail::splat(base.a);
        const v8d det = detail::splat(base.one_minus_a2) + 2.0 * a * c * d - c * c - d * d;
        const v8l valid = detail::lt(c * c, detail::splat(lim2_)) & detail::lt(d * d, detail::splat(lim2_)) &
                          detail::gt(det, detail::splat(tol_));
        valid_count -= valid;  // true lanes are -1
        const v8l hit = valid & detail::ge(form.eval(c, d, e), detail::splat(-kPretestSlack));
        if (!detail::any(hit)) return;
        for (std::size_t u = 0; u < 8; ++u) {
            const std::size_t k = k_of_lane(u);
            consider_triple(me_, base, cs[u], ds[u], es[u], bsq_[k], i, j, k, lim2_, tol_);
        }
        form = TripleForm(base, me_.threshold());
    }

    void scan(const TripleBase& base, std::size_t i, std::size_t j) {
        const double *gi = G_ + i * ld_, *gj = G_ + j * ld_;
        TripleForm form(base, me_.threshold());
        v8l valid_count = {};
        std::size_t k = j + 1;
        for (; k + 8 <= m_; k += 8)
            test8(base, form, i, j, detail::load8(gi + k), detail::load8(gj + k), detail::load8(b_ + k), valid_count,
                  [k](std::size_t u) { return k + u; }, gi + k, gj + k, b_ + k);
        me_.scored += detail::lane_total(valid_count);
        for (; k < m_; ++k) {
            if (gi[k] * gi[k] < lim2_ && gj[k] * gj[k] < lim2_ && base.det(gi[k], gj[k]) > tol_) ++me_.scored;
            consider_triple(me_, base, gi[k], gj[k], b_[k], bsq_[k], i, j, k, lim2_, tol_);
        }
    }

    void gather(const TripleBase& base, std::size_t i, std::size_t j, const std::uint64_t* vi, const std::uint64_t* vj,
                std::size_t w0, std::size_t w1) {
        const double *gi = G_ + i * ld_, *gj = G_ + j * ld_;
        std::size_t n = 0;
        for (std::size_t w = w0; w < w1; ++w)
            for (std::uint64_t bits = vi[w] & vj[w]; bits; bits &= bits - 1) {
                const std::size_t k = w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits));
                k_[n] = static_cast<std::uint32_t>(k), c_[n] = gi[k], d_[n] = gj[k], e_[n] = b_[k];
                ++n;
            }
        for (std::size_t p = n; p % 8; ++p)  // padding lanes: invalid (NaN fails every test)
            k_[p] = static_cast<std::uint32_t>(j), c_[p] = 0.0, d_[p] = std::numeric_limits<double>::quiet_NaN(), e_[p] = 0.0;
        TripleForm form(base, me_.threshold());
        v8l valid_count = {};
        for (std::size_t t = 0; t < n; t += 8)
            test8(base, form, i, j, detail::load8(&c_[t]), detail::load8(&d_[t]), detail::load8(&e_[t]), valid_count,
                  [&](std::size_t u) { return static_cast<std::size_t>(k_[t + u]); }, &c_[t], &d_[t], &e_[t]);
        me_.scored += detail::lane_total(valid_count);
    }

    PerThread& me_;
    const double* G_;
    std::size_t ld_;
    const double *b_, *bsq_;
    std::size_t m_;
    double lim2_, tol_;
    std::vector<std::uint32_t> k_;
    std::vector<double> c_, d_, e_;
};

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
    // Not zeroed: the tiles written are the only entries read (a nested sweep allocates one per fold).
    const std::unique_ptr<double[]> G(new double[ld * ld]);
    const std::uint64_t flops = detail::fill_gram(set, set, true, T, detail::sample_block(opt, T), G.get(), ld);
    SearchResult res = detail::score_triples(G.get(), ld, set.target_correlations().data(), set.size(), opt, progress);
    res.gram_flops = flops;
    res.peak_bytes += set.memory_bytes() + ld * ld * sizeof(double);
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
    // Bit k of row i: k > i and the pair (i, k) passes the |r| limit. A triple is valid only
    // if all three of its pairs pass, so for fixed i < j only the k of (row i AND row j) are
    // visited: with correlated pools (a top-N of 1D formulas) that is a few percent of them.
    const std::size_t words = (m + 63) / 64;
    std::vector<std::uint64_t> pass(m * words, 0);
    {
        const auto mm = static_cast<long long>(m);
#pragma omp parallel for schedule(static) if (m * m > detail::kParallelMinWork)
        for (long long ii = 0; ii < mm; ++ii) {
            const auto i = static_cast<std::size_t>(ii);
            const double* gi = G + i * ld;
            std::uint64_t* row = pass.data() + i * words;
            auto scalar = [&](std::size_t k) {
                if (gi[k] * gi[k] < lim2) row[k >> 6] |= std::uint64_t{1} << (k & 63);
            };
            std::size_t k = i + 1;
            for (; k < m && k % 8; ++k) scalar(k);
            for (; k + 8 <= m; k += 8) {  // eight bits of one word at a time (k is a multiple of 8)
                const v8d g = detail::load8(gi + k);
                row[k >> 6] |= std::uint64_t{detail::lane_bits(detail::lt(g * g, detail::splat(lim2)))} << (k & 63);
            }
            for (; k < m; ++k) scalar(k);
        }
    }

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
            TripleRowScorer scorer(me, G, ld, b, bsq.data(), m, lim2, tol);
#pragma omp for schedule(static, 1)
            for (long long ii = static_cast<long long>(i_lo); ii < i_hi; ++ii) {
                const auto i = static_cast<std::size_t>(ii);
                const std::uint64_t* vi = pass.data() + i * words;
                for (std::size_t wj = (i + 1) >> 6; wj < words; ++wj)
                    for (std::uint64_t bits = vi[wj]; bits; bits &= bits - 1) {
                        const std::size_t j = wj * 64 + static_cast<std::size_t>(__builtin_ctzll(bits));
                        scorer.score(i, j, vi, pass.data() + j * words);
                    }
            }
        }
        done += count_combinations(m, 3, i_lo, i_next);
        cancelled = !keep_going(progress, "triples", done, total);
    }
    SearchResult res = merge(threads, opt.keep);
    res.dim = 3;
    res.n_combinations = done;
    res.cancelled = cancelled;
    res.peak_bytes = triple_scoring_bytes(m, threads.size());
    return res;
}

}  // namespace detail

}  // namespace formulasearch
