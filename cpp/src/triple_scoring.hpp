// Internal: the two steps of the triple search, shared by the in-memory and
// the streamed one: filling the Gram matrix tile by tile, then scoring from it
// and the target correlations alone (not the candidates).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"

#include "formulasearch/combination_search.hpp"
#include "formulasearch/standardized_set.hpp"
#include "formulasearch/progress.hpp"

namespace formulasearch::detail {

// The Gram entries of `rows` x `cols` into out (entry (i, j) at out[i * ld + j]),
// tiles of `tile` computed in parallel, samples summed in chunks of kc; with
// `upper` (rows and cols are one set) only the tiles on and above the diagonal,
// as the scoring reads G[i][k], i < k. Returns the flops.
std::uint64_t fill_gram(const StandardizedSet& rows, const StandardizedSet& cols, bool upper, std::size_t tile,
                        std::size_t kc, double* out, std::size_t ld);

// Best triples of m candidates from G (row-major, leading dimension ld; only
// entries G[i][k], i < k, are read) and b (m correlations with the target).
// Fills best, dim, n_scored, n_combinations (the triples of the rows completed),
// peak_bytes (what the scoring holds besides G: its pass bits and buffers) and
// cancelled; progress counts triples.
SearchResult score_triples(const double* G, std::size_t ld, const double* b, std::size_t m, const SearchOptions& options,
                           Progress* progress);

// The bytes score_triples holds besides G: a bit row per candidate (the pairs that pass the
// |r| limit), the squared correlations and each thread's gather buffers.
inline std::size_t triple_scoring_bytes(std::size_t m, std::size_t threads) {
    return m * ((m + 63) / 64) * sizeof(std::uint64_t) + m * sizeof(double) +
           threads * (m + 8) * (sizeof(std::uint32_t) + 3 * sizeof(double));
}

// The K x K correlations (upper triangle, leading dimension ld) and the
// correlations with the target of a pool evaluated a block at a time within a
// memory budget (streamed_block_size of `dim`, any dim but 2: K x K held);
// a slice options.first computes the entries among positions from first on.
struct StreamedCorrelations {
    std::vector<double> G, b;
    std::size_t ld = 0;
    std::size_t block = 0;  // candidates evaluated per block
    std::uint64_t flops = 0;
    std::size_t peak_bytes = 0;  // blocks, correlations and work buffers held at once
    bool cancelled = false;
};
StreamedCorrelations streamed_correlations(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                           const double* target, const SearchOptions& options, std::size_t budget,
                                           int dim, Progress* progress);

}  // namespace formulasearch::detail
