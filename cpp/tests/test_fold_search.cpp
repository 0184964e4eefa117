// Nested CV in one sweep: every fold's screening and pair search from one pass
// equal those of the fold's training part searched alone (the same candidates
// and members in the same order, up to exact ties; scores to 1e-11), also for candidates
// that a test sample dominates, that are non-finite at a test sample, that are
// value duplicates only on a training part, or that sit on the variance filter.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "check.hpp"
#include "matrix_source.hpp"
#include "formulasearch/combination_search.hpp"
#include "formulasearch/fold_search.hpp"
#include "formulasearch/screening.hpp"
#include "formulasearch/standardized_set.hpp"

using namespace formulasearch;
using fs_test::MatrixSource;

namespace {

// Two rankings (score, id) agree: the scores position by position to `rel`, and the ids
// too, except inside a near-tie (scores within 1e-12 relative: equal in exact arithmetic,
// such as a candidate and its affine copy), whose order the last bits decide, and which
// differ between builds (with or without AVX-512, FMA contraction). Such a swap is
// accepted only when both rankings hold the same ids over the tie's positions.
template <class Id>
bool same_ranking(const std::vector<std::pair<double, Id>>& a, const std::vector<std::pair<double, Id>>& b, double rel) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!fs_test::close(a[i].first, b[i].first, rel)) return false;
    for (std::size_t lo = 0, hi; lo < a.size(); lo = hi) {
        for (hi = lo + 1; hi < a.size() && fs_test::close(a[hi].first, a[lo].first, 1e-12); ++hi) {
        }
        std::vector<Id> ia, ib;
        for (std::size_t i = lo; i < hi; ++i) ia.push_back(a[i].second), ib.push_back(b[i].second);
        if (hi - lo > 1) std::sort(ia.begin(), ia.end()), std::sort(ib.begin(), ib.end());
        if (ia != ib) return false;
    }
    return true;
}

bool same_screen(const ScreenResult& a, const ScreenResult& b) {
    std::vector<std::pair<double, std::uint64_t>> ra, rb;
    for (const auto& c : a.top) ra.push_back({c.score, c.index});
    for (const auto& c : b.top) rb.push_back({c.score, c.index});
    return same_ranking(ra, rb, 1e-11) && a.n_low_variance == b.n_low_variance && a.n_nonfinite == b.n_nonfinite &&
           a.n_out_of_range == b.n_out_of_range;
}

bool same_search(const SearchResult& a, const SearchResult& b) {
    using Members = decltype(a.best[0].members);
    std::vector<std::pair<double, Members>> ra, rb;
    for (const auto& c : a.best) ra.push_back({c.r2, c.members});
    for (const auto& c : b.best) rb.push_back({c.r2, c.members});
    return same_ranking(ra, rb, 1e-11);
}

}  // namespace

