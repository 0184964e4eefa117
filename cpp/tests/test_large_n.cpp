// Large n: chunked sample sums and the memory-bounded streamed searches give
// bitwise the results of the plain in-memory kernels.
#include <omp.h>

#include <algorithm>
#include <random>
#include <vector>

#include "check.hpp"
#include "matrix_source.hpp"
#include "formulasearch/combination_search.hpp"
#include "formulasearch/streamed_search.hpp"

using namespace formulasearch;
using fs_test::MatrixSource;

namespace {

bool same(const SearchResult& a, const SearchResult& b) {
    if (a.best.size() != b.best.size() || a.n_scored != b.n_scored || a.n_combinations != b.n_combinations) return false;
    for (std::size_t q = 0; q < a.best.size(); ++q)
        if (a.best[q].r2 != b.best[q].r2 || a.best[q].members != b.best[q].members) return false;
    return true;
}

// The slices' results merged as the Python tasks merge them: the best `keep`
// by the core's order, counters summed.
SearchResult merge_slices(const std::vector<SearchResult>& parts, std::size_t keep) {
    SearchResult all;
    for (const auto& p : parts) {
        all.best.insert(all.best.end(), p.best.begin(), p.best.end());
        all.n_scored += p.n_scored;
        all.n_combinations += p.n_combinations;
    }
    std::sort(all.best.begin(), all.best.end(), [](const Combination& a, const Combination& b) { return better(a, b); });
    if (all.best.size() > keep) all.best.resize(keep);
    return all;
}

}  // namespace

