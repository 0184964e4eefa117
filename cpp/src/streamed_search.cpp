#include "formulasearch/streamed_search.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "pair_tiles.hpp"

#ifdef _OPENMP
#include <omp.h>
#else
inline int omp_get_max_threads() { return 1; }
inline int omp_get_thread_num() { return 0; }
#endif

namespace formulasearch {

namespace {

// Bytes one thread's running sums take for a T x T tile.
std::size_t partial_bytes(std::size_t tile) {
    return (tile / detail::kRows) * (tile / detail::kPanel) * sizeof(detail::Block8x16);
}

// All tile pairs of one block pair, searched in parallel; the threads' top-k
// lists carry over from block pair to block pair.
void search_block_pair(std::vector<detail::PerThread>& threads, const detail::PairSides& sides, std::size_t tile,
                       std::size_t kc, const detail::PairLimits& limits) {
    const std::size_t rows = sides.rows.size(), cols = sides.cols.size();
    std::vector<std::pair<std::size_t, std::size_t>> tiles;
    for (std::size_t i = 0; i < rows; i += tile)
        for (std::size_t j = sides.same() ? i : 0; j < cols; j += tile) tiles.emplace_back(i, j);
    const auto n_tiles = static_cast<long long>(tiles.size());
#pragma omp parallel
    {
        detail::PerThread& me = threads[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 1)
        for (long long q = 0; q < n_tiles; ++q) {
            const auto [i, j] = tiles[static_cast<std::size_t>(q)];
            detail::pair_tile(me, sides, i, std::min(rows, i + tile), j, std::min(cols, j + tile), kc, limits);
        }
    }
}

}  // namespace

std::size_t streamed_block_size(std::size_t n, std::size_t budget, const SearchOptions& opt) {
    const std::size_t threads = static_cast<std::size_t>(omp_get_max_threads());
    const std::size_t fixed = threads * partial_bytes(opt.tile) + 2 * n * sizeof(double);  // + target, evaluation rows
    const std::size_t per_candidate = 2 * (n + 2) * sizeof(double);                        // two blocks
    const std::size_t c = budget > fixed ? (budget - fixed) / per_candidate : 0;
    if (c < 16)
        throw std::invalid_argument("memory budget too small: two blocks of 16 candidates need " +
                                    std::to_string((fixed + 16 * per_candidate + (1u << 20) - 1) >> 20) + " MB or more");
    return c >= opt.tile ? c / opt.tile * opt.tile : c / 16 * 16;
}

SearchResult search_pairs_streamed(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                   const double* target, const SearchOptions& opt, std::size_t budget,
                                   Progress* progress) {
    if (opt.keep == 0) throw std::invalid_argument("keep must be at least 1");
    if (opt.tile == 0 || opt.tile % 16) throw std::invalid_argument("tile must be a positive multiple of 16");
    if (opt.first != 0 || opt.last != SearchOptions{}.last)
        throw std::invalid_argument("the streamed pair search does not take a slice (first / last)");
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t K = indices.size(), n = source.n_samples();
    const std::size_t block = streamed_block_size(n, budget, opt);
    const std::size_t n_blocks = std::max<std::size_t>(1, (K + block - 1) / block);
    const std::size_t kc = opt.sample_block ? opt.sample_block : detail::default_sample_block(opt.tile);
    const double lim = detail::pair_limit(opt);
    const detail::PairLimits limits{lim * lim, opt.singular_tol};
    std::vector<detail::PerThread> threads(static_cast<std::size_t>(omp_get_max_threads()), detail::PerThread(opt.keep));

    auto build = [&](std::size_t b) {
        const auto lo = indices.begin() + static_cast<std::ptrdiff_t>(b * block);
        const auto hi = indices.begin() + static_cast<std::ptrdiff_t>(std::min(K, (b + 1) * block));
        return std::make_unique<StandardizedSet>(source, std::vector<std::uint64_t>(lo, hi), target);
    };
    auto begin_of = [&](std::size_t b) { return b * block; };
    const std::uint64_t total = count_combinations(K, 2, 0, K);
    std::uint64_t done = 0;
    std::size_t peak = 0;
    bool cancelled = false;
    // Row block A is held while the later column blocks B stream past it, last
    // to first: the final one, A + 1, stays to be the next row block (one
    // evaluation of a block saved per row block).
    std::unique_ptr<StandardizedSet> next_rows;
    for (std::size_t a = 0; a < n_blocks && !cancelled && K > 0; ++a) {
        const std::unique_ptr<StandardizedSet> rows = next_rows ? std::move(next_rows) : build(a);
        for (std::size_t b = n_blocks - 1; b + 1 > a && !cancelled; --b) {
            std::unique_ptr<StandardizedSet> other = b == a ? nullptr : build(b);
            const StandardizedSet& cols = other ? *other : *rows;
            peak = std::max(peak, rows->memory_bytes() + (other ? other->memory_bytes() : 0));
            search_block_pair(threads, detail::PairSides{*rows, cols, begin_of(a), begin_of(b)}, opt.tile, kc, limits);
            done += b == a ? count_combinations(rows->size(), 2, 0, rows->size()) : rows->size() * cols.size();
            cancelled = !keep_going(progress, "pairs", done, total);
            if (b == a + 1) next_rows = std::move(other);
        }
    }
    SearchResult res = detail::merge(threads, opt.keep);
    res.n_combinations = total;
    for (const auto& t : threads) {
        res.gram_flops += t.blocks * detail::kRows * detail::kPanel * n * 2;
        peak += t.partial.size() * sizeof(detail::Block8x16);
    }
    res.peak_bytes = peak + 2 * n * sizeof(double);
    res.cancelled = cancelled;
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

}  // namespace formulasearch
