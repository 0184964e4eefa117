// Nested cross-validation in one sweep: the screening and the pair search of
// every outer fold from one pass over the candidates.
//
// The outer folds' test sets partition the samples. A training part's sums
// are the full sums minus its fold's own sums, so one evaluation of a
// candidate gives its training moments and 1D fit in every fold, and one
// sweep of Gram blocks (each fold's test-part products summed separately)
// gives every pair's training correlations in every fold:
//   G_train(i, j) = G(i, j) - T_f(i, j) - u_i u_j / m_f,
// with G = sum_f T_f, T_f the products over fold f's test samples, u_i the
// training sum of z_i and m_f the training size (kernels.md: centring with raw
// sums, here about the full mean for accuracy). A fold's results are those of
// screen / search_pairs run on its training part alone (the same members, in
// the same tie order); only the last bits of the scores differ.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/combination_search.hpp"
#include "formulasearch/progress.hpp"
#include "formulasearch/screening.hpp"

namespace formulasearch {

// The samples of a source, some of them (e.g. a fold's training part, in
// ascending order) or all reordered: candidate i's values are the source's at
// samples[0..]. Indices, strings and rules are the source's.
class SampleView final : public CandidateSource {
public:
    SampleView(const CandidateSource& source, std::vector<std::uint32_t> samples);
    std::uint64_t size() const override { return source_.size(); }
    std::size_t n_samples() const override { return samples_.size(); }
    Formula formula(std::uint64_t index) const override { return source_.formula(index); }
    void evaluate_range(std::uint64_t begin, std::uint64_t end, double* out) const override;
    bool has_string_duplicates() const override { return source_.has_string_duplicates(); }
    std::uint64_t string_key(std::uint64_t index) const override { return source_.string_key(index); }
    bool generated(std::uint64_t index) const override { return source_.generated(index); }

private:
    const CandidateSource& source_;
    std::vector<std::uint32_t> samples_;
};

// Outer folds: the test samples of each (together a partition of 0..n-1).
// Throws unless they partition the samples and each training part keeps 3.
struct OuterFolds {
    OuterFolds(std::vector<std::vector<std::uint32_t>> test_sets, std::size_t n_samples);
    std::size_t size() const { return test.size(); }
    std::vector<std::uint32_t> training(std::size_t fold) const;  // ascending
    std::vector<std::vector<std::uint32_t>> test;                  // ascending
    std::size_t n = 0;
    // The samples grouped fold by fold: fold f's at order[offset[f] .. offset[f + 1]).
    std::vector<std::uint32_t> order;
    std::vector<std::size_t> offset;
};

// The screening of each fold's training part: result f is screen(SampleView(
// source, folds.training(f)), targets of fold f, options) up to the last bits
// of the scores, from one evaluation of every candidate.
// `targets`: one list per fold of target vectors over all n samples (their
// test-part values are ignored), or a single list shared by every fold (the
// plain 1D screening; the fastest path). With several targets per fold the
// score is the largest R^2 over them (SIS on residuals).
// Not supported: rank_splits. Value duplicates are found among each fold's
// best: a fold's kept list is certified exact (every duplicate of a kept
// candidate has a score within 4 sqrt(m) 2^-30 of it, so it lies in the list);
// n_value_duplicates counts those found there only. `list_size`: the length of
// that list in the first pass (0: keep + keep / 4 + 64); a list too short to
// certify costs another pass with a longer one, a long one hashes every entry:
// a source with many duplicates (a SISSO rung) is faster with a longer one.
std::vector<ScreenResult> screen_folds(const CandidateSource& source, const OuterFolds& folds,
                                       const std::vector<std::vector<std::vector<double>>>& targets,
                                       const ScreenOptions& options, Progress* progress = nullptr,
                                       std::size_t list_size = 0);

// The pair search of every fold in one sweep: result f is search_pairs over
// StandardizedSet(SampleView(source, folds.training(f)), pools[f], target
// restricted to the training part), members as positions in pools[f], up to
// the last bits of r2. The union of the pools is swept once; a pair counts for
// fold f only if both members are in pools[f]. n_scored is not counted (0).
std::vector<SearchResult> search_pairs_folds(const CandidateSource& source, const OuterFolds& folds,
                                             const std::vector<double>& target,
                                             const std::vector<std::vector<std::uint64_t>>& pools,
                                             const SearchOptions& options, Progress* progress = nullptr);

// The triple search of every fold over its own pool: result f is search_triples over
// StandardizedSet(SampleView(source, folds.training(f)), pools[f], target restricted to
// the training part), bit for bit. The triple scoring is each fold's own (nothing is
// shared), so the folds run side by side, one per thread, each thread taking the next
// fold as it frees up; progress (folds done) after each fold the calling thread
// finishes; once cancelled, no fold starts. A fold not run is marked cancelled with no
// combination.
std::vector<SearchResult> search_triples_folds(const CandidateSource& source, const OuterFolds& folds,
                                               const std::vector<double>& target,
                                               const std::vector<std::vector<std::uint64_t>>& pools,
                                               const SearchOptions& options, Progress* progress = nullptr);

}  // namespace formulasearch
