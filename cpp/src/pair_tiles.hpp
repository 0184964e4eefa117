// Internal: scoring pairs from Gram blocks, one macro tile at a time.
//
// Shared by the in-memory pair search (rows and columns from one set) and the
// streamed one (rows from one block of candidates, columns from another). A
// pair gets the same r2 bits on every path: its Gram entry is one FMA chain in
// sample order (gram_kernel.hpp) and its score one scalar formula.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "formulasearch/combination_search.hpp"
#include "formulasearch/standardized_set.hpp"
#include "formulasearch/top_k.hpp"
#include "gram_kernel.hpp"
#include "simd.hpp"

namespace formulasearch::detail {

// A candidate is rejected early only when it is certainly below the current
// k-th best even after rounding; borderline ones get the exact comparison. So
// whatever a thread's threshold is, no member of the global top-k is lost and
// the merged result does not depend on the partition.
constexpr double kSafety = 1.0 - 1e-12;

// Vector pre-tests that evaluate num - thr * det in another order than the exact
// scalar path: every term is at most a few units, so the two differ by far less
// than this slack, and a lane is dropped only when certainly below.
constexpr double kPretestSlack = 1e-12;

// The options every pair and triple search (in memory or streamed) requires.
inline void check_search_options(const SearchOptions& o) {
    if (o.keep == 0) throw std::invalid_argument("keep must be at least 1");
    if (o.first > o.last) throw std::invalid_argument("empty or reversed slice: first > last");
    if (o.tile == 0 || o.tile % StandardizedSet::kPanelWidth) throw std::invalid_argument("tile must be a positive multiple of 16");
}

// Samples per chunk of a search with tiles of `tile` columns: the option, else the cache-sized default.
inline std::size_t sample_block(const SearchOptions& o, std::size_t tile) {
    return o.sample_block ? o.sample_block : default_sample_block(tile);
}

inline double pair_limit(const SearchOptions& o) {
    return (o.max_pair_corr <= 0 || o.max_pair_corr >= 1) ? std::numeric_limits<double>::infinity() : o.max_pair_corr;
}

// One per thread, each on its own cache lines so that counters and the top-k
// of one thread never share a line with another's (no false sharing).
struct alignas(64) PerThread {
    explicit PerThread(std::size_t k) : top(k) {}
    TopK<Combination> top;
    std::uint64_t scored = 0;
    std::uint64_t blocks = 0;  // Gram blocks computed
    // Running sums of a macro tile between sample chunks (empty when n fits one chunk).
    std::vector<Block8x16> partial;
    double threshold() const { return top.full() ? top.worst().r2 * kSafety : -1.0; }
};

inline SearchResult merge(std::vector<PerThread>& threads, std::size_t keep) {
    TopK<Combination> all(keep);
    SearchResult res;
    for (auto& t : threads) {
        all.merge(t.top);
        res.n_scored += t.scored;
    }
    res.best = all.sorted();
    return res;
}

// The exact scoring of one pair (gi < gj: positions in the whole pool).
inline void consider_pair(PerThread& me, double g, double bi, double bj, std::size_t gi, std::size_t gj, double lim2,
                          double tol) {
    if (!(g * g < lim2)) return;
    const double det = 1.0 - g * g;
    if (!(det > tol)) return;
    const double num = bi * bi + bj * bj - 2.0 * bi * bj * g;
    if (num < me.threshold() * det) return;
    me.top.push({num / det, 2, {static_cast<std::uint32_t>(gi), static_cast<std::uint32_t>(gj), 0}});
}

// Rows of a tile from one standardised set, columns from another (or the
// same: then only pairs above the diagonal count). Offsets turn a set's local
// positions into positions in the whole pool; every row's position is below
// every column's unless the sets are the same.
struct PairSides {
    const StandardizedSet& rows;
    const StandardizedSet& cols;
    std::size_t row_offset = 0, col_offset = 0;
    bool same() const { return &rows == &cols; }
};

struct PairLimits {
    double lim2, tol;
};

// A block on the diagonal or at the padded end: index checks, scalar.
inline void score_edge_block(PerThread& me, const Block8x16& blk, const PairSides& s, std::size_t i, std::size_t j,
                             const PairLimits& L) {
    const double *bi = s.rows.padded_correlations(), *bj = s.cols.padded_correlations();
    for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t l = 0; l < kPanel; ++l) {
            const std::size_t ii = i + r, jj = j + l;
            if (ii >= s.rows.size() || jj >= s.cols.size() || (s.same() && ii >= jj)) continue;
            const double g = blk.c[r][l / 8][l % 8];
            if (g * g < L.lim2 && 1.0 - g * g > L.tol) ++me.scored;
            consider_pair(me, g, bi[ii], bj[jj], s.row_offset + ii, s.col_offset + jj, L.lim2, L.tol);
        }
}

