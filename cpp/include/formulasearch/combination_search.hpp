// Exhaustive search over pairs and triples of standardised candidates, scored
// in O(1) each from the Gram matrix, with a deterministic top-k.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formulasearch/standardized_set.hpp"
#include "formulasearch/progress.hpp"

namespace formulasearch {

struct SearchOptions {
    // A combination is valid only if every pairwise |r| among its members is
    // below this; >= 1 (or <= 0) disables the limit.
    double max_pair_corr = 0.90;
    std::size_t keep = 10;
    // Combinations whose correlation matrix has determinant <= this are
    // treated as singular and skipped (1 - r^2 for pairs).
    double singular_tol = 1e-10;
    std::size_t tile = 256;  // candidates per side of a Gram tile: a multiple of 16
    // Samples summed per pass over a tile (kc): large n is taken in chunks so
    // that a tile's operands stay in cache. 0 = automatic. Results are bitwise
    // the same for every value (each entry stays one sum in sample order).
    std::size_t sample_block = 0;
    // A slice of the work, for splitting one search into independent tasks:
    // only combinations whose first (smallest) member is in [first, last).
    // For pairs, first and last must be multiples of tile (or last >= size).
    std::size_t first = 0;
    std::size_t last = static_cast<std::size_t>(-1);
};

// Combinations of d members out of m whose first member is in [first, last)
// (any d >= 1; throws std::invalid_argument beyond 2^64 - 1).
std::uint64_t count_combinations(std::size_t m, int d, std::size_t first, std::size_t last);

// A combination of d members (positions in the StandardizedSet, ascending).
struct Combination {
    double r2 = 0;
    int dim = 0;
    std::array<std::uint32_t, 3> members{0, 0, 0};
    // Better fit first; equal fits by members, lexicographically.
    friend bool better(const Combination& a, const Combination& b) {
        if (a.r2 != b.r2) return a.r2 > b.r2;
        return a.members < b.members;
    }
};

struct SearchResult {
    std::vector<Combination> best;  // best first, at most keep
    int dim = 0;                    // members per combination: 2 (pairs) or 3 (triples)
    // d-subsets searched (of the slice, if one was given): all of them, or when
    // cancelled those of the completed tiles / rows, as the last progress report said.
    std::uint64_t n_combinations = 0;
    std::uint64_t n_scored = 0;        // those passing the |r| limit and the singularity test
    std::uint64_t gram_flops = 0;      // flops spent on cross-products (2 per multiply-add)
    double seconds = 0;                // wall time of the search
    std::size_t peak_bytes = 0;        // candidate values and work buffers held at once
    std::size_t block_size = 0;        // candidates per block of a streamed search (0: held at once)
    bool cancelled = false;
};

SearchResult search_pairs(const StandardizedSet& set, const SearchOptions& options, Progress* progress = nullptr);
SearchResult search_triples(const StandardizedSet& set, const SearchOptions& options, Progress* progress = nullptr);

}  // namespace formulasearch
