// Multi-task SIS score and l0 search against direct computations: per-task
// Pearson correlations, and per-task QR fits of every d-subset.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "check.hpp"
#include "formulasearch/linear_fit.hpp"
#include "formulasearch/multitask.hpp"

using namespace formulasearch;

namespace {

// Total SSE of per-task OLS fits (intercept per task) of the given candidates.
double total_sse(const std::vector<double>& v, std::size_t n, const std::vector<std::size_t>& members,
                 const std::vector<double>& y, const TaskPartition& tasks) {
    double sse = 0;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        const auto& idx = tasks.samples(t);
        std::vector<double> feat, yt;
        for (auto i : members)
            for (auto s : idx) feat.push_back(v[i * n + s]);
        for (auto s : idx) yt.push_back(y[s]);
        const LinearFit f = fit_linear(feat.data(), members.size(), idx.size(), yt.data());
        sse += f.rmse * f.rmse * static_cast<double>(idx.size());
    }
    return sse;
}

}  // namespace

int main() {
    const std::size_t m = 14, n = 30;
    std::mt19937 rng(5);
    std::normal_distribution<double> g;
    std::vector<int> label(n);
    for (std::size_t s = 0; s < n; ++s) label[s] = static_cast<int>((s * 7) % 3);  // interleaved, sizes 10/10/10
    const TaskPartition tasks(label);
    std::vector<double> v(m * n), y(n);
    for (auto& x : v) x = g(rng);
    for (std::size_t s = 0; s < n; ++s) {
        const double a = label[s] == 0 ? 2.0 : label[s] == 1 ? -1.0 : 0.5;
        y[s] = 3.0 * label[s] + a * v[2 * n + s] + (1.0 - a) * v[9 * n + s] + 0.3 * g(rng);
    }
    double sst = 0;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
        double mean = 0;
        for (auto s : tasks.samples(t)) mean += y[s];
        mean /= static_cast<double>(tasks.samples(t).size());
        for (auto s : tasks.samples(t)) sst += (y[s] - mean) * (y[s] - mean);
    }

    // SIS score: mean over tasks of the squared per-task Pearson correlation.
    const TaskTarget tt = task_target(y.data(), tasks);
    for (std::size_t i = 0; i < m; ++i) {
        double expect = 0;
        for (std::size_t t = 0; t < tasks.size(); ++t) {
            const auto& idx = tasks.samples(t);
            double mx = 0, my = 0;
            for (auto s : idx) mx += v[i * n + s], my += y[s];
            mx /= idx.size(), my /= idx.size();
            double sxy = 0, sxx = 0, syy = 0;
            for (auto s : idx) {
                sxy += (v[i * n + s] - mx) * (y[s] - my);
                sxx += (v[i * n + s] - mx) * (v[i * n + s] - mx);
                syy += (y[s] - my) * (y[s] - my);
            }
            expect += sxy * sxy / (sxx * syy) / tasks.size();
        }
        CHECK(fs_test::close(task_correlation_score(&v[i * n], tt, tasks), expect, 1e-12));
    }

    // l0: the search's ranking equals per-task QR fits of every d-subset.
    const MultiTaskSet set(v.data(), m, n, y.data(), tasks);
    SearchOptions opt;
    opt.keep = 2000;  // every subset (C(14, 4) = 1001)
    opt.tile = 16;
    opt.max_pair_corr = 1.0;
    for (int d = 1; d <= 4; ++d) {
        std::vector<std::pair<double, std::vector<std::size_t>>> brute;
        std::vector<std::size_t> c(static_cast<std::size_t>(d));
        for (std::size_t k = 0; k < c.size(); ++k) c[k] = k;
        while (true) {
            brute.push_back({1.0 - total_sse(v, n, c, y, tasks) / sst, c});
            int k = d - 1;
            while (k >= 0 && c[static_cast<std::size_t>(k)] == m - static_cast<std::size_t>(d - k)) --k;
            if (k < 0) break;
            ++c[static_cast<std::size_t>(k)];
            for (std::size_t j = static_cast<std::size_t>(k) + 1; j < c.size(); ++j) c[j] = c[j - 1] + 1;
        }
        std::sort(brute.begin(), brute.end(), [](auto& a, auto& b) { return a.first > b.first; });
        omp_set_num_threads(1);
        const SubsetSearchResult one = search_multitask(set, d, opt);
        omp_set_num_threads(2);
        const SubsetSearchResult two = search_multitask(set, d, opt);
        CHECK(one.best.size() == brute.size());
        CHECK(two.best.size() == one.best.size());
        for (std::size_t r = 0; r < std::min(one.best.size(), brute.size()); ++r) {
            CHECK(fs_test::close(one.best[r].r2, brute[r].first, 1e-9));
            CHECK(one.best[r].r2 == two.best[r].r2 && one.best[r].members == two.best[r].members);
        }
        for (int k = 0; k < d; ++k) CHECK(one.best[0].members[static_cast<std::size_t>(k)] == brute[0].second[static_cast<std::size_t>(k)]);
    }
    // The planted pair is the best 2D descriptor.
    const SubsetSearchResult two = search_multitask(set, 2, opt);
    CHECK(two.best[0].members[0] == 2 && two.best[0].members[1] == 9);

    // A candidate constant over one task is never chosen, yet usable elsewhere.
    std::vector<double> w = v;
    for (auto s : tasks.samples(1)) w[2 * n + s] = 0.1;
    const MultiTaskSet flat(w.data(), m, n, y.data(), tasks);
    CHECK(!flat.usable(1, 2) && flat.usable(0, 2));
    const SubsetSearchResult f2 = search_multitask(flat, 2, opt);
    for (const auto& s : f2.best) CHECK(s.members[0] != 2 && s.members[1] != 2);
    CHECK(task_correlation_score(&w[2 * n], tt, tasks) < task_correlation_score(&v[2 * n], tt, tasks));

    CHECK_THROWS(TaskPartition({0, 0, 1}));      // a task of one sample
    CHECK_THROWS(TaskPartition({0, 0, 2, 2}));   // task 1 empty
    return fs_test::report("test_multitask");
}
