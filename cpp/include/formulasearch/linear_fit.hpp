// A fitted linear model y ~ c0 + sum_i c_i x_i and its error metrics.
#pragma once

#include <cstddef>
#include <vector>

namespace formulasearch {

struct LinearFit {
    double intercept = 0;
    std::vector<double> coefficients;
    double rmse = 0, mae = 0, maxae = 0, r2 = 0;
};

// Ordinary least squares with an intercept, solved by column-pivoted
// Householder QR of the raw design (never the normal equations), so the
// reported numbers do not inherit the conditioning of a Gram matrix.
// `features`: d features x n samples, row-major. Throws std::invalid_argument
// when the design is rank deficient (e.g. a constant or repeated feature).
LinearFit fit_linear(const double* features, std::size_t d, std::size_t n, const double* y);

}  // namespace formulasearch
