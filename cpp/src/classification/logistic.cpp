#include "formulasearch/classification/logistic.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "features.hpp"
#include "logistic_kernel.hpp"
#include "standardize.hpp"

namespace formulasearch {

namespace {

using detail::BinaryFit;

double log1pexp(double m) { return m > 0 ? m + std::log1p(std::exp(-m)) : std::log1p(std::exp(m)); }

BinaryFit fit_binary(const double* const* z, int dim, std::size_t n, const std::vector<char>& t,
                     const LogisticOptions& opt) {
    const int p = dim + 1;
    const double inv_n = 1.0 / static_cast<double>(n);
    std::vector<double> w(static_cast<std::size_t>(p), 0.0), trial(w.size());
    auto linear = [&](const std::vector<double>& v, std::size_t s) {
        double a = v[0];
        for (int j = 0; j < dim; ++j) a += v[static_cast<std::size_t>(j + 1)] * z[j][s];
        return a;
    };
    // Mean log-loss, and the penalised objective.
    auto objective = [&](const std::vector<double>& v, double* mean_loss) {
        double loss = 0;
        for (std::size_t s = 0; s < n; ++s) {
            const double a = linear(v, s);
            loss += log1pexp(t[s] ? -a : a);
        }
        loss *= inv_n;
        if (mean_loss) *mean_loss = loss;
        double pen = 0;
        for (int j = 1; j < p; ++j) pen += v[static_cast<std::size_t>(j)] * v[static_cast<std::size_t>(j)];
        return loss + 0.5 * opt.l2 * pen;
    };
    BinaryFit fit;
    double f = objective(w, &fit.loss);
    double g[4], H[4][4];
    for (int it = 0; it < opt.max_iterations; ++it) {
        for (int a = 0; a < p; ++a) {
            g[a] = a > 0 ? opt.l2 * w[static_cast<std::size_t>(a)] : 0.0;
            for (int b = 0; b < p; ++b) H[a][b] = (a == b && a > 0) ? opt.l2 : (a == b ? 1e-12 : 0.0);
        }
        for (std::size_t s = 0; s < n; ++s) {
            const double prob = 1.0 / (1.0 + std::exp(-linear(w, s)));
            const double r = (prob - (t[s] ? 1.0 : 0.0)) * inv_n, h = prob * (1.0 - prob) * inv_n;
            double row[4] = {1.0, 0, 0, 0};
            for (int j = 0; j < dim; ++j) row[j + 1] = z[j][s];
            for (int a = 0; a < p; ++a) {
                g[a] += r * row[a];
                for (int b = 0; b <= a; ++b) H[a][b] += h * row[a] * row[b];
            }
        }
        double gmax = 0;
        for (int a = 0; a < p; ++a) gmax = std::max(gmax, std::fabs(g[a]));
        fit.iterations = it;
        if (gmax < opt.tolerance) {
            fit.converged = true;
            break;
        }
        // Solve H d = g by Cholesky (H is symmetric positive definite).
        double L[4][4] = {}, d[4];
        for (int a = 0; a < p; ++a)
            for (int b = 0; b <= a; ++b) {
                double v = H[a][b];
                for (int k = 0; k < b; ++k) v -= L[a][k] * L[b][k];
                L[a][b] = a == b ? std::sqrt(std::max(v, 1e-300)) : v / L[b][b];
            }
        for (int a = 0; a < p; ++a) {
            double v = g[a];
            for (int k = 0; k < a; ++k) v -= L[a][k] * d[k];
            d[a] = v / L[a][a];
        }
        for (int a = p - 1; a >= 0; --a) {
            double v = d[a];
            for (int k = a + 1; k < p; ++k) v -= L[k][a] * d[k];
            d[a] = v / L[a][a];
        }
        // Damped step: halve until the objective does not increase.
        double slope = 0;
        for (int a = 0; a < p; ++a) slope += g[a] * d[a];
        double step = 1.0, f_trial = f, loss_trial = fit.loss;
        bool moved = false;
        for (int half = 0; half < 60; ++half, step *= 0.5) {
            for (int a = 0; a < p; ++a) trial[static_cast<std::size_t>(a)] = w[static_cast<std::size_t>(a)] - step * d[a];
            f_trial = objective(trial, &loss_trial);
            if (f_trial <= f - 1e-4 * step * slope) {
                moved = true;
                break;
            }
        }
        if (!moved) {  // no descent left at machine precision: the minimum
            fit.converged = true;
            break;
        }
        w.swap(trial);
        f = f_trial;
        fit.loss = loss_trial;
        fit.iterations = it + 1;
    }
    fit.w = std::move(w);
    return fit;
}

}  // namespace

namespace detail {

void check_logistic_options(const LogisticOptions& o) {
    if (!(o.l2 > 0)) throw std::invalid_argument("l2 must be positive (it keeps separable data's weights finite)");
    if (o.max_iterations < 1) throw std::invalid_argument("max_iterations must be at least 1");
}

StandardisedLogistic fit_standardised(const double* const* z, int dim, const ClassLabels& labels,
                                      const LogisticOptions& opt) {
    if (dim < 1 || dim > 3) throw std::invalid_argument("logistic separator: 1 to 3 features");
    const std::size_t n = labels.label.size();
    StandardisedLogistic out;
    const int n_problems = labels.n_classes == 2 ? 1 : labels.n_classes;
    std::vector<char> t(n);
    for (int k = 0; k < n_problems; ++k) {
        const int positive = labels.n_classes == 2 ? 1 : k;
        for (std::size_t s = 0; s < n; ++s) t[s] = labels.label[s] == positive;
        out.problems.push_back(fit_binary(z, dim, n, t, opt));
        out.loss += out.problems.back().loss;
    }
    out.loss /= n_problems;
    return out;
}

}  // namespace detail

std::vector<int> LogisticModel::predict(const double* const* features, std::size_t n) const {
    std::vector<int> out(n);
    for (std::size_t s = 0; s < n; ++s) {
        auto score = [&](std::size_t k) {
            double a = intercept[k];
            for (int j = 0; j < dim; ++j) a += coefficients[k][static_cast<std::size_t>(j)] * features[j][s];
            return a;
        };
        if (n_classes == 2) {
            out[s] = score(0) > 0 ? 1 : 0;
            continue;
        }
        std::size_t best = 0;
        for (std::size_t k = 1; k < intercept.size(); ++k)
            if (score(k) > score(best)) best = k;
        out[s] = static_cast<int>(best);
    }
    return out;
}

LogisticModel fit_logistic(const double* const* features, int dim, const ClassLabels& labels,
                           const LogisticOptions& opt) {
    const std::size_t n = labels.label.size();
    detail::check_logistic_options(opt);
    detail::check_features(features, dim, n);
    std::vector<std::vector<double>> z(static_cast<std::size_t>(dim), std::vector<double>(n));
    std::vector<const double*> zp;
    std::vector<double> mean(static_cast<std::size_t>(dim)), scale(static_cast<std::size_t>(dim));
    for (int j = 0; j < dim; ++j) {
        const auto u = static_cast<std::size_t>(j);
        detail::Moments m;
        if (!detail::standardize(features[j], n, detail::Scale::UnitStd, z[u].data(), 1, &m))
            throw std::invalid_argument("logistic separator: feature " + std::to_string(j) + " is constant");
        // The weights of the standardised features, back in the features' units.
        mean[u] = m.mean, scale[u] = detail::scale_of(m, n, detail::Scale::UnitStd);
        zp.push_back(z[u].data());
    }
    const detail::StandardisedLogistic fit = detail::fit_standardised(zp.data(), dim, labels, opt);
    LogisticModel model;
    model.dim = dim;
    model.n_classes = labels.n_classes;
    model.loss = fit.loss;
    for (const BinaryFit& b : fit.problems) {
        double icpt = b.w[0];
        std::vector<double> coef(static_cast<std::size_t>(dim));
        for (int j = 0; j < dim; ++j) {
            const auto u = static_cast<std::size_t>(j);
            coef[u] = b.w[u + 1] / scale[u];
            icpt -= coef[u] * mean[u];
        }
        model.intercept.push_back(icpt);
        model.coefficients.push_back(std::move(coef));
        model.iterations = std::max(model.iterations, b.iterations);
        model.converged = model.converged && b.converged;
    }
    const std::vector<int> pred = model.predict(features, n);
    std::size_t right = 0;
    for (std::size_t s = 0; s < n; ++s) right += pred[s] == labels.label[s];
    model.accuracy = static_cast<double>(right) / static_cast<double>(n);
    return model;
}

}  // namespace formulasearch
