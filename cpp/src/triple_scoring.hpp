// Internal: the triple search's second step, which needs only the Gram matrix
// and the target correlations (not the candidates), so that the in-memory and
// the streamed triple search share it.
#pragma once

#include <cstddef>

#include "formulasearch/combination_search.hpp"
#include "formulasearch/progress.hpp"

namespace formulasearch::detail {

// Best triples of m candidates from G (row-major, leading dimension ld; only
// entries G[i][k], i < k, are read) and b (m correlations with the target).
// Fills best, n_scored, n_combinations and cancelled.
SearchResult score_triples(const double* G, std::size_t ld, const double* b, std::size_t m, const SearchOptions& options,
                           Progress* progress);

}  // namespace formulasearch::detail
