#include "formulasearch/validation.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "design_qr.hpp"
#include "formulasearch/linear_fit.hpp"

namespace formulasearch {

namespace {

// A small, fully specified PRNG (splitmix64): the same plans on every
// platform and standard library, unlike std::shuffle with std::mt19937.
struct SplitMix {
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t m) { return next() % m; }  // bias < 2^-40 for small m
};

std::vector<std::uint32_t> permutation(std::size_t n, SplitMix& rng) {
    std::vector<std::uint32_t> p(n);
    std::iota(p.begin(), p.end(), 0u);
    for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng.below(i)]);  // Fisher-Yates
    return p;
}

}  // namespace

std::vector<double> loo_residuals(const double* features, std::size_t d, std::size_t n, const double* y) {
    if (n < d + 2) throw std::invalid_argument("leave-one-out needs more samples than parameters plus one");
    const auto rows = static_cast<Eigen::Index>(n), cols = static_cast<Eigen::Index>(d + 1);
    const detail::DesignQR dq = detail::design_qr(features, d, n, y);
    const Eigen::MatrixXd& X = dq.X;
    const auto& qr = dq.qr;
    const Eigen::Map<const Eigen::VectorXd> Y(y, rows);
    const Eigen::VectorXd resid = Y - X * qr.solve(Y);
    // Thin Q: the hat matrix is Q Q^T, so h_ii is the squared norm of row i of Q.
    const Eigen::MatrixXd Q = qr.householderQ() * Eigen::MatrixXd::Identity(rows, cols);
    std::vector<double> out(n);
    for (Eigen::Index i = 0; i < rows; ++i) {
        const double h = Q.row(i).squaredNorm();
        if (!(1.0 - h > 1e-12)) throw std::invalid_argument("a sample has leverage 1: its leave-one-out fit is undefined");
        out[static_cast<std::size_t>(i)] = resid(i) / (1.0 - h);
    }
    return out;
}

std::vector<double> test_set_mse(const double* features, std::size_t d, std::size_t n, const double* y,
                                 const TestSets& tests) {
    std::vector<double> mse;
    std::vector<char> held(n);
    std::vector<double> xf, yf;
    for (const auto& test : tests) {
        std::fill(held.begin(), held.end(), 0);
        for (auto t : test) {
            if (t >= n) throw std::out_of_range("test sample index out of range");
            held[t] = 1;
        }
        const std::size_t n_train = n - test.size();
        xf.assign(d * n_train, 0.0);
        yf.clear();
        for (std::size_t s = 0, r = 0; s < n; ++s) {
            if (held[s]) continue;
            for (std::size_t f = 0; f < d; ++f) xf[f * n_train + r] = features[f * n + s];
            yf.push_back(y[s]);
            ++r;
        }
        const LinearFit fit = fit_linear(xf.data(), d, n_train, yf.data());
        double sse = 0;
        for (auto t : test) {
            double pred = fit.intercept;
            for (std::size_t f = 0; f < d; ++f) pred += fit.coefficients[f] * features[f * n + t];
            sse += (y[t] - pred) * (y[t] - pred);
        }
        mse.push_back(test.empty() ? 0.0 : sse / static_cast<double>(test.size()));
    }
    return mse;
}

TestSets kfold_sets(std::size_t n, std::size_t k, std::uint64_t seed) {
    if (k < 2 || k > n) throw std::invalid_argument("k-fold needs 2 <= k <= number of samples");
    SplitMix rng{seed};
    const auto p = permutation(n, rng);
    TestSets folds(k);
    for (std::size_t i = 0; i < n; ++i) folds[i * k / n].push_back(p[i]);  // contiguous blocks of the permutation
    for (auto& f : folds) std::sort(f.begin(), f.end());
    return folds;
}

TestSets random_splits(std::size_t n, std::size_t n_splits, double test_fraction, std::uint64_t seed) {
    if (!(test_fraction > 0 && test_fraction < 1)) throw std::invalid_argument("test_fraction must be in (0, 1)");
    const auto n_test = static_cast<std::size_t>(std::lround(test_fraction * static_cast<double>(n)));
    if (n_test < 1 || n_test > n - 3) throw std::invalid_argument("the test part must leave at least 3 training samples");
    SplitMix rng{seed};
    TestSets splits;
    for (std::size_t s = 0; s < n_splits; ++s) {
        auto p = permutation(n, rng);
        std::vector<std::uint32_t> test(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n_test));
        std::sort(test.begin(), test.end());
        splits.push_back(std::move(test));
    }
    return splits;
}

}  // namespace formulasearch
