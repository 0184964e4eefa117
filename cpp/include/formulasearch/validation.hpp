// Out-of-sample errors of a fixed linear model (OLS with intercept on d
// features): leave-one-out in closed form, k-fold and random train/test splits.
// Fold and split plans are seedable and independent of any candidate, so every
// candidate is judged on the same splits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace formulasearch {

using TestSets = std::vector<std::vector<std::uint32_t>>;  // held-out sample indices, one list per fold/split

// Leave-one-out residuals e_i / (1 - h_ii) from one QR of the design (h_ii:
// the hat matrix diagonal); PRESS is the sum of their squares.
// `features`: d x n row-major. Throws on a rank-deficient design or h_ii = 1.
std::vector<double> loo_residuals(const double* features, std::size_t d, std::size_t n, const double* y);

// Refit on the complement of each test set (QR) and return the test-set MSE of each.
std::vector<double> test_set_mse(const double* features, std::size_t d, std::size_t n, const double* y,
                                 const TestSets& tests);

// k folds of a shuffled 0..n-1 (seeded), sizes differing by at most one.
TestSets kfold_sets(std::size_t n, std::size_t k, std::uint64_t seed);
// n_splits random test sets of round(test_fraction * n) samples each (seeded).
TestSets random_splits(std::size_t n, std::size_t n_splits, double test_fraction, std::uint64_t seed);

}  // namespace formulasearch
