#include <random>
#include <vector>

#include "check.hpp"
#include "formulasearch/linear_fit.hpp"

using namespace formulasearch;

int main() {
    // A planted exact model is recovered, with zero error.
    const std::size_t n = 40;
    std::mt19937 rng(7);
    std::normal_distribution<double> g;
    std::vector<double> x(2 * n), y(n);
    for (auto& v : x) v = g(rng);
    for (std::size_t s = 0; s < n; ++s) y[s] = 0.5 - 2.0 * x[s] + 3.0 * x[n + s];
    LinearFit f = fit_linear(x.data(), 2, n, y.data());
    CHECK(fs_test::close(f.intercept, 0.5, 1e-12));
    CHECK(fs_test::close(f.coefficients[0], -2.0, 1e-12));
    CHECK(fs_test::close(f.coefficients[1], 3.0, 1e-12));
    CHECK(f.rmse < 1e-12 && f.maxae < 1e-12 && fs_test::close(f.r2, 1.0, 1e-12));

    // With noise: residuals are orthogonal to the design (normal equations hold).
    for (auto& v : y) v += 0.1 * g(rng);
    f = fit_linear(x.data(), 2, n, y.data());
    double sum_r = 0, sum_rx0 = 0, sum_rx1 = 0, sse = 0, maxae = 0, sae = 0;
    for (std::size_t s = 0; s < n; ++s) {
        double r = y[s] - (f.intercept + f.coefficients[0] * x[s] + f.coefficients[1] * x[n + s]);
        sum_r += r, sum_rx0 += r * x[s], sum_rx1 += r * x[n + s], sse += r * r, sae += std::fabs(r);
        maxae = std::max(maxae, std::fabs(r));
    }
    CHECK(std::fabs(sum_r) < 1e-10 && std::fabs(sum_rx0) < 1e-10 && std::fabs(sum_rx1) < 1e-10);
    CHECK(fs_test::close(f.rmse, std::sqrt(sse / n), 1e-12));
    CHECK(fs_test::close(f.mae, sae / n, 1e-12));
    CHECK(fs_test::close(f.maxae, maxae, 1e-12));

    // Rank-deficient designs are refused: a constant feature, a repeated one.
    std::vector<double> bad(2 * n, 1.0);
    CHECK_THROWS(fit_linear(bad.data(), 1, n, y.data()));
    std::copy(x.begin(), x.begin() + n, bad.begin());
    std::copy(x.begin(), x.begin() + n, bad.begin() + n);
    CHECK_THROWS(fit_linear(bad.data(), 2, n, y.data()));
    return fs_test::report("test_linear_fit");
}
