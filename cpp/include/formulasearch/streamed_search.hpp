// Exhaustive pair and triple search over many candidates and samples within a
// memory budget: the candidates are evaluated and standardised a block at a
// time, so the K x n standardised values are never held at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/combination_search.hpp"
#include "formulasearch/progress.hpp"

namespace formulasearch {

// Candidates per block of a streamed search of dimension `dim` (2 or 3) over
// `candidates` candidates and n samples, so that two blocks and the kernels'
// buffers (pairs: per-thread running sums; triples: the K x K correlations)
// fit in `memory_budget_bytes`: a multiple of options.tile when that is
// possible, else of 16. Throws if not even 16 candidates fit.
std::size_t streamed_block_size(int dim, std::size_t candidates, std::size_t n_samples,
                                std::size_t memory_budget_bytes, const SearchOptions& options);

// The same result as search_pairs over StandardizedSet(source, indices, target)
// (members as positions in `indices`, scores bitwise equal, same order and
// counters), holding at most two blocks of candidates. Each block pair (A, B),
// A <= B, is searched once; block B is re-evaluated for most A before it
// (about nb^2 / 2 block evaluations for nb blocks).
// A slice options.first / options.last (pairs whose first member's position
// lies in [first, last); both multiples of 16, or last >= the pool's size)
// gives search_pairs' result for that slice: its blocks start at `first`
// and only row blocks before `last` are visited, each with the column blocks
// from it onward, so a slice costs its part of the work (and the same memory
// bound). Merged, the slices of a partition give the whole search.
// peak_bytes reports the blocks and buffers held at once.
SearchResult search_pairs_streamed(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                   const double* target, const SearchOptions& options,
                                   std::size_t memory_budget_bytes, Progress* progress = nullptr);

// The same result as search_triples over StandardizedSet(source, indices,
// target): the K x K correlations (8 K^2 bytes, which must fit in the budget)
// are computed block pair by block pair from at most two blocks, then scored.
// A slice (first and last as for pairs) computes the correlations among
// positions from `first` on only, and scores triples whose first member is in
// [first, last); the K x K matrix is still allocated whole.
SearchResult search_triples_streamed(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                     const double* target, const SearchOptions& options,
                                     std::size_t memory_budget_bytes, Progress* progress = nullptr);

}  // namespace formulasearch