int main() {
    // Correlated random candidates (so the |r| limit bites) and a target on two.
    const std::size_t m = 150, n = 1500;
    std::mt19937 rng(5);
    std::normal_distribution<double> g;
    std::vector<double> v(m * n), y(n);
    for (auto& x : v) x = g(rng);
    for (std::size_t i = 1; i < m; i += 5)
        for (std::size_t s = 0; s < n; ++s) v[i * n + s] = v[(i - 1) * n + s] + 0.1 * g(rng);
    for (std::size_t s = 0; s < n; ++s) y[s] = v[7 * n + s] - 0.5 * v[90 * n + s] + g(rng);
    const StandardizedSet set(v.data(), m, n, y.data());

    SearchOptions whole;  // every sum in one pass: the reference
    whole.keep = 25;
    whole.tile = 32;
    whole.sample_block = n;
    const SearchResult p_ref = search_pairs(set, whole), t_ref = search_triples(set, whole);
    CHECK(p_ref.best.size() == whole.keep && t_ref.best.size() == whole.keep);

    // Chunked sums: any chunk size, tile and thread count, bitwise the same.
    for (std::size_t kc : {1, 7, 64, 128, 1000, 1499})
        for (std::size_t tile : {16, 32, 256})
            for (int threads : {1, 2, 3}) {
                omp_set_num_threads(threads);
                SearchOptions o = whole;
                o.sample_block = kc, o.tile = tile;
                CHECK(same(search_pairs(set, o), p_ref));
                CHECK(same(search_triples(set, o), t_ref));
            }

    // Gram tiles: chunked sums equal the one-pass ones entry by entry.
    std::vector<double> a(64 * 64), b(64 * 64);
    set.gram_tile(0, 64, 32, 64, a.data(), 64);
    set.gram_tile(0, 64, 32, 64, b.data(), 64, 13);
    CHECK(a == b);

    // Streamed: blocks of 16 .. all candidates, several threads, the same result.
    const MatrixSource source(v, m, n);
    std::vector<std::uint64_t> indices(m);
    for (std::size_t i = 0; i < m; ++i) indices[i] = (i * 37) % m;  // a permuted pool
    const StandardizedSet pooled(source, indices, y.data());
    const SearchResult pooled_ref = search_pairs(pooled, whole), pooled_ref3 = search_triples(pooled, whole);
    for (std::size_t budget_kb : {1200, 2000, 3000, 100000})
        for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            const SearchResult r = search_pairs_streamed(source, indices, y.data(), whole, budget_kb << 10);
            CHECK(same(r, pooled_ref));
            CHECK(r.peak_bytes <= (budget_kb << 10));
            CHECK(r.gram_flops >= pooled_ref.gram_flops);
            const SearchResult r3 = search_triples_streamed(source, indices, y.data(), whole, budget_kb << 10);
            CHECK(same(r3, pooled_ref3));
            CHECK(r3.peak_bytes <= (budget_kb << 10));
        }
    // A set refilled with fewer candidates equals a fresh one, padding included.
    StandardizedSet reused(source, std::vector<std::uint64_t>(indices.begin(), indices.begin() + 40), y.data());
    const std::vector<std::uint64_t> fewer(indices.begin() + 50, indices.begin() + 70);
    reused.assign(source, fewer, y.data());
    const StandardizedSet fresh(source, fewer, y.data());
    std::vector<double> ga(32 * 32), gb(32 * 32);
    reused.gram_tile(0, 32, 0, 32, ga.data(), 32);
    fresh.gram_tile(0, 32, 0, 32, gb.data(), 32);
    CHECK(reused.size() == 20 && ga == gb && reused.target_correlations() == fresh.target_correlations());
    CHECK(std::equal(reused.padded_correlations(), reused.padded_correlations() + 32, fresh.padded_correlations()));

    CHECK(streamed_block_size(2, m, n, 1200 << 10, whole) < m);
    CHECK(streamed_block_size(3, m, n, 1200 << 10, whole) < m);  // that budget does split the pool
    CHECK_THROWS(search_pairs_streamed(source, indices, y.data(), whole, 1000));
    CHECK_THROWS(search_triples_streamed(source, indices, y.data(), whole, 150 * 150 * 8));  // not even G fits

    // Streamed slices: each equals the in-memory slice (tile-aligned ones), and
    // any partition into slices merges to the whole search, for budgets that
    // split the pool into blocks of 16 .. all candidates and several threads.
    const std::vector<std::vector<std::size_t>> slicings = {
        {0, 150}, {0, 32, 150}, {0, 64, 96, 150}, {0, 16, 48, 112, 128, 200}, {0, 144, 160}};
    for (std::size_t budget_kb : {1200, 2000, 100000})
        for (int threads : {1, 3}) {
            omp_set_num_threads(threads);
            for (const auto& cuts : slicings) {
                std::vector<SearchResult> pairs, triples;
                for (std::size_t q = 0; q + 1 < cuts.size(); ++q) {
                    SearchOptions o = whole;
                    o.first = cuts[q], o.last = cuts[q + 1];
                    const SearchResult p = search_pairs_streamed(source, indices, y.data(), o, budget_kb << 10);
                    const SearchResult t = search_triples_streamed(source, indices, y.data(), o, budget_kb << 10);
                    CHECK(p.peak_bytes <= (budget_kb << 10) && t.peak_bytes <= (budget_kb << 10));
                    CHECK(p.n_combinations == count_combinations(m, 2, o.first, o.last));
                    if (o.first % whole.tile == 0 && (o.last >= m || o.last % whole.tile == 0)) {
                        CHECK(same(p, search_pairs(pooled, o)));
                        CHECK(same(t, search_triples(pooled, o)));
                    }
                    pairs.push_back(p), triples.push_back(t);
                }
                CHECK(same(merge_slices(pairs, whole.keep), pooled_ref));
                CHECK(same(merge_slices(triples, whole.keep), pooled_ref3));
            }
        }
    // A slice past the pool is empty; misaligned slices are refused.
    SearchOptions sliced = whole;
    sliced.first = 160;
    CHECK(search_pairs_streamed(source, indices, y.data(), sliced, 100000 << 10).best.empty());
    sliced.first = 8;
    CHECK_THROWS(search_pairs_streamed(source, indices, y.data(), sliced, 100000 << 10));
    sliced.first = 0, sliced.last = 40;
    CHECK_THROWS(search_triples_streamed(source, indices, y.data(), sliced, 100000 << 10));
    return fs_test::report("test_large_n");
}
