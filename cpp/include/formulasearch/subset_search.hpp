// Exhaustive search over combinations of any number d of standardised
// candidates (SISSO's l0 step beyond triples), exact least squares for each.
//
// Every d-subset of the pool is scored by its R^2 = b_S^T G_SS^{-1} b_S
// (kernels.md), with the rules of the pair and triple searches: a combination
// with a pairwise |r| >= max_pair_corr is skipped, one whose correlation
// matrix has determinant <= singular_tol is singular and skipped, and the best
// `keep` are kept in the same total order (r2 descending, then members
// ascending), the same for any number of threads.
//
// The search is a depth-first walk over ascending index tuples. Each node (a
// prefix S of l members) holds, for every candidate k that may still join it,
// the Cholesky column of k against S (w = L_S^-1 G_Sk), its Schur complement
// 1 - |w|^2 (the part of z_k not explained by S) and its residual correlation
// with the target b_k - w.u (u = L_S^-1 b_S). Adding one member extends those
// by one entry each in O(l); a leaf's R^2 is then R^2(S) + c^2 / q and its
// determinant det(S) * q, O(1) more. For d = 2 and 3 the tile kernels of
// combination_search.hpp are faster; this one is for d >= 4 (and agrees with
// them on d = 2, 3 to rounding).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/combination_search.hpp"
#include "formulasearch/standardized_set.hpp"
#include "formulasearch/progress.hpp"

namespace formulasearch {

// The largest number of members of one combination.
constexpr int kMaxSubsetDim = 8;

// A combination of `dim` members (positions in the pool, ascending; the
// entries past dim are 0).
struct Subset {
    double r2 = 0;
    int dim = 0;
    std::array<std::uint32_t, kMaxSubsetDim> members{};
    // Better fit first; equal fits by members, lexicographically (the order of
    // Combination).
    friend bool better(const Subset& a, const Subset& b) {
        if (a.r2 != b.r2) return a.r2 > b.r2;
        return a.members < b.members;
    }
};

struct SubsetSearchResult {
    std::vector<Subset> best;          // best first, at most keep
    int dim = 0;                       // members per combination
    std::uint64_t n_combinations = 0;  // d-subsets evaluated: the planned count unless cancelled
    std::uint64_t n_planned = 0;       // d-subsets of the search (of the slice, if one was given)
    std::uint64_t n_scored = 0;        // those passing the |r| limit and the singularity test
    std::uint64_t gram_flops = 0;      // flops spent on the correlations (2 per multiply-add)
    double seconds = 0;
    std::size_t peak_bytes = 0;
    std::size_t block_size = 0;        // candidates per block of a streamed search (0: held at once)
    bool cancelled = false;
};

// C(m, d), or throws std::invalid_argument when it exceeds 2^64 - 1.
std::uint64_t binomial(std::uint64_t m, int d);

// The best combinations of d members (1 <= d <= kMaxSubsetDim) of a set, from
// its m x m correlation matrix (computed once, 8 m^2 bytes). options: as for
// the triple search (max_pair_corr, keep, singular_tol, tile and sample_block
// of the correlations, a slice first / last of the first member).
// Progress ("combinations", done, total) is reported every few ten million
// combinations; when it asks to stop, the result holds the best of the
// combinations evaluated until then and n_combinations counts those.
SubsetSearchResult search_combinations(const StandardizedSet& set, int d, const SearchOptions& options,
                                       Progress* progress = nullptr);

// The same result over StandardizedSet(source, indices, target), holding the
// K x K correlations (which must fit in the budget) and at most two blocks of
// candidates, as search_triples_streamed does. first / last: multiples of 16.
SubsetSearchResult search_combinations_streamed(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                                const double* target, int d, const SearchOptions& options,
                                                std::size_t memory_budget_bytes, Progress* progress = nullptr);

}  // namespace formulasearch
