// Classification core: scores on hand-made cases with known answers, the pair
// search against brute force, and thread-count independence.
#include <omp.h>

#include <algorithm>
#include <random>
#include <vector>

#include "check.hpp"
#include "formulasearch/classification.hpp"

using namespace formulasearch;
using fs_test::close;

int main() {
    // 1D: class 0 on [0, 2], class 1 on [1, 3]: samples 1, 2 (class 0) and 1 (class 1) overlap;
    // overlap length 1 of range 3.
    {
        ClassLabels labels({0, 0, 0, 1, 1, 1});
        const double x[] = {0, 1, 2, 1, 2.5, 3};
        SeparationKey k = overlap_1d(x, labels);
        CHECK(k.count == 3);
        CHECK(close(k.value, 1.0 / 3.0, 1e-14));
        const double y[] = {0, 0.5, 1, 2, 2.5, 3};  // separated by a gap of 1 in a range of 3
        k = overlap_1d(y, labels);
        CHECK(k.count == 0);
        CHECK(close(k.value, -1.0 / 3.0, 1e-14));
    }
    // 2D: two unit squares' corners, shifted by (0.5, 0.5): standardisation scales both axes alike,
    // so the intersection is a quarter of a square's area; each square holds one corner of the other.
    {
        ClassLabels labels({0, 0, 0, 0, 1, 1, 1, 1});
        const double x[] = {0, 1, 1, 0, 0.5, 1.5, 1.5, 0.5};
        const double y[] = {0, 0, 1, 1, 0.5, 0.5, 1.5, 1.5};
        double mean = 0, ss = 0;
        for (double v : x) mean += v / 8;
        for (double v : x) ss += (v - mean) * (v - mean) / 8;
        const double square = 1.0 / ss;  // area of a unit square in standardised units
        SeparationKey k = overlap_2d(x, y, labels);
        CHECK(k.count == 2);
        CHECK(close(k.value, 0.25 * square, 1e-12));
        // Shift class 1 to (3, 0): separated by a gap of 2 (standardised: 2 / std).
        const double x2[] = {0, 1, 1, 0, 3, 4, 4, 3};
        const double y2[] = {0, 0, 1, 1, 0, 0, 1, 1};
        double m2 = 0, s2 = 0;
        for (double v : x2) m2 += v / 8;
        for (double v : x2) s2 += (v - m2) * (v - m2) / 8;
        k = overlap_2d(x2, y2, labels);
        CHECK(k.count == 0);
        CHECK(close(k.value, -2.0 / std::sqrt(s2), 1e-12));
    }
    // Errors: one class, a class with one sample in a search.
    CHECK_THROWS(ClassLabels({0, 0, 0}));
    CHECK_THROWS(ClassLabels({0, 1, 1}, 2));

    // Pair search = brute force over overlap_2d, for 1 and 3 threads.
    const std::size_t m = 18, n = 30;
    std::mt19937 rng(5);
    std::normal_distribution<double> g;
    std::vector<int> lab(n);
    for (std::size_t s = 0; s < n; ++s) lab[s] = static_cast<int>(s % 2);
    ClassLabels labels(lab, 2);
    std::vector<double> v(m * n);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t s = 0; s < n; ++s) v[i * n + s] = g(rng) + 0.8 * lab[s] * static_cast<double>(i % 3);
    std::vector<ClassifiedPair> brute;
    for (std::uint32_t i = 0; i < m; ++i)
        for (std::uint32_t j = i + 1; j < m; ++j) brute.push_back({overlap_2d(&v[i * n], &v[j * n], labels), i, j});
    std::sort(brute.begin(), brute.end(), [](const auto& a, const auto& b) { return better(a, b); });
    ClassifyOptions opt;
    opt.keep = 12;
    for (int threads : {1, 3}) {
        omp_set_num_threads(threads);
        for (SeparationScore score : {SeparationScore::Overlap, SeparationScore::Logistic}) {
            opt.score = score;
            PairSearchResult r = search_class_pairs(v.data(), m, labels, opt);
            CHECK(r.best.size() == opt.keep && r.n_combinations == m * (m - 1) / 2);
            for (std::size_t k = 0; k < r.best.size() && score == SeparationScore::Overlap; ++k) {
                CHECK(r.best[k].first == brute[k].first && r.best[k].second == brute[k].second);
                CHECK(r.best[k].key.count == brute[k].key.count);
            }
            for (std::size_t k = 0; k < r.best.size() && score == SeparationScore::Logistic; ++k) {
                const double* f[2] = {&v[r.best[k].first * n], &v[r.best[k].second * n]};
                CHECK(close(r.best[k].key.value, fit_logistic(f, 2, labels).loss, 1e-9));
                if (k) CHECK(!(r.best[k].key < r.best[k - 1].key));
            }
        }
    }
    return fs_test::report("test_classification");
}
