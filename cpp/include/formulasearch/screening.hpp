// Screening: evaluate every candidate once, drop the unusable ones (non-finite,
// nearly constant, duplicates) and keep the best by 1D least-squares fit.
// Streams over the candidates in blocks: memory is the kept top list plus the
// duplicate-detection keys, never the candidates' values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/progress.hpp"

namespace formulasearch {

enum class Dedup {
    String,  // the authors' rule: drop a formula whose string was seen before
    Value,   // also drop a formula whose values equal an earlier one's up to sign and scale
};

struct ScreenOptions {
    double variance_filter = 0.05;  // drop when |std/mean| < this (population std)
    // Drop when the largest |value| is above max_abs or below min_abs
    // (SISSO's fmax_max / fmax_min); defaults keep everything.
    double max_abs = std::numeric_limits<double>::infinity();
    double min_abs = 0.0;
    Dedup dedup = Dedup::Value;
    std::size_t keep = 5000;        // size of the returned top list
    // Rank by the mean test MSE of a 1D fit over these train/test splits (the
    // paper's protocol, e.g. 50 random 90/10 splits) instead of by R^2.
    // Null: rank by R^2. Needs a single target.
    const std::vector<std::vector<std::uint32_t>>* rank_splits = nullptr;
    std::size_t block = 16384;      // candidates per streaming block
};

// The ranking score of a candidate, larger is better: R^2 of the 1D OLS fit
// with intercept (ranking by R^2 is ranking by RMSE); with several targets
// (residuals of earlier models, as in SISSO's SIS) the largest R^2 over them;
// with rank_splits, minus the mean test MSE over the splits.
struct ScoredCandidate {
    double score;
    std::uint64_t index;
    // Better score first; equal scores in generation order.
    friend bool better(const ScoredCandidate& a, const ScoredCandidate& b) {
        return a.score != b.score ? a.score > b.score : a.index < b.index;
    }
};

// What a screening examined and what each filter dropped.
struct ScreenCounts {
    std::uint64_t n_candidates = 0;  // candidates generated (enumerated indices the rules allow)
    std::uint64_t n_screened = 0;    // indices examined: the whole enumeration unless cancelled
    std::uint64_t n_out_of_range = 0;
    std::uint64_t n_nonfinite = 0;
    std::uint64_t n_low_variance = 0;
    std::uint64_t n_string_duplicates = 0;
    std::uint64_t n_value_duplicates = 0;
    std::uint64_t n_kept = 0;
    bool cancelled = false;
};

struct ScreenResult : ScreenCounts {
    std::vector<ScoredCandidate> top;  // best first
    bool score_is_r2 = true;           // false: minus the mean test MSE (ranked by rank_splits)
};

ScreenResult screen(const CandidateSource& source, const std::vector<double>& target,
                    const ScreenOptions& options, Progress* progress = nullptr);
ScreenResult screen(const CandidateSource& source, const std::vector<std::vector<double>>& targets,
                    const ScreenOptions& options, Progress* progress = nullptr);

// Values of the given candidates, row-major (indices.size() x n_samples).
std::vector<double> evaluate_candidates(const CandidateSource& source, const std::vector<std::uint64_t>& indices);

}  // namespace formulasearch
