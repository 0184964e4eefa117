// Multi-task SISSO (Ouyang et al., J. Phys.: Mater. 2, 024002 (2019)): one
// descriptor shared by several tasks (related properties, or classes of
// materials), each task with its own intercept and coefficients.
//
// The samples are split into tasks by a label per sample. Two kernels:
// - SIS: a candidate's score against a target is the mean over the tasks of
//   r_t^2, r_t its Pearson correlation with the target over task t's samples
//   (0 where either is constant over the task). Ranking by it is ranking by
//   the quadrature sum sqrt(sum_t r_t^2) of the paper (ScreenOptions::tasks).
// - l0: every d-subset S of a pool scored by the total SSE of the per-task
//   least-squares fits (intercept and coefficients per task), reported as
//   r2 = 1 - SSE(S) / sum_t SST_t = sum_t (SST_t / sum SST) R_t^2(S), SST_t the
//   target's centred sum of squares over task t. A subset is skipped when a
//   pair of its members has |r| >= max_pair_corr over some task's samples, or
//   its correlation matrix over some task has determinant <= singular_tol (so
//   a member constant over a task is never chosen). Ties and the top-k order
//   are those of search_combinations (r2 descending, then members ascending),
//   the same for any thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/combination_search.hpp"
#include "formulasearch/progress.hpp"
#include "formulasearch/standardized_set.hpp"
#include "formulasearch/subset_search.hpp"

namespace formulasearch {

// Which task each sample belongs to: labels 0..T-1, every task with at least
// two samples (throws std::invalid_argument otherwise).
class TaskPartition {
public:
    explicit TaskPartition(std::vector<int> task_of_sample);
    std::size_t size() const { return samples_.size(); }  // tasks
    std::size_t n_samples() const { return task_of_.size(); }
    const std::vector<int>& task_of() const { return task_of_; }
    // The samples of task t, ascending.
    const std::vector<std::uint32_t>& samples(std::size_t t) const { return samples_[t]; }

private:
    std::vector<int> task_of_;
    std::vector<std::vector<std::uint32_t>> samples_;
};

// The target centred within each task, and its sum of squares over each task:
// what the SIS score needs of a target.
struct TaskTarget {
    std::vector<double> centred;  // per sample
    std::vector<double> ss;       // per task
};
TaskTarget task_target(const double* target, const TaskPartition& tasks);

// The SIS score of one candidate's values x against a task target: the mean
// over the tasks of r_t^2 (see above).
double task_correlation_score(const double* x, const TaskTarget& target, const TaskPartition& tasks);

// A pool of candidates standardised task by task: one StandardizedSet per task
// (that task's samples only, target included). A candidate constant over a
// task is kept there as a zero vector and marked unusable.
class MultiTaskSet {
public:
    // `values`: m candidates x n samples, row-major.
    MultiTaskSet(const double* values, std::size_t m, std::size_t n, const double* target, const TaskPartition& tasks);
    // The given candidates of a source (evaluated once, m x n values held while building).
    MultiTaskSet(const CandidateSource& source, const std::vector<std::uint64_t>& indices, const double* target,
                 const TaskPartition& tasks);

    std::size_t size() const { return m_; }
    std::size_t n_tasks() const { return sets_.size(); }
    const StandardizedSet& task(std::size_t t) const { return sets_[t]; }
    bool usable(std::size_t t, std::size_t i) const { return usable_[t * m_ + i] != 0; }
    // SST_t / sum_t SST_t: the weight of task t's R^2 in the score.
    double weight(std::size_t t) const { return weight_[t]; }
    std::size_t memory_bytes() const;

private:
    void build(const double* values, std::size_t n, const double* target, const TaskPartition& tasks);
    std::size_t m_ = 0;
    std::vector<StandardizedSet> sets_;
    std::vector<unsigned char> usable_;
    std::vector<double> weight_;
};

// The best d-subsets (1 <= d <= kMaxSubsetDim) of the pool by total SSE over
// the tasks (see above); options as for search_combinations (max_pair_corr,
// keep, singular_tol, tile and sample_block of the correlations, a slice
// first / last of the first member). Holds one m x m correlation matrix per
// task. Progress ("combinations", done, total); when it asks to stop, the
// result holds the best of the combinations evaluated until then.
SubsetSearchResult search_multitask(const MultiTaskSet& set, int d, const SearchOptions& options,
                                    Progress* progress = nullptr);

}  // namespace formulasearch