int main() {
    const std::size_t m = 300, n = 47;
    std::mt19937 rng(5);
    std::normal_distribution<double> g;
    std::vector<double> v(m * n), y(n);
    for (std::size_t s = 0; s < n; ++s) y[s] = g(rng);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t s = 0; s < n; ++s) v[i * n + s] = 3.0 + g(rng) + (i % 3 == 0 ? 0.8 * y[s] : 0.0);
    // Folds: 5, dealt round-robin after a shuffle.
    std::vector<std::uint32_t> perm(n);
    for (std::uint32_t s = 0; s < n; ++s) perm[s] = s;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<std::vector<std::uint32_t>> tests(5);
    for (std::size_t k = 0; k < n; ++k) tests[k % 5].push_back(perm[k]);
    const OuterFolds folds(tests, n);
    const std::uint32_t outlier = folds.test[0][0], other = folds.test[1][0];
    // 3: dominated by a sample of fold 0's test part; 6: non-finite there only;
    // 9: on fold 0's training part an affine copy of 12 (a value duplicate there only);
    // 15: nearly constant except at that sample; 18: non-finite in two folds.
    for (std::size_t s = 0; s < n; ++s) v[3 * n + s] = 1e-4 * v[3 * n + s];
    v[3 * n + outlier] = 50.0;
    v[6 * n + outlier] = std::numeric_limits<double>::infinity();
    for (std::size_t s = 0; s < n; ++s) v[9 * n + s] = 2.0 * v[12 * n + s] - 1.0;
    v[9 * n + outlier] += 5.0;
    for (std::size_t s = 0; s < n; ++s) v[15 * n + s] = 1.0 + 1e-9 * g(rng);
    v[15 * n + outlier] = 2.0;
    v[18 * n + outlier] = std::numeric_limits<double>::quiet_NaN();
    v[18 * n + other] = std::numeric_limits<double>::quiet_NaN();
    // 21 and 24: on fold 0's training part |std / mean| is the variance filter's 0.05 times
    // (1 - 1e-6) and (1 + 1e-6): dropped there and kept there; far from it elsewhere.
    {
        const std::vector<std::uint32_t> tr0 = folds.training(0);
        for (auto [i, factor] : {std::pair<std::size_t, double>{21, 1.0 - 1e-6}, {24, 1.0 + 1e-6}}) {
            double mw = 0, ss = 0;
            for (auto s : tr0) mw += v[i * n + s];
            mw /= static_cast<double>(tr0.size());
            for (auto s : tr0) ss += (v[i * n + s] - mw) * (v[i * n + s] - mw);
            const double k = 0.05 * factor / std::sqrt(ss / static_cast<double>(tr0.size()));
            std::vector<double> x(n, 1.6);  // fold 0's test samples: far off, so other folds pass
            for (auto s : tr0) x[s] = 1.0 + (v[i * n + s] - mw) * k;
            for (std::size_t s = 0; s < n; ++s) v[i * n + s] = x[s];
        }
    }
    MatrixSource src(v, m, n);

    for (Dedup dedup : {Dedup::Value, Dedup::String}) {
        ScreenOptions opt;
        opt.keep = 60;
        opt.dedup = dedup;
        opt.variance_filter = 0.05;
        opt.block = 64;
        const auto all = screen_folds(src, folds, {{y}}, opt);
        CHECK(all.size() == 5);
        for (std::size_t f = 0; f < 5; ++f) {
            const SampleView view(src, folds.training(f));
            std::vector<double> yt;
            for (auto s : folds.training(f)) yt.push_back(y[s]);
            const ScreenResult alone = screen(view, yt, opt);
            CHECK(same_screen(all[f], alone));
            // Several targets per fold (SIS on residuals): the largest R^2 over them.
            std::vector<double> y2(n);
            for (std::size_t s = 0; s < n; ++s) y2[s] = y[s] * y[s] + 0.1 * s;
            std::vector<double> y2t;
            for (auto s : folds.training(f)) y2t.push_back(y2[s]);
            std::vector<std::vector<std::vector<double>>> per_fold(5, {y, y2});
            const auto multi = screen_folds(src, folds, per_fold, opt);
            CHECK(same_screen(multi[f], screen(view, std::vector<std::vector<double>>{yt, y2t}, opt)));
        }
        // The special candidates are where they should be: 6 is kept in fold 0 only, 18 nowhere.
        auto has = [&](const ScreenResult& r, std::uint64_t i) {
            return std::any_of(r.top.begin(), r.top.end(), [&](const ScoredCandidate& c) { return c.index == i; });
        };
        CHECK(!has(all[1], 6) && !has(all[0], 18) && !has(all[2], 18));
        // The two on the variance filter's edge in fold 0: counted as dropped and kept, as alone.
        CHECK(all[0].n_low_variance >= 1 && all[1].n_low_variance < all[0].n_low_variance);
    }

    // Pairs: pools of each fold's best 40 by its own ranking (different pools), the union swept once.
    ScreenOptions opt;
    opt.keep = 40;
    opt.block = 64;
    const auto screened = screen_folds(src, folds, {{y}}, opt);
    std::vector<std::vector<std::uint64_t>> pools;
    for (const auto& r : screened) {
        pools.emplace_back();
        for (const auto& c : r.top) pools.back().push_back(c.index);
    }
    // Make sure the dominated and non-finite candidates are in fold 0's pool.
    for (std::uint64_t extra : {3, 6, 15})
        if (std::find(pools[0].begin(), pools[0].end(), extra) == pools[0].end()) pools[0].push_back(extra);
    SearchOptions so;
    so.keep = 25;
    so.tile = 16;
    const auto swept = search_pairs_folds(src, folds, y, pools, so);
    CHECK(swept.size() == 5);
    for (std::size_t f = 0; f < 5; ++f) {
        const SampleView view(src, folds.training(f));
        std::vector<double> yt;
        for (auto s : folds.training(f)) yt.push_back(y[s]);
        const StandardizedSet set(view, pools[f], yt.data());
        const SearchResult alone = search_pairs(set, so);
        CHECK(same_search(swept[f], alone));
        CHECK(swept[f].n_combinations == alone.n_combinations);
        // Without the |r| limit every pair counts; the best 25 still agree.
        SearchOptions loose = so;
        loose.max_pair_corr = 1.0;
        CHECK(same_search(search_pairs_folds(src, folds, y, pools, loose)[f], search_pairs(set, loose)));
    }
    // Triples: every fold over its own pool, the folds side by side: bit for bit search_triples.
    SearchOptions to;
    to.keep = 7;
    to.tile = 16;
    const auto triples = search_triples_folds(src, folds, y, pools, to);
    for (std::size_t f = 0; f < 5; ++f) {
        const SampleView view(src, folds.training(f));
        std::vector<double> yt;
        for (auto s : folds.training(f)) yt.push_back(y[s]);
        const SearchResult alone = search_triples(StandardizedSet(view, pools[f], yt.data()), to);
        CHECK(triples[f].best.size() == alone.best.size() && !triples[f].cancelled);
        for (std::size_t i = 0; i < alone.best.size() && i < triples[f].best.size(); ++i)
            CHECK(triples[f].best[i].members == alone.best[i].members && triples[f].best[i].r2 == alone.best[i].r2);
    }
    // A sweep stopped by its progress callback says so.
    struct Stop final : Progress {
        bool update(const char*, std::uint64_t, std::uint64_t) override { return false; }
    } stop;
    CHECK(search_pairs_folds(src, folds, y, pools, so, &stop)[0].cancelled);
    // Triples: the folds already taken finish (the first always is), those after the stop are
    // cancelled and empty; on one thread the stop comes after the first fold.
    for (int threads : {1, omp_get_max_threads()}) {
        const int saved = omp_get_max_threads();
        omp_set_num_threads(threads);
        const auto stopped = search_triples_folds(src, folds, y, pools, to, &stop);
        omp_set_num_threads(saved);
        CHECK(!stopped[0].cancelled);
        for (std::size_t f = 0; f < 5; ++f) {
            if (stopped[f].cancelled) {
                CHECK(stopped[f].best.empty());
            } else {
                CHECK(stopped[f].best.size() == triples[f].best.size());
                for (std::size_t i = 0; i < stopped[f].best.size() && i < triples[f].best.size(); ++i)
                    CHECK(stopped[f].best[i].members == triples[f].best[i].members);
            }
            if (threads == 1) CHECK(stopped[f].cancelled == (f > 0));
        }
    }
    // Folds must partition the samples.
    CHECK_THROWS(OuterFolds({{0, 1}, {1, 2}}, 3));
    CHECK_THROWS(OuterFolds({{0, 1}}, 5));
    return fs_test::report("test_fold_search");
}
