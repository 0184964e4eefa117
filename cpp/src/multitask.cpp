#include "formulasearch/multitask.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "formulasearch/screening.hpp"
#include "formulasearch/top_k.hpp"
#include "pair_tiles.hpp"
#include "standardize.hpp"
#include "triple_scoring.hpp"

#include "openmp_shim.hpp"
#include "prefix_tasks.hpp"

// As in subset_search.cpp: every score is one fixed sequence of IEEE
// operations (explicit fma, no contraction: see CMakeLists), whatever thread
// or list position computes it, so results do not depend on the thread count.

namespace formulasearch {

namespace {

// Constant over a task's samples, up to the rounding of its mean: a feature
// that is exactly constant over a task (a task-wide setting, say) leaves
// centred values of order 1e-16 that must not count as signal.
bool nearly_constant(double sxx, double mean, std::size_t n) {
    return !(std::sqrt(sxx / static_cast<double>(n)) > 1e-12 * std::fabs(mean)) || !std::isfinite(sxx);
}

// Mean and centred sum of squares of x over some samples, plain running sums in sample order.
detail::Moments moments_over(const double* x, const std::vector<std::uint32_t>& idx) {
    double sum = 0;
    for (auto s : idx) sum += x[s];
    detail::Moments m;
    m.mean = sum / static_cast<double>(idx.size());
    for (auto s : idx) {
        const double d = x[s] - m.mean;
        m.sxx += d * d;
    }
    return m;
}

}  // namespace

TaskPartition::TaskPartition(std::vector<int> task_of_sample) : task_of_(std::move(task_of_sample)) {
    int top = -1;
    for (int t : task_of_) {
        if (t < 0) throw std::invalid_argument("task labels must be 0, 1, ..., T - 1");
        top = std::max(top, t);
    }
    if (top < 0) throw std::invalid_argument("no samples to split into tasks");
    samples_.resize(static_cast<std::size_t>(top) + 1);
    for (std::size_t s = 0; s < task_of_.size(); ++s)
        samples_[static_cast<std::size_t>(task_of_[s])].push_back(static_cast<std::uint32_t>(s));
    for (std::size_t t = 0; t < samples_.size(); ++t)
        if (samples_[t].size() < 2)
            throw std::invalid_argument("task " + std::to_string(t) + " has " + std::to_string(samples_[t].size()) +
                                        " samples: every task needs at least 2");
}

TaskTarget task_target(const double* target, const TaskPartition& tasks) {
    TaskTarget out;
    out.centred.assign(tasks.n_samples(), 0.0);
    out.ss.assign(tasks.size(), 0.0);
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        const auto& idx = tasks.samples(t);
        const detail::Moments m = moments_over(target, idx);
        if (nearly_constant(m.sxx, m.mean, idx.size())) continue;  // nothing to explain in this task
        for (auto s : idx) out.centred[s] = target[s] - m.mean;
        out.ss[t] = m.sxx;
    }
    return out;
}

double task_correlation_score(const double* x, const TaskTarget& target, const TaskPartition& tasks) {
    double total = 0;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        if (!(target.ss[t] > 0)) continue;
        const auto& idx = tasks.samples(t);
        const detail::Moments m = moments_over(x, idx);
        if (nearly_constant(m.sxx, m.mean, idx.size())) continue;  // r_t = 0
        double sxy = 0;
        for (auto s : idx) sxy += (x[s] - m.mean) * target.centred[s];
        total += sxy * sxy / (m.sxx * target.ss[t]);
    }
    return total / static_cast<double>(tasks.size());
}

MultiTaskSet::MultiTaskSet(const double* values, std::size_t m, std::size_t n, const double* target,
                           const TaskPartition& tasks)
    : m_(m) {
    build(values, n, target, tasks);
}

MultiTaskSet::MultiTaskSet(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                           const double* target, const TaskPartition& tasks)
    : m_(indices.size()) {
    for (auto i : indices)
        if (i >= source.size()) throw std::out_of_range("candidate index out of range");
    const std::vector<double> values = evaluate_candidates(source, indices);
    build(values.data(), source.n_samples(), target, tasks);
}

