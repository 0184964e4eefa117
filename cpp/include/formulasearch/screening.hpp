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

class TaskPartition;  // multitask.hpp

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
    // Multi-task SIS (multitask.hpp): score by the mean over these tasks of
    // each task's r^2 (ranks as the quadrature sum of the per-task
    // correlations). Null: one task. Not with rank_splits. The filters and
    // deduplication stay over all samples, so a ScreenCache serves both.
    const TaskPartition* tasks = nullptr;
    std::size_t block = 16384;      // candidates per streaming block
    // Duplicate keys (string and value) held for an exact deduplication. Past
    // this many, a key is remembered only when its candidate enters the top
    // list, so memory stays bounded on spaces of billions: the top list is the
    // same (a duplicate scores as its original, which could not enter either,
    // up to ties in the last bits), the duplicate counts become lower bounds.
    std::size_t dedup_limit = std::size_t{1} << 23;
    // One block of the source (scale-out: each worker screens a block, the
    // top lists merge by score then index): only indices [begin, end) are
    // screened; end past the source's size means its end. A block after the
    // first of a source with string duplicates is refused (the earlier
    // blocks' strings are not known here).
    std::uint64_t begin = 0;
    std::uint64_t end = std::numeric_limits<std::uint64_t>::max();
    // Value dedup of a block: the value hashes of the candidates before
    // `begin` that the block's candidates may repeat. A candidate with one of
    // them is a value duplicate, as in a screening of the whole source. Null: none.
    const std::vector<std::uint64_t>* earlier_values = nullptr;
    // Record each kept candidate's value hash (ScreenResult::kept_index /
    // kept_hash), so that the blocks' duplicates of each other can be found.
    bool report_values = false;
};

// The ranking score of a candidate, larger is better: R^2 of the 1D OLS fit
// with intercept (ranking by R^2 is ranking by RMSE); with several targets
// (residuals of earlier models, as in SISSO's SIS) the largest R^2 over them;
// with rank_splits, minus the mean test MSE over the splits; with tasks, the
// mean over the tasks of the per-task R^2 (the largest over the targets).
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
    // Past ScreenOptions::dedup_limit keys, a candidate's key was forgotten
    // (it did not enter the top list): the duplicate counts (and so n_kept)
    // count only the duplicates of candidates that were remembered.
    bool dedup_bounded = false;
};

struct ScreenResult : ScreenCounts {
    std::vector<ScoredCandidate> top;  // best first
    bool score_is_r2 = true;           // false: minus the mean test MSE (ranked by rank_splits)
    // With options.report_values and value dedup: every kept candidate and its
    // value hash, in generation order (n_kept of each).
    std::vector<std::uint64_t> kept_index, kept_hash;
};

// What one screening of a source found usable, kept within a memory budget so
// that screening the same source again against other targets (SIS on the
// residuals of each dimension) scores the usable candidates without
// generating, filtering and deduplicating them again: the candidates that
// passed the filters and the deduplication (which do not depend on the target),
// in generation order, with their values and moments. Screening through a
// cache gives bit for bit the result of screening without one.
//
// screen() fills an empty cache (or one made for another source or other
// filter options) while it streams; when the candidates would need more than
// the budget it drops them and marks the cache over budget, and later
// screenings stream as without a cache. A cache belongs to one source in one
// state (clear() it after SissoSpace::advance) and to one screening at a time.
class ScreenCache {
public:
    explicit ScreenCache(std::size_t budget_bytes) : budget_bytes_(budget_bytes) {}

    std::size_t budget_bytes() const { return budget_bytes_; }
    // Holds a complete screening, ready to be reused.
    bool ready() const { return ready_; }
    // A screening found more than the budget holds (the cache stays empty).
    bool over_budget() const { return over_budget_; }
    std::size_t size() const { return index_.size(); }
    // Memory the held candidates use.
    std::size_t bytes() const { return (values_.size() + index_.size() + mean_.size() + sxx_.size()) * 8; }
    // Forget everything (the key included).
    void clear();

    // For screen() (and its tests): the cache's state.
    bool matches(const CandidateSource& source, const ScreenOptions& opt) const;
    void start(const CandidateSource& source, const ScreenOptions& opt);  // empty, for this source and options
    // Adds one usable candidate; false (and the cache emptied, over budget) when it does not fit.
    bool add(std::uint64_t index, const double* x, std::size_t n, double mean, double sxx);
    void finish(const ScreenCounts& counts);  // a complete screening: ready
    const ScreenCounts& counts() const { return counts_; }
    const std::vector<std::uint64_t>& index() const { return index_; }
    const double* values(std::size_t k) const { return values_.data() + k * n_; }
    double mean(std::size_t k) const { return mean_[k]; }
    double sxx(std::size_t k) const { return sxx_[k]; }

private:
    void drop();  // frees the candidates, keeps the key
    std::size_t budget_bytes_;
    bool ready_ = false, over_budget_ = false, started_ = false;
    // The key: source and filter options.
    const CandidateSource* source_ = nullptr;
    std::uint64_t source_size_ = 0;
    std::size_t n_ = 0;
    std::size_t capacity_ = 0;  // candidates the budget holds
    double variance_filter_ = 0, max_abs_ = 0, min_abs_ = 0;
    Dedup dedup_ = Dedup::Value;
    ScreenCounts counts_;
    std::vector<std::uint64_t> index_;
    std::vector<double> mean_, sxx_, values_;
};

ScreenResult screen(const CandidateSource& source, const std::vector<double>& target,
                    const ScreenOptions& options, Progress* progress = nullptr, ScreenCache* cache = nullptr);
ScreenResult screen(const CandidateSource& source, const std::vector<std::vector<double>>& targets,
                    const ScreenOptions& options, Progress* progress = nullptr, ScreenCache* cache = nullptr);

// Values of the given candidates, row-major (indices.size() x n_samples).
std::vector<double> evaluate_candidates(const CandidateSource& source, const std::vector<std::uint64_t>& indices);

}  // namespace formulasearch
