#include "formulasearch/streamed_search.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "pair_tiles.hpp"
#include "triple_scoring.hpp"

#include "openmp_shim.hpp"

namespace formulasearch {

namespace {

// Bytes one thread's running sums take for a T x T tile.
std::size_t partial_bytes(std::size_t tile) {
    return (tile / detail::kRows) * (tile / detail::kPanel) * sizeof(detail::Block8x16);
}

// All tile pairs of one block pair whose row lies below `row_end` (a local
// row position: the end of a slice within the row block), searched in
// parallel; the threads' top-k lists carry over from block pair to block pair.
void search_block_pair(std::vector<detail::PerThread>& threads, const detail::PairSides& sides, std::size_t row_end,
                       std::size_t tile, std::size_t kc, const detail::PairLimits& limits) {
    const std::size_t cols = sides.cols.size();
    std::vector<std::pair<std::size_t, std::size_t>> tiles;
    for (std::size_t i = 0; i < row_end; i += tile)
        for (std::size_t j = sides.same() ? i : 0; j < cols; j += tile) tiles.emplace_back(i, j);
    const auto n_tiles = static_cast<long long>(tiles.size());
#pragma omp parallel
    {
        detail::PerThread& me = threads[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(dynamic, 1)
        for (long long q = 0; q < n_tiles; ++q) {
            const auto [i, j] = tiles[static_cast<std::size_t>(q)];
            detail::pair_tile(me, sides, i, std::min(row_end, i + tile), j, std::min(cols, j + tile), kc, limits);
        }
    }
}

}  // namespace

std::size_t streamed_block_size(int dim, std::size_t K, std::size_t n, std::size_t budget, const SearchOptions& opt) {
    const std::size_t threads = static_cast<std::size_t>(omp_get_max_threads());
    const std::size_t ld = (K + 15) / 16 * 16;
    const std::size_t kernel = dim == 2 ? threads * partial_bytes(opt.tile)
                                        : ld * ld * sizeof(double) + K * sizeof(double) +
                                              (dim == 3 ? detail::triple_scoring_bytes(K, threads) : 0);
    const std::size_t fixed = kernel + 2 * n * sizeof(double);  // + target, evaluation rows
    const std::size_t per_candidate = 2 * (n + 2) * sizeof(double);  // two blocks
    const std::size_t c = budget > fixed ? (budget - fixed) / per_candidate : 0;
    if (c < 16)
        throw std::invalid_argument("memory budget too small: " +
                                    std::string(dim == 2 ? "two blocks of 16 candidates" : "the K x K correlations and two blocks of 16 candidates") +
                                    " need " + std::to_string((fixed + 16 * per_candidate + (1u << 20) - 1) >> 20) +
                                    " MB or more");
    return c >= opt.tile ? c / opt.tile * opt.tile : c / 16 * 16;
}

namespace {

void check_streamed(const SearchOptions& opt, std::size_t K) {
    detail::check_search_options(opt);
    // A slice's rows end on an 8-row block boundary of its blocks (which start at first).
    if (opt.first % 16 || (opt.last < K && opt.last % 16))
        throw std::invalid_argument("a slice of a streamed search must start and end on multiples of 16");
}

// The pool positions [first, K) in blocks of `block` candidates (the first
// block starting at `first`), evaluated and standardised on demand. Every
// block pair (A, B), A <= B, whose row block A starts before `row_end` is
// visited once with at most two blocks held: row block A while the later
// column blocks B stream past it, last to first, so that the final one, A + 1,
// stays to be the next row block (one evaluation of a block saved per row
// block). So a slice [first, last) costs its row blocks and the column blocks
// after them, not the whole pool. visit(rows, a0, row_limit, cols, b0) gets
// the blocks, the pool positions of their first candidates and how many of
// the row block's candidates lie before row_end (cols is rows for A = B), and
// returns false to stop. Returns the peak bytes of the blocks held at once.
template <class Visit>
std::size_t for_each_block_pair(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                const double* target, std::size_t block, std::size_t first, std::size_t row_end,
                                Visit&& visit) {
    const std::size_t K = indices.size();
    if (first >= K) return 0;
    row_end = std::min(row_end, K);
    const std::size_t n_blocks = (K - first + block - 1) / block;
    const std::size_t n_row_blocks = row_end > first ? (row_end - first + block - 1) / block : 0;
    auto start = [&](std::size_t b) { return first + b * block; };
    // A block no longer needed is the storage of the next one built (fresh
    // pages of hundreds of MB cost more to fault in than to fill). The walk
    // below never has more than two blocks allocated: a spare exists only
    // between the end of one block's use and the next build.
    std::unique_ptr<StandardizedSet> spare;
    auto build = [&](std::size_t b) {
        const auto lo = indices.begin() + static_cast<std::ptrdiff_t>(start(b));
        const auto hi = indices.begin() + static_cast<std::ptrdiff_t>(std::min(K, start(b + 1)));
        const std::vector<std::uint64_t> part(lo, hi);
        if (!spare) return std::make_unique<StandardizedSet>(source, part, target);
        std::unique_ptr<StandardizedSet> set = std::move(spare);
        set->assign(source, part, target);
        return set;
    };
    std::size_t peak = 0;
    std::unique_ptr<StandardizedSet> next_rows;
    for (std::size_t a = 0; a < n_row_blocks; ++a) {
        std::unique_ptr<StandardizedSet> rows = next_rows ? std::move(next_rows) : build(a);
        const std::size_t row_limit = std::min(rows->size(), row_end - start(a));
        for (std::size_t b = n_blocks - 1; b + 1 > a; --b) {
            std::unique_ptr<StandardizedSet> other = b == a ? nullptr : build(b);
            peak = std::max(peak, rows->memory_bytes() + (other ? other->memory_bytes() : 0));
            if (!visit(*rows, start(a), row_limit, other ? *other : *rows, start(b))) return peak;
            if (b == a + 1 && b < n_row_blocks)
                next_rows = std::move(other);
            else if (other)
                spare = std::move(other);
        }
        spare = std::move(rows);
    }
    return peak;
}

std::size_t round_up16(std::size_t x) { return (x + 15) / 16 * 16; }

}  // namespace

SearchResult search_pairs_streamed(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                   const double* target, const SearchOptions& opt, std::size_t budget,
                                   Progress* progress) {
    check_streamed(opt, indices.size());
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t K = indices.size(), n = source.n_samples();
    const std::size_t block = streamed_block_size(2, K, n, budget, opt);
    const std::size_t kc = detail::sample_block(opt, opt.tile);
    const double lim = detail::pair_limit(opt);
    const detail::PairLimits limits{lim * lim, opt.singular_tol};
    std::vector<detail::PerThread> threads(static_cast<std::size_t>(omp_get_max_threads()), detail::PerThread(opt.keep));

    const std::uint64_t total = count_combinations(K, 2, opt.first, opt.last);
    std::uint64_t done = 0;
    bool cancelled = false;
    std::size_t peak = for_each_block_pair(source, indices, target, block, opt.first, opt.last,
        [&](const StandardizedSet& rows, std::size_t a0, std::size_t row_limit, const StandardizedSet& cols,
            std::size_t b0) {
            search_block_pair(threads, detail::PairSides{rows, cols, a0, b0}, row_limit, opt.tile, kc, limits);
            done += &rows == &cols ? count_combinations(rows.size(), 2, 0, row_limit) : row_limit * cols.size();
            cancelled = !keep_going(progress, "pairs", done, total);
            return !cancelled;
        });
    SearchResult res = detail::merge(threads, opt.keep);
    res.dim = 2;
    res.block_size = block;
    res.n_combinations = done;  // the pairs of the completed block pairs
    for (const auto& t : threads) {
        res.gram_flops += t.blocks * detail::kRows * detail::kPanel * n * 2;
        peak += t.partial.size() * sizeof(detail::Block8x16);
    }
    res.peak_bytes = peak + 2 * n * sizeof(double);
    res.cancelled = cancelled;
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

namespace detail {

StreamedCorrelations streamed_correlations(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                           const double* target, const SearchOptions& opt, std::size_t budget, int dim,
                                           Progress* progress) {
    check_streamed(opt, indices.size());
    const std::size_t K = indices.size(), n = source.n_samples(), T = opt.tile;
    StreamedCorrelations out;
    out.ld = round_up16(K);
    const std::size_t g_bytes = out.ld * out.ld * sizeof(double);
    const std::size_t block = streamed_block_size(dim, K, n, budget, opt);  // a multiple of 16
    out.block = block;
    const std::size_t kc = detail::sample_block(opt, T);
    // The upper triangle of the Gram matrix, block pair by block pair (the
    // scoring reads G[i][k], i < k, only), and the correlations with the
    // target, from each row block. A slice [first, last) reads rows and columns
    // from `first` on only (every member of its combinations is at first or
    // after), so only those are computed; the scoring then takes the slice's rows.
    out.G.assign(out.ld * out.ld, 0.0);
    out.b.assign(K, 0.0);
    std::uint64_t done = 0;
    const std::size_t from = std::min(opt.first, K);
    const std::uint64_t total = count_combinations(K - from, 2, 0, K - from);
    std::size_t peak = for_each_block_pair(source, indices, target, block, from, K,
        [&](const StandardizedSet& rows, std::size_t a0, std::size_t, const StandardizedSet& cols, std::size_t b0) {
            const bool same = &rows == &cols;
            if (same) std::copy(rows.target_correlations().begin(), rows.target_correlations().end(), out.b.begin() + a0);
            out.flops += detail::fill_gram(rows, cols, same, T, kc, out.G.data() + a0 * out.ld + b0, out.ld);
            done += same ? count_combinations(rows.size(), 2, 0, rows.size()) : rows.size() * cols.size();
            out.cancelled = !keep_going(progress, "correlations", done, total);
            return !out.cancelled;
        });
    out.peak_bytes = peak + g_bytes + (K + 2 * n) * sizeof(double);
    return out;
}

}  // namespace detail

SearchResult search_triples_streamed(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                     const double* target, const SearchOptions& opt, std::size_t budget,
                                     Progress* progress) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t K = indices.size();
    detail::StreamedCorrelations corr = detail::streamed_correlations(source, indices, target, opt, budget, 3, progress);
    SearchResult res;
    if (!corr.cancelled) res = detail::score_triples(corr.G.data(), corr.ld, corr.b.data(), K, opt, progress);
    res.dim = 3;
    res.block_size = corr.block;
    res.gram_flops = corr.flops;
    // The blocks are gone when the scoring runs; the correlations and the scoring's own bytes are not.
    res.peak_bytes = std::max(corr.peak_bytes, (corr.G.size() + corr.b.size()) * sizeof(double) + res.peak_bytes);
    res.cancelled = res.cancelled || corr.cancelled;
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

}  // namespace formulasearch
