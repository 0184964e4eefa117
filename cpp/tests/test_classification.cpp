// Classification core: scores on hand-made cases with known answers, the pair
// and triple searches against brute force, the pruned logistic search against
// the full one, the stump against a brute-force sweep, and thread-count independence.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <vector>

#include "check.hpp"
#include "matrix_source.hpp"
#include "formulasearch/classification.hpp"

using namespace formulasearch;
using fs_test::MatrixSource;
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
    std::vector<ClassifiedCombination> brute, brute_acc;
    for (std::uint32_t i = 0; i < m; ++i)
        for (std::uint32_t j = i + 1; j < m; ++j) {
            const double* f[2] = {&v[i * n], &v[j * n]};
            brute.push_back({overlap_2d(f[0], f[1], labels), {i, j, 0}});
            brute_acc.push_back({fit_accuracy_separator(f, 2, labels).key, {i, j, 0}});
        }
    auto by_key = [](const auto& a, const auto& b) { return better(a, b); };
    std::sort(brute.begin(), brute.end(), by_key);
    std::sort(brute_acc.begin(), brute_acc.end(), by_key);
    ClassifyOptions opt;
    opt.keep = 12;
    for (int threads : {1, 3}) {
        omp_set_num_threads(threads);
        for (SeparationScore score : {SeparationScore::Overlap, SeparationScore::Logistic, SeparationScore::Accuracy}) {
            opt.score = score;
            ClassSearchResult r = search_class_pairs(v.data(), m, labels, opt);
            CHECK(r.best.size() == opt.keep && r.n_combinations == m * (m - 1) / 2);
            for (std::size_t k = 0; k < r.best.size() && score == SeparationScore::Overlap; ++k) {
                CHECK(r.best[k].members == brute[k].members);
                CHECK(r.best[k].key.count == brute[k].key.count);
            }
            // The search's accuracy key is the separator fit's, bit for bit.
            for (std::size_t k = 0; k < r.best.size() && score == SeparationScore::Accuracy; ++k) {
                CHECK(r.best[k].members == brute_acc[k].members);
                CHECK(r.best[k].key.value == brute_acc[k].key.value && r.best[k].key.tie == brute_acc[k].key.tie);
            }
            for (std::size_t k = 0; k < r.best.size() && score == SeparationScore::Logistic; ++k) {
                const double* f[2] = {&v[r.best[k].members[0] * n], &v[r.best[k].members[1] * n]};
                CHECK(close(r.best[k].key.value, fit_logistic(f, 2, labels).loss, 1e-9));
                if (k) CHECK(!(r.best[k].key < r.best[k - 1].key));
            }
        }
    }

    // Logistic: the pruned search (bound, warm starts) equals fitting every set in full, for
    // pairs, triples and the screening, two and three classes, with and without class weights.
    for (int n_classes : {2, 3}) {
        for (ClassWeight weighting : {ClassWeight::None, ClassWeight::Balanced}) {
            const std::size_t mm = 40, nn = 120;
            std::vector<int> lab3(nn);
            for (std::size_t s = 0; s < nn; ++s) lab3[s] = static_cast<int>((s * 7 + s / 5) % static_cast<std::size_t>(n_classes + (s % 4 == 0)) % n_classes);
            const ClassLabels l3(lab3, 2, weighting);
            std::vector<double> w(mm * nn);
            for (std::size_t i = 0; i < mm; ++i)
                for (std::size_t s = 0; s < nn; ++s)
                    w[i * nn + s] = g(rng) + 0.6 * (lab3[s] == static_cast<int>(i % 3)) * static_cast<double>(i % 5) / 4.0;
            ClassifyOptions fast, slow;
            fast.score = slow.score = SeparationScore::Logistic;
            fast.keep = slow.keep = 7;
            slow.prune = false;
            for (int dim : {2, 3}) {
                const ClassSearchResult a = dim == 2 ? search_class_pairs(w.data(), mm, l3, fast)
                                                     : search_class_triples(w.data(), mm, l3, fast);
                const ClassSearchResult b = dim == 2 ? search_class_pairs(w.data(), mm, l3, slow)
                                                     : search_class_triples(w.data(), mm, l3, slow);
                CHECK(a.best.size() == b.best.size() && b.n_fitted == b.n_scored);
                for (std::size_t k = 0; k < a.best.size(); ++k) {
                    CHECK(a.best[k].members == b.best[k].members);
                    CHECK(a.best[k].key.value == b.best[k].key.value);
                }
                std::cout << "logistic " << dim << "D, " << n_classes << " classes: fitted " << a.n_fitted << " of "
                          << a.n_scored << "\n";
            }
            MatrixSource source(w, mm, nn);
            fast.screen.keep = slow.screen.keep = 5;
            fast.screen.block = slow.screen.block = 8;
            fast.screen.variance_filter = slow.screen.variance_filter = 0;
            const ClassScreenResult a = screen_classes(source, l3, fast), b = screen_classes(source, l3, slow);
            for (std::size_t k = 0; k < b.top.size(); ++k)
                CHECK(a.top[k].index == b.top[k].index && a.top[k].key.value == b.top[k].key.value);
            // Each screened key is the loss of fit_logistic on that formula alone.
            for (const ClassifiedCandidate& c : b.top) {
                const double* f[1] = {&w[c.index * nn]};
                CHECK(close(c.key.value, fit_logistic(f, 1, l3).loss, 1e-12));
            }
        }
    }

    // The logistic fit against a plain scalar Newton fit (std::exp, long double sums): the vector
    // exp / log1p and the fused pass give the same loss and weights.
    {
        const std::size_t nn = 200;
        std::vector<int> lab2(nn);
        std::vector<double> x(nn), y(nn);
        for (std::size_t s = 0; s < nn; ++s) {
            lab2[s] = static_cast<int>(s % 3 == 0);
            x[s] = g(rng) + 1.5 * lab2[s];
            y[s] = 30.0 * g(rng);  // large weights: scores far out in the exp's range
        }
        const ClassLabels l2(lab2);
        const double* f[2] = {x.data(), y.data()};
        const LogisticModel fit = fit_logistic(f, 1, l2);
        CHECK(fit.converged && fit.iterations < 15);
        // Reference: the same objective on standardised x, Newton in long double.
        long double mean = 0, var = 0;
        for (double t : x) mean += t;
        mean /= nn;
        for (double t : x) var += (t - mean) * (t - mean);
        const long double sd = std::sqrt(var / nn);
        long double b = 0, wgt = 0, loss = 0;
        for (int it = 0; it < 50; ++it) {
            long double gb = 0, gw = 0, hbb = 0, hbw = 0, hww = 0;
            loss = 0;
            for (std::size_t s = 0; s < nn; ++s) {
                const long double z = (x[s] - mean) / sd, a = b + wgt * z, p = 1 / (1 + std::exp(-a));
                loss += (lab2[s] ? std::log1p(std::exp(-a)) : std::log1p(std::exp(a))) / nn;
                gb += (p - lab2[s]) / nn, gw += (p - lab2[s]) * z / nn;
                hbb += p * (1 - p) / nn, hbw += p * (1 - p) * z / nn, hww += p * (1 - p) * z * z / nn;
            }
            gw += 1e-3L * wgt, hww += 1e-3L;
            const long double det = hbb * hww - hbw * hbw;
            b -= (hww * gb - hbw * gw) / det;
            wgt -= (hbb * gw - hbw * gb) / det;
        }
        CHECK(close(fit.loss, static_cast<double>(loss), 1e-13));
        CHECK(close(fit.coefficients[0][0] * static_cast<double>(sd), static_cast<double>(wgt), 1e-8));
    }

    // Accuracy, 1D: the stump equals a brute-force sweep over every threshold between distinct values.
    for (int trial = 0; trial < 20; ++trial) {
        const std::size_t nn = 25 + static_cast<std::size_t>(trial);
        std::vector<int> lab2(nn);
        std::vector<double> x(nn);
        for (std::size_t s = 0; s < nn; ++s) {
            lab2[s] = static_cast<int>(s % 2);
            x[s] = std::round(4 * (g(rng) + 0.7 * lab2[s])) / 4;  // ties between samples
        }
        const ClassLabels l2(lab2);
        const double* f[1] = {x.data()};
        const AccuracySeparator sep = fit_accuracy_separator(f, 1, l2);
        std::vector<double> sorted = x;
        std::sort(sorted.begin(), sorted.end());
        std::size_t best_right = 0;
        for (std::size_t i = 0; i + 1 < nn; ++i) {
            if (sorted[i + 1] == sorted[i]) continue;
            const double t = 0.5 * (sorted[i] + sorted[i + 1]);
            std::size_t above = 0;
            for (std::size_t s = 0; s < nn; ++s) above += (x[s] > t) == (lab2[s] == 1);
            best_right = std::max({best_right, above, nn - above});
        }
        CHECK(close(sep.accuracy, static_cast<double>(best_right) / static_cast<double>(nn), 1e-15));
        CHECK(close(sep.key.value, 1.0 - sep.accuracy, 1e-14));
    }

    // Accuracy, 2D: a planted linear boundary x + y > 0 with a gap is found exactly (accuracy 1).
    {
        const std::size_t nn = 60;
        std::vector<int> lab2(nn);
        std::vector<double> x(nn), y(nn);
        for (std::size_t s = 0; s < nn; ++s) {
            x[s] = g(rng), y[s] = 3.0 * g(rng);
            const double d = x[s] + y[s] / 3.0;
            lab2[s] = d > 0;
            if (std::fabs(d) < 0.2) x[s] += d > 0 ? 0.4 : -0.4;
        }
        const ClassLabels l2(lab2);
        const double* f[2] = {x.data(), y.data()};
        const AccuracySeparator sep = fit_accuracy_separator(f, 2, l2);
        CHECK(sep.accuracy == 1.0 && sep.key.value == 0.0 && sep.margin > 0);
        const std::vector<int> pred = sep.predict(f, nn);
        CHECK(pred == lab2);
    }

    // Triples: logistic and accuracy against brute force over the fits.
    {
        const std::size_t mm = 9;
        for (SeparationScore score : {SeparationScore::Logistic, SeparationScore::Accuracy}) {
            opt.score = score;
            opt.keep = 6;
            std::vector<ClassifiedCombination> all;
            for (std::uint32_t i = 0; i < mm; ++i)
                for (std::uint32_t j = i + 1; j < mm; ++j)
                    for (std::uint32_t k = j + 1; k < mm; ++k) {
                        const double* f[3] = {&v[i * n], &v[j * n], &v[k * n]};
                        SeparationKey key = score == SeparationScore::Accuracy ? fit_accuracy_separator(f, 3, labels).key
                                                                               : SeparationKey{0, fit_logistic(f, 3, labels).loss};
                        all.push_back({key, {i, j, k}});
                    }
            std::sort(all.begin(), all.end(), by_key);
            for (int threads : {1, 2}) {
                omp_set_num_threads(threads);
                const ClassSearchResult r = search_class_triples(v.data(), mm, labels, opt);
                CHECK(r.dim == 3 && r.n_combinations == 84 && r.best.size() == opt.keep);
                for (std::size_t k = 0; k < r.best.size(); ++k) {
                    if (score == SeparationScore::Accuracy) CHECK(r.best[k].members == all[k].members);
                    CHECK(close(r.best[k].key.value, all[k].key.value, 1e-9));
                }
            }
        }
        opt.score = SeparationScore::Overlap;
        CHECK_THROWS(search_class_triples(v.data(), mm, labels, opt));
    }
    return fs_test::report("test_classification");
}
