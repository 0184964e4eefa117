// Internal: the two steps of the triple search, shared by the in-memory and
// the streamed one: filling the Gram matrix tile by tile, then scoring from it
// and the target correlations alone (not the candidates).
#pragma once

#include <cstddef>
#include <cstdint>

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
// Fills best, dim, n_scored, n_combinations (the triples of the rows completed) and
// cancelled; progress counts triples.
SearchResult score_triples(const double* G, std::size_t ld, const double* b, std::size_t m, const SearchOptions& options,
                           Progress* progress);

}  // namespace formulasearch::detail