void MultiTaskSet::build(const double* values, std::size_t n, const double* target, const TaskPartition& tasks) {
    if (tasks.n_samples() != n) throw std::invalid_argument("the task labels do not match the samples");
    const std::size_t T = tasks.size(), m = m_;
    usable_.assign(T * m, 0);
    weight_.assign(T, 0.0);
    sets_.reserve(T);
    std::vector<double> sub, y;
    std::vector<unsigned char> bad;
    double total = 0;
    for (std::size_t t = 0; t < T; ++t) {
        const auto& idx = tasks.samples(t);
        const std::size_t nt = idx.size();
        y.resize(nt);
        for (std::size_t k = 0; k < nt; ++k) y[k] = target[idx[k]];
        const detail::Moments my = detail::moments_of(y.data(), nt);
        if (nearly_constant(my.sxx, my.mean, nt))
            throw std::invalid_argument("task " + std::to_string(t) + ": the target is constant over its samples");
        weight_[t] = my.sxx;
        total += my.sxx;
        sub.assign(m * nt, 0.0);
        const auto mm = static_cast<long long>(m);
#pragma omp parallel for schedule(static)
        for (long long i = 0; i < mm; ++i) {
            double* row = sub.data() + static_cast<std::size_t>(i) * nt;
            const double* x = values + static_cast<std::size_t>(i) * n;
            for (std::size_t k = 0; k < nt; ++k) row[k] = x[idx[k]];
            const detail::Moments mx = detail::moments_of(row, nt);
            // Exact zeros: the set then flags it (standardising would blow rounding up to unit norm).
            if (nearly_constant(mx.sxx, mx.mean, nt)) std::fill(row, row + nt, 0.0);
        }
        sets_.emplace_back(sub.data(), m, nt, y.data(), bad);
        for (std::size_t i = 0; i < m; ++i) usable_[t * m + i] = bad[i] ? 0 : 1;
    }
    for (auto& w : weight_) w /= total;
}

std::size_t MultiTaskSet::memory_bytes() const {
    std::size_t b = usable_.size() + weight_.size() * sizeof(double);
    for (const auto& s : sets_) b += s.memory_bytes();
    return b;
}

