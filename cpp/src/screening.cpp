#include "formulasearch/screening.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "formulasearch/multitask.hpp"
#include "formulasearch/top_k.hpp"
#include "candidate_stream.hpp"
#include "openmp_shim.hpp"
#include "lane_sum.hpp"
#include "standardize.hpp"

namespace formulasearch {

namespace {

using detail::lane_sum;
using detail::Moments;

// The centred targets: one for a plain screen, several for SIS on residuals.
struct Targets {
    std::vector<std::vector<double>> centred;
    std::vector<double> ss;  // sum of squares of each
    std::vector<TaskTarget> by_task;  // with ScreenOptions::tasks: each centred within each task
};

// Mean test MSE of the 1D OLS fit over train/test splits, in closed form:
// each split's training sums are the full sums minus its test part, so no
// refit touches the training samples. Works on centred values for accuracy.
double mean_split_mse(const double* x, std::size_t n, double mean, double sxx, const Targets& targets,
                      const std::vector<std::vector<std::uint32_t>>& splits) {
    const double* yc = targets.centred[0].data();
    double sx = 0, sy = 0, sxy = 0;
    for (std::size_t s = 0; s < n; ++s) {
        const double d = x[s] - mean;
        sx += d, sy += yc[s], sxy += d * yc[s];
    }
    double total = 0;
    for (const auto& test : splits) {
        double tx = 0, ty = 0, txx = 0, txy = 0;
        for (auto t : test) {
            const double d = x[t] - mean;
            tx += d, ty += yc[t], txx += d * d, txy += d * yc[t];
        }
        const double m = static_cast<double>(n - test.size());
        const double mx = (sx - tx) / m, my = (sy - ty) / m;
        const double vxx = (sxx - txx) - m * mx * mx, vxy = (sxy - txy) - m * mx * my;
        const double slope = vxx > 0 ? vxy / vxx : 0.0;
        const double icpt = my - slope * mx;
        double sse = 0;
        for (auto t : test) {
            const double e = yc[t] - icpt - slope * (x[t] - mean);
            sse += e * e;
        }
        total += sse / static_cast<double>(test.size());
    }
    return total / static_cast<double>(splits.size());
}

// The ranking score of a candidate that passed the common filters (see ScoredCandidate).
double score_of(const double* x, std::size_t n, const Moments& m, const Targets& targets, const ScreenOptions& opt) {
    if (opt.rank_splits) return -mean_split_mse(x, n, m.mean, m.sxx, targets, *opt.rank_splits);
    double r2 = 0;
    if (opt.tasks) {
        for (const TaskTarget& t : targets.by_task) r2 = std::max(r2, task_correlation_score(x, t, *opt.tasks));
        return r2;
    }
    for (std::size_t t = 0; t < targets.centred.size(); ++t) {
        const double* yc = targets.centred[t].data();
        const double sxy = lane_sum(n, [&](std::size_t s) { return (x[s] - m.mean) * yc[s]; });
        r2 = std::max(r2, sxy * sxy / (m.sxx * targets.ss[t]));
    }
    return r2;
}

// Screening from a ready cache: the usable candidates, scored in parallel a
// block at a time and pushed in generation order (as the stream does).
void screen_cached(const ScreenCache& cache, std::uint64_t n_indices, std::size_t n, const Targets& tg,
                   const ScreenOptions& opt, Progress* progress, ScreenResult& res, TopK<ScoredCandidate>& top) {
    static_cast<ScreenCounts&>(res) = cache.counts();
    const std::vector<std::uint64_t>& index = cache.index();
    std::vector<double> scores;
    for (std::size_t begin = 0; begin < index.size(); begin += opt.block) {
        const std::size_t end = std::min(index.size(), begin + opt.block);
        scores.resize(end - begin);
        const auto m = static_cast<long long>(end - begin);
#pragma omp parallel for schedule(static)
        for (long long k = 0; k < m; ++k) {
            const std::size_t c = begin + static_cast<std::size_t>(k);
            scores[static_cast<std::size_t>(k)] = score_of(cache.values(c), n, Moments{cache.mean(c), cache.sxx(c)}, tg, opt);
        }
        for (std::size_t c = begin; c < end; ++c) top.push({scores[c - begin], index[c]});
        const std::uint64_t done = end == index.size() ? n_indices : index[end];
        if (!keep_going(progress, "screening", done, n_indices)) {
            res.cancelled = done < n_indices;
            res.n_screened = done;
            break;
        }
    }
}

}  // namespace

void ScreenCache::drop() {
    ready_ = false;
    capacity_ = 0;
    counts_ = ScreenCounts{};
    std::vector<std::uint64_t>().swap(index_);
    std::vector<double>().swap(mean_);
    std::vector<double>().swap(sxx_);
    std::vector<double>().swap(values_);
}

void ScreenCache::clear() {
    drop();
    over_budget_ = started_ = false;
    source_ = nullptr;
}

bool ScreenCache::matches(const CandidateSource& source, const ScreenOptions& opt) const {
    return started_ && source_ == &source && source_size_ == source.size() && n_ == source.n_samples() &&
           variance_filter_ == opt.variance_filter && max_abs_ == opt.max_abs && min_abs_ == opt.min_abs &&
           dedup_ == opt.dedup;
}

void ScreenCache::start(const CandidateSource& source, const ScreenOptions& opt) {
    clear();
    started_ = true;
    source_ = &source;
    source_size_ = source.size();
    n_ = source.n_samples();
    variance_filter_ = opt.variance_filter;
    max_abs_ = opt.max_abs;
    min_abs_ = opt.min_abs;
    dedup_ = opt.dedup;
    // Room for every candidate, or as many as the budget holds (reserved, not
    // touched: memory is used as candidates come). The stream holds one block
    // of values besides: that must fit too.
    const double per = (static_cast<double>(n_) + 3.0) * 8.0;
    const double block = static_cast<double>(std::min<std::uint64_t>(opt.block, source_size_)) * static_cast<double>(n_) * 8.0;
    const double room = static_cast<double>(budget_bytes_) - block;
    if (!(room >= per)) {
        over_budget_ = true;
        return;
    }
    capacity_ = static_cast<std::size_t>(std::min(static_cast<double>(source_size_), std::floor(room / per)));
    index_.reserve(capacity_);
    mean_.reserve(capacity_);
    sxx_.reserve(capacity_);
    values_.reserve(capacity_ * n_);
}

bool ScreenCache::add(std::uint64_t index, const double* x, std::size_t n, double mean, double sxx) {
    if (over_budget_ || n != n_) return false;
    if (index_.size() >= capacity_) {
        drop();
        over_budget_ = true;  // keeps its key: the same screening is not cached again
        return false;
    }
    index_.push_back(index);
    mean_.push_back(mean);
    sxx_.push_back(sxx);
    values_.insert(values_.end(), x, x + n);
    return true;
}

void ScreenCache::finish(const ScreenCounts& counts) {
    if (over_budget_) return;  // already empty
    if (counts.dedup_bounded) {  // it holds duplicates an exact deduplication drops: not reusable as it is
        drop();
        over_budget_ = true;
        return;
    }
    if (counts.cancelled) {
        clear();
        return;
    }
    counts_ = counts;
    ready_ = true;
}

ScreenResult screen(const CandidateSource& source, const std::vector<double>& target, const ScreenOptions& opt,
                    Progress* progress, ScreenCache* cache) {
    return screen(source, std::vector<std::vector<double>>{target}, opt, progress, cache);
}

ScreenResult screen(const CandidateSource& source, const std::vector<std::vector<double>>& targets,
                    const ScreenOptions& opt, Progress* progress, ScreenCache* cache) {
    const std::size_t n = source.n_samples();
    if (targets.empty()) throw std::invalid_argument("no target to screen against");
    if (opt.rank_splits) {
        if (targets.size() != 1) throw std::invalid_argument("ranking by splits needs a single target");
        if (opt.rank_splits->empty()) throw std::invalid_argument("ranking by splits needs at least one split");
        for (const auto& t : *opt.rank_splits) {
            if (t.empty() || t.size() + 3 > n) throw std::invalid_argument("each split needs a test part and 3 training samples");
            for (auto i : t)
                if (i >= n) throw std::out_of_range("split sample index out of range");
        }
    }
    if (n < 3) throw std::invalid_argument("need at least 3 samples to fit a line and judge it");
    if (opt.tasks) {
        if (opt.rank_splits) throw std::invalid_argument("ranking by splits is for a single task");
        if (opt.tasks->n_samples() != n) throw std::invalid_argument("the task labels do not match the samples");
    }
    Targets tg;
    for (const auto& target : targets) {
        if (target.size() != n) throw std::invalid_argument("target length does not match the number of samples");
        // The mean by a plain running sum rather than detail::mean_of: the
        // scores' last bits rank exact ties (x/y - 1 and x/y + 1 fit alike),
        // and the screening's order is kept as it was.
        double ymean = 0;
        for (double v : target) ymean += v;
        ymean /= static_cast<double>(n);
        std::vector<double> yc(n);
        for (std::size_t s = 0; s < n; ++s) yc[s] = target[s] - ymean;
        const double syy = detail::centred_squares(target.data(), n, ymean);
        if (opt.tasks) {
            tg.by_task.push_back(task_target(target.data(), *opt.tasks));
            const auto& ss = tg.by_task.back().ss;
            if (std::none_of(ss.begin(), ss.end(), [](double v) { return v > 0; }))
                throw std::invalid_argument("the target is constant over every task: nothing to fit");
        } else if (!(syy > 0)) {
            throw std::invalid_argument("the target is constant: nothing to fit");
        }
        tg.centred.push_back(std::move(yc));
        tg.ss.push_back(syy);
    }

    ScreenResult res;
    res.score_is_r2 = opt.rank_splits == nullptr;
    TopK<ScoredCandidate> top(opt.keep);
    auto score = [&](const double* x, std::size_t len, const Moments& m) { return score_of(x, len, m, tg, opt); };
    auto keep = [&](double s, std::uint64_t index) { return top.push({s, index}); };
    if (opt.block == 0) throw std::invalid_argument("block size must be positive");
    const bool whole = opt.begin == 0 && opt.end >= source.size() && !opt.earlier_values;
    if (cache && !whole) throw std::invalid_argument("a screening cache holds whole screenings, not blocks");
    std::pair<std::vector<std::uint64_t>, std::vector<std::uint64_t>> values;
    auto* report = opt.report_values ? &values : nullptr;
    if (cache && cache->ready() && cache->matches(source, opt)) {
        screen_cached(*cache, source.size(), n, tg, opt, progress, res, top);
    } else if (cache && !(cache->matches(source, opt) && cache->over_budget())) {
        cache->start(source, opt);
        if (cache->over_budget()) {
            detail::stream_candidates<double>(source, opt, progress, "screening", res, score, keep);
        } else {
            detail::stream_candidates<double>(source, opt, progress, "screening", res, score, keep,
                                              [&](std::uint64_t index, const double* x, const Moments& m) {
                                                  cache->add(index, x, n, m.mean, m.sxx);
                                              });
        }
        cache->finish(res);
    } else {
        detail::stream_candidates<double>(source, opt, progress, "screening", res, score, keep, nullptr, report);
    }
    res.kept_index = std::move(values.first);
    res.kept_hash = std::move(values.second);
    res.top = top.sorted();
    return res;
}

std::vector<double> evaluate_candidates(const CandidateSource& source, const std::vector<std::uint64_t>& indices) {
    const std::size_t n = source.n_samples();
    std::vector<double> out(indices.size() * n);
    const auto m = static_cast<long long>(indices.size());
#pragma omp parallel for schedule(static) if (m * static_cast<long long>(n) > detail::kParallelMinWork)
    for (long long i = 0; i < m; ++i) source.evaluate_range(indices[i], indices[i] + 1, out.data() + i * n);
    return out;
}

}  // namespace formulasearch