// num - thr * det of the pairs of a row (bi) with eight columns (bj), as one
// quadratic in their correlation g: thr g^2 - 2 bi bj g + bi^2 + bj^2 - thr.
struct PairForm {
    v8d thr, m2bi, k0;
    PairForm(double threshold, double bi)
        : thr(splat(threshold)), m2bi(splat(-2.0 * bi)), k0(splat(bi * bi - threshold)) {}
    v8d eval(v8d g, v8d bj, v8d bj2) const { return (thr * g + m2bi * bj) * g + (bj2 + k0); }
};

// An interior block (all 128 pairs valid): a vector pre-test that is looser
// than the exact one, so only near-winners reach the scalar path.
inline void score_block(PerThread& me, const Block8x16& blk, const PairSides& s, std::size_t i, std::size_t j,
                        const PairLimits& L) {
    const double* bi = s.rows.padded_correlations() + i;
    const double* bj = s.cols.padded_correlations() + j;
    const double thr = me.threshold();
    const v8d vbj[2] = {load8(bj), load8(bj + 8)};
    const v8d vbj2[2] = {vbj[0] * vbj[0], vbj[1] * vbj[1]};
    const v8d one = splat(1.0), vlim2 = splat(L.lim2), vtol = splat(L.tol), vslack = splat(-kPretestSlack);
    v8l valid_count = {}, hit = {};
    for (std::size_t r = 0; r < kRows; ++r) {
        const PairForm form(thr, bi[r]);
        for (int h = 0; h < 2; ++h) {
            const v8d g = blk.c[r][h], g2 = g * g;
            const v8l valid = lt(g2, vlim2) & gt(one - g2, vtol);
            valid_count -= valid;  // true lanes are -1
            hit |= valid & ge(form.eval(g, vbj[h], vbj2[h]), vslack);
        }
    }
    me.scored += lane_total(valid_count);
    if (!any(hit)) return;
    for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t l = 0; l < kPanel; ++l)
            consider_pair(me, blk.c[r][l / 8][l % 8], bi[r], bj[l], s.row_offset + i + r, s.col_offset + j + l, L.lim2,
                          L.tol);
}

inline void score(PerThread& me, const Block8x16& blk, const PairSides& s, std::size_t i, std::size_t j,
                  const PairLimits& L) {
    const bool edge = i + kRows > s.rows.size() || j + kPanel > s.cols.size() || (s.same() && j <= i + kRows - 1);
    if (edge)
        score_edge_block(me, blk, s, i, j, L);
    else
        score_block(me, blk, s, i, j, L);
}

// All pairs of rows [i0, i1) x columns [j0, j1) (multiples of 8 and 16 from
// the start). When the samples exceed `kc`, they are taken in chunks of kc:
// every block of the tile sums one chunk (the chunk's column panels stay in
// cache across the rows), its running sums wait in me.partial, and blocks are
// scored after the last chunk, straight from registers.
inline void pair_tile(PerThread& me, const PairSides& s, std::size_t i0, std::size_t i1, std::size_t j0,
                      std::size_t j1, std::size_t kc, const PairLimits& L) {
    const std::size_t n = s.rows.n_samples();
    auto needed = [&](std::size_t i, std::size_t j) { return !(s.same() && j + kPanel - 1 <= i); };
    if (n <= kc) {
        Block8x16 blk;
        for (std::size_t i = i0; i < i1; i += kRows) {
            const double* a = s.rows.panel(i / kPanel) + i % kPanel;
            for (std::size_t j = j0; j < j1; j += kPanel) {
                if (!needed(i, j)) continue;  // wholly on or below the diagonal
                gram_block(a, s.cols.panel(j / kPanel), n, blk);
                ++me.blocks;
                score(me, blk, s, i, j, L);
            }
        }
        return;
    }
    const std::size_t n_blocks = ((i1 - i0 + kRows - 1) / kRows) * ((j1 - j0 + kPanel - 1) / kPanel);
    if (me.partial.size() < n_blocks) me.partial.resize(n_blocks);
    for (std::size_t k0 = 0; k0 < n; k0 += kc) {
        const std::size_t kn = std::min(kc, n - k0);
        const bool first = k0 == 0, last = k0 + kn == n;
        std::size_t q = 0;
        for (std::size_t i = i0; i < i1; i += kRows) {
            const double* a = s.rows.panel(i / kPanel) + i % kPanel + k0 * kPanel;
            for (std::size_t j = j0; j < j1; j += kPanel, ++q) {
                if (!needed(i, j)) continue;
                Block8x16& acc = me.partial[q];
                if (first) acc = Block8x16{};
                if (!last) {
                    gram_accumulate(a, s.cols.panel(j / kPanel) + k0 * kPanel, kn, acc);
                    continue;
                }
                Block8x16 blk = acc;
                gram_accumulate(a, s.cols.panel(j / kPanel) + k0 * kPanel, kn, blk);
                ++me.blocks;
                score(me, blk, s, i, j, L);
            }
        }
    }
}

}  // namespace formulasearch::detail