namespace {

constexpr std::size_t kNone = detail::kNoSecond;

struct Problem {
    std::vector<const double*> G;  // per task: G[i * ld + k], i < k
    std::vector<double> weight;    // per task
    std::size_t ld, m, T;
    int d;
    double lim2, tol;
};

// The candidates that may join a prefix of l members (ascending, after its
// last member, within the |r| limit of every member over every task), each
// with, per task, its Cholesky column w against the prefix, its Schur
// complement q and its residual correlation with the target c (as in
// subset_search.cpp, one copy per task).
struct Level {
    std::vector<std::uint32_t> idx;
    std::vector<double> q, c, W;  // q[t * cap + k], c likewise, W[(t * J + j) * cap + k]
    std::size_t size = 0, cap = 0, J = 1;
    void allocate(std::size_t T, std::size_t columns, std::size_t capacity) {
        cap = capacity, J = std::max<std::size_t>(columns, 1);
        idx.resize(cap), q.resize(T * cap), c.resize(T * cap), W.resize(T * J * cap);
    }
    double* qt(std::size_t t) { return q.data() + t * cap; }
    const double* qt(std::size_t t) const { return q.data() + t * cap; }
    double* ct(std::size_t t) { return c.data() + t * cap; }
    const double* ct(std::size_t t) const { return c.data() + t * cap; }
    double* w(std::size_t t, std::size_t j) { return W.data() + (t * J + j) * cap; }
    const double* w(std::size_t t, std::size_t j) const { return W.data() + (t * J + j) * cap; }
};

struct alignas(64) Worker {
    Worker(std::size_t keep, std::size_t m, std::size_t T, int d)
        : top(keep), r2((d + 1) * T, 0.0), det((d + 1) * T, 1.0), inv_a((d + 1) * T), us((d + 1) * T) {
        levels.resize(static_cast<std::size_t>(std::max(d - 1, 1)));
        for (std::size_t l = 1; l < levels.size(); ++l) levels[l].allocate(T, static_cast<std::size_t>(d - 1), m);
    }
    TopK<Subset> top;
    std::uint64_t scored = 0;
    std::vector<Level> levels;  // levels[l]: the list of a prefix of l members
    // The node of l members at offset l * T, per task: its R^2, determinant,
    // and its last member's inverse scale and coordinate along the target.
    std::vector<double> r2, det, inv_a, us;
    std::array<std::uint32_t, kMaxSubsetDim> members{};
    double threshold() const { return top.full() ? top.worst().r2 : -std::numeric_limits<double>::infinity(); }
};

// The node of l + 1 members: the one of l members (offset l) extended by
// P.idx[p]; false when singular over some task.
bool extend(Worker& me, const Problem& pb, const Level& P, std::size_t l, std::size_t p) {
    const std::size_t T = pb.T, a = l * T, b = (l + 1) * T;
    for (std::size_t t = 0; t < T; ++t) {
        const double q = P.qt(t)[p], c = P.ct(t)[p];
        const double det = me.det[a + t] * q;
        if (!(det > pb.tol) || !(q > 0)) return false;
        me.det[b + t] = det;
        me.r2[b + t] = me.r2[a + t] + c * c / q;
        me.inv_a[b + t] = 1.0 / std::sqrt(q);
        me.us[b + t] = c * me.inv_a[b + t];
    }
    me.members[l] = P.idx[p];
    return true;
}

// Entry k of list P (prefix of l members) projected, over task t, against
// P's entry p (the node's newest member, at node offset l + 1).
struct Projected {
    double w, q, c;
};
inline Projected project(const Worker& me, const Problem& pb, const Level& P, std::size_t l, std::size_t p,
                         std::size_t k, std::size_t t, double g) {
    double dot = 0.0;
    for (std::size_t j = 0; j < l; ++j) dot = std::fma(P.w(t, j)[k], P.w(t, j)[p], dot);
    const std::size_t o = (l + 1) * pb.T + t;
    const double w = (g - dot) * me.inv_a[o];
    return {w, std::fma(-w, w, P.qt(t)[k]), std::fma(-w, me.us[o], P.ct(t)[k])};
}

// Within the |r| limit of P's entry p over every task.
inline bool within_limit(const Problem& pb, const Level& P, std::size_t p, std::size_t k) {
    const std::size_t row = static_cast<std::size_t>(P.idx[p]) * pb.ld + P.idx[k];
    for (std::size_t t = 0; t < pb.T; ++t) {
        const double g = pb.G[t][row];
        if (!(g * g < pb.lim2)) return false;
    }
    return true;
}

// The leaves: the node (l + 1 members, its newest P.idx[p]) plus each later entry of P.
void score_leaves(Worker& me, const Problem& pb, const Level& P, std::size_t l, std::size_t p) {
    const std::size_t T = pb.T, o = (l + 1) * T;
    const std::size_t row = static_cast<std::size_t>(P.idx[p]) * pb.ld;
    for (std::size_t k = p + 1; k < P.size; ++k) {
        if (!within_limit(pb, P, p, k)) continue;
        double score = 0;
        bool ok = true;
        for (std::size_t t = 0; t < T && ok; ++t) {
            const Projected e = project(me, pb, P, l, p, k, t, pb.G[t][row + P.idx[k]]);
            ok = (me.det[o + t] * e.q > pb.tol) && (e.q > 0);
            score += pb.weight[t] * (me.r2[o + t] + e.c * e.c / e.q);
        }
        if (!ok) continue;
        ++me.scored;
        if (!(score >= me.threshold())) continue;
        Subset s;
        s.r2 = score;
        s.dim = pb.d;
        s.members = me.members;
        s.members[static_cast<std::size_t>(pb.d - 1)] = P.idx[k];
        me.top.push(s);
    }
}

// The list of the node (l + 1 members, newest P.idx[p]): P's entries from t0
// on, within the limit, projected against the newest member.
void build_child(Worker& me, const Problem& pb, const Level& P, std::size_t l, std::size_t p, std::size_t t0,
                 Level& C) {
    const std::size_t row = static_cast<std::size_t>(P.idx[p]) * pb.ld;
    std::size_t s = 0;
    for (std::size_t k = t0; k < P.size; ++k) {
        if (!within_limit(pb, P, p, k)) continue;
        for (std::size_t t = 0; t < pb.T; ++t) {
            const Projected e = project(me, pb, P, l, p, k, t, pb.G[t][row + P.idx[k]]);
            C.qt(t)[s] = e.q;
            C.ct(t)[s] = e.c;
            for (std::size_t j = 0; j < l; ++j) C.w(t, j)[s] = P.w(t, j)[k];
            C.w(t, l)[s] = e.w;
        }
        C.idx[s] = P.idx[k];
        ++s;
    }
    C.size = s;
}

void descend(Worker& me, const Problem& pb, const Level& P, std::size_t l, std::size_t p) {
    if (!extend(me, pb, P, l, p)) return;
    if (static_cast<int>(l) + 2 == pb.d) {
        score_leaves(me, pb, P, l, p);
        return;
    }
    Level& C = me.levels[l + 1];
    build_child(me, pb, P, l, p, p + 1, C);
    const std::size_t more = static_cast<std::size_t>(pb.d) - l - 2;  // members still to add after the next
    for (std::size_t q = 0; q + more < C.size; ++q) descend(me, pb, C, l + 1, q);
}

// One task of the walk: every combination whose first two members are i and
// j (j = kNone: whose first member is i, for d = 2).
void run_task(Worker& me, const Problem& pb, const Level& root, std::size_t i, std::size_t j) {
    if (j == kNone) {
        descend(me, pb, root, 0, i);
        return;
    }
    if (!within_limit(pb, root, i, j)) return;
    if (!extend(me, pb, root, 0, i)) return;
    Level& L1 = me.levels[1];
    build_child(me, pb, root, 0, i, j, L1);  // its first entry is j
    descend(me, pb, L1, 1, 0);
}

}  // namespace

