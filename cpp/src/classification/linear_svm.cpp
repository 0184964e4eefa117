#include "formulasearch/classification/linear_svm.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "features.hpp"
#include "newton_step.hpp"
#include "simd.hpp"
#include "svm_kernel.hpp"

namespace formulasearch {

namespace detail {

namespace {

struct SvmPoint {
    std::array<double, 4> v{};
    double objective = 0;
    std::array<double, 4> g{};
    std::array<double, 10> h{};  // packed lower triangle
};

// Objective, gradient and (generalised) Hessian at pt.v in one pass; cw = c times the total class weight.
template <int D>
void svm_pass(const double* const* z, const BinaryProblems& P, int k, double cw, SvmPoint& pt) {
    constexpr int p = D + 1, nh = p * (p + 1) / 2;
    const double *sg = P.sign_of(k), *wt = P.weight.data();
    const v8d zero = splat(0.0), one = splat(1.0);
    v8d acc_loss = zero, acc_g[p], acc_h[nh], v[p];
    for (int a = 0; a < p; ++a) acc_g[a] = zero, v[a] = splat(pt.v[a]);
    for (int a = 0; a < nh; ++a) acc_h[a] = zero;
    for (std::size_t s = 0; s < P.padded; s += kLanes) {
        v8d x[p];
        x[0] = one;
        for (int j = 0; j < D; ++j) x[j + 1] = load8(z[j] + s);
        v8d a = v[0];
        for (int j = 1; j < p; ++j) a += v[j] * x[j];
        const v8d y = load8(sg + s), omega = load8(wt + s);
        const v8d slack = one - y * a;
        const v8l active = gt(slack, zero);
        const v8d wslack = select(active, omega * slack, zero), wactive = select(active, omega, zero);
        acc_loss += wslack * slack;
        const v8d gy = wslack * y;
        int idx = 0;
        for (int u = 0; u < p; ++u) {
            acc_g[u] += gy * x[u];
            const v8d ax = wactive * x[u];
            for (int t = 0; t <= u; ++t) acc_h[idx++] += ax * x[t];
        }
    }
    double norm2 = 0;
    for (int a = 0; a < p; ++a) norm2 += pt.v[a] * pt.v[a];
    pt.objective = 0.5 * norm2 + cw * lane_total(acc_loss);
    for (int a = 0, idx = 0; a < p; ++a) {
        pt.g[a] = pt.v[a] - 2.0 * cw * lane_total(acc_g[a]);
        for (int b = 0; b <= a; ++b, ++idx) pt.h[idx] = 2.0 * cw * lane_total(acc_h[idx]) + (a == b ? 1.0 : 0.0);
    }
}

template <int D>
int svm_newton(const double* const* z, const BinaryProblems& P, int k, const SvmOptions& opt, std::array<double, 4>& v) {
    constexpr int p = D + 1;
    const double cw = opt.c * P.total_weight;
    SvmPoint pt, trial;
    pt.v = v;
    svm_pass<D>(z, P, k, cw, pt);
    double g0 = 0;
    for (int a = 0; a < p; ++a) g0 = std::max(g0, std::fabs(pt.g[a]));
    const double stop = opt.tolerance * std::max(1.0, g0);
    int it = 0;
    for (;; ++it) {
        double gmax = 0;
        for (int a = 0; a < p; ++a) gmax = std::max(gmax, std::fabs(pt.g[a]));
        if (gmax <= stop) break;
        if (it == opt.max_iterations) {
            it = -it;
            break;
        }
        // Newton direction: the Hessian is at least the identity, so Cholesky never fails.
        double d[4];
        const double slope = newton_direction(pt.h.data(), pt.g.data(), p, d);
        const bool moved = damped_step(pt.objective, slope, [&](double step) {
            for (int a = 0; a < p; ++a) trial.v[a] = pt.v[a] - step * d[a];
            svm_pass<D>(z, P, k, cw, trial);
            return trial.objective;
        });
        if (!moved) break;  // no descent left at machine precision
        pt = trial;
    }
    v = pt.v;
    return it;
}

}  // namespace

void check_svm_options(const SvmOptions& o) {
    if (!(o.c > 0)) throw std::invalid_argument("the SVM's c must be positive");
    if (o.max_iterations < 1) throw std::invalid_argument("max_iterations must be at least 1");
}

int fit_svm(const double* const* z, int dim, const BinaryProblems& P, int k, const SvmOptions& opt,
            std::array<double, 4>& v) {
    switch (dim) {
        case 1: return svm_newton<1>(z, P, k, opt, v);
        case 2: return svm_newton<2>(z, P, k, opt, v);
        case 3: return svm_newton<3>(z, P, k, opt, v);
        default: throw std::invalid_argument("linear SVM: 1 to 3 features");
    }
}

}  // namespace detail

SvmModel fit_linear_svm(const double* const* features, int dim, const ClassLabels& labels, const SvmOptions& opt) {
    const std::size_t n = labels.label.size();
    detail::check_svm_options(opt);
    detail::check_features(features, dim, n);
    if (dim > 3) throw std::invalid_argument("linear SVM: 1 to 3 features");
    const detail::BinaryProblems problems(labels);
    std::vector<std::vector<double>> x(static_cast<std::size_t>(dim), std::vector<double>(problems.padded, 0.0));
    std::vector<const double*> xp;
    for (int j = 0; j < dim; ++j) {
        std::copy(features[j], features[j] + n, x[static_cast<std::size_t>(j)].begin());
        xp.push_back(x[static_cast<std::size_t>(j)].data());
    }
    SvmModel model;
    model.dim = dim;
    model.n_classes = labels.n_classes;
    for (int k = 0; k < problems.count; ++k) {
        std::array<double, 4> v{};
        const int it = detail::fit_svm(xp.data(), dim, problems, k, opt, v);
        model.iterations = std::max(model.iterations, it < 0 ? -it : it);
        model.converged = model.converged && it >= 0;
        model.intercept.push_back(v[0]);
        model.coefficients.emplace_back(v.begin() + 1, v.begin() + 1 + dim);
    }
    return model;
}

}  // namespace formulasearch