SubsetSearchResult search_multitask(const MultiTaskSet& set, int d, const SearchOptions& opt, Progress* progress) {
    if (d < 1 || d > kMaxSubsetDim)
        throw std::invalid_argument("a combination has 1 to " + std::to_string(kMaxSubsetDim) + " members, not " +
                                    std::to_string(d));
    detail::check_search_options(opt);
    const auto started = std::chrono::steady_clock::now();
    const std::size_t m = set.size(), T = set.n_tasks();
    const double lim = detail::pair_limit(opt);
    const std::size_t i_first = std::min(m, opt.first), i_last = std::min(m, opt.last);
    SubsetSearchResult res;
    res.dim = d;
    res.n_planned = count_combinations(m, d, i_first, i_last);

    Problem pb;
    pb.ld = set.task(0).padded_size(), pb.m = m, pb.T = T, pb.d = d, pb.lim2 = lim * lim, pb.tol = opt.singular_tol;
    for (std::size_t t = 0; t < T; ++t) pb.weight.push_back(set.weight(t));
    std::vector<std::vector<double>> G(d > 1 ? T : 0);
    for (std::size_t t = 0; t < G.size(); ++t) {
        G[t].assign(pb.ld * pb.ld, 0.0);
        res.gram_flops += detail::fill_gram(set.task(t), set.task(t), true, opt.tile,
                                            detail::sample_block(opt, opt.tile), G[t].data(), pb.ld);
        pb.G.push_back(G[t].data());
    }

    std::vector<Worker> workers;
    workers.reserve(static_cast<std::size_t>(omp_get_max_threads()));
    for (int t = 0; t < omp_get_max_threads(); ++t) workers.emplace_back(opt.keep, m, T, d);

    if (d == 1) {
        Worker& me = workers[0];
        for (std::size_t i = i_first; i < i_last; ++i) {
            double score = 0;
            bool ok = 1.0 > opt.singular_tol;
            for (std::size_t t = 0; t < T && ok; ++t) {
                const double b = set.task(t).target_correlations()[i];
                ok = set.usable(t, i);
                score += pb.weight[t] * (b * b);
            }
            if (!ok) continue;
            ++me.scored;
            Subset s;
            s.r2 = score, s.dim = 1, s.members[0] = static_cast<std::uint32_t>(i);
            me.top.push(s);
        }
        res.n_combinations = res.n_planned;
    } else {
        Level root;
        root.allocate(T, 1, m);
        root.size = m;
        for (std::size_t k = 0; k < m; ++k) {
            root.idx[k] = static_cast<std::uint32_t>(k);
            for (std::size_t t = 0; t < T; ++t) {
                // An unusable candidate (constant over task t) has q = 0: extend() refuses it.
                root.qt(t)[k] = set.usable(t, k) ? 1.0 : 0.0;
                root.ct(t)[k] = set.task(t).target_correlations()[k];
            }
        }
        const bool cancelled = detail::run_prefix_tasks(
            m, d, i_first, i_last, 5'000'000, static_cast<long long>(T) * d * d, res.n_combinations, res.n_planned,
            progress, [&](int thread, std::size_t i, std::size_t j) {
                run_task(workers[static_cast<std::size_t>(thread)], pb, root, i, j);
            });
        res.cancelled = cancelled && res.n_combinations < res.n_planned;
    }
    TopK<Subset> all(opt.keep);
    for (const Worker& w : workers) {
        all.merge(w.top);
        res.n_scored += w.scored;
    }
    res.best = all.sorted();
    res.peak_bytes = set.memory_bytes() + T * pb.ld * pb.ld * (d > 1 ? sizeof(double) : 0);
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return res;
}

}  // namespace formulasearch
