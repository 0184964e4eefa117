#include "formulasearch/classification/logistic.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "features.hpp"
#include "logistic_kernel.hpp"
#include "newton_step.hpp"
#include "simd.hpp"
#include "standardize.hpp"
#include "vector_math.hpp"

namespace formulasearch {

namespace detail {

namespace {

constexpr double kSlack = 1e-9;  // a pruned fit's loss is above the bound by more than its own rounding

inline double lane_max(v8d v) {
    double l[8];
    store8(l, v);
    return std::max(std::max(std::max(l[0], l[1]), std::max(l[2], l[3])),
                    std::max(std::max(l[4], l[5]), std::max(l[6], l[7])));
}

// The penalty's share of the objective, gradient and Hessian (weights only; a
// negligible 1e-12 on the intercept keeps the Hessian definite).
template <int D>
void add_penalty(LogisticPoint& pt, double l2) {
    double pen = 0;
    for (int j = 1; j <= D; ++j) {
        pen += pt.w[j] * pt.w[j];
        pt.g[j] += l2 * pt.w[j];
        pt.h[j * (j + 1) / 2 + j] += l2;
    }
    pt.h[0] += 1e-12;
    pt.objective = pt.loss + 0.5 * l2 * pen;
}

// Loss, gradient and Hessian at pt.w in one pass; residuals and curvatures to r_out / c_out when given.
template <int D>
void fused_pass(const double* const* z, const BinaryProblems& P, int k, double l2, LogisticPoint& pt,
                double* r_out = nullptr, double* c_out = nullptr) {
    constexpr int p = D + 1, nh = p * (p + 1) / 2;
    const double *t = P.target_of(k), *sg = P.sign_of(k), *wt = P.weight.data();
    const v8d zero = splat(0.0), one = splat(1.0);
    v8d acc_loss = zero, acc_g[p], acc_h[nh], acc_pos[p], acc_dual = zero, acc_dual_pos = zero;
    for (int a = 0; a < p; ++a) acc_g[a] = acc_pos[a] = zero;
    for (int a = 0; a < nh; ++a) acc_h[a] = zero;
    v8d w[p];
    for (int a = 0; a < p; ++a) w[a] = splat(pt.w[a]);
    for (std::size_t s = 0; s < P.padded; s += kLanes) {
        v8d x[p];
        x[0] = one;
        for (int j = 0; j < D; ++j) x[j + 1] = load8(z[j] + s);
        v8d a = w[0];
        for (int j = 1; j < p; ++j) a += w[j] * x[j];
        const v8d m = load8(sg + s) * a;  // the sample's signed margin
        const v8d e = exp_nonpositive(select(lt(a, zero), a, -a));
        // One division for 1 / (1 + e) and log1p's quotient: 1 / ((1 + e) den).
        const v8l big = gt(e, splat(kLog1pSplit));
        const v8d num = select(big, e - one, e), den = select(big, e + splat(3.0), e + splat(2.0));
        const v8d q = one / ((one + e) * den);
        const v8d inv = q * den;
        const v8d prob = select(lt(a, zero), e * inv, inv);
        const v8d omega = load8(wt + s);
        const v8d ts = load8(t + s);
        const v8d r = omega * (prob - ts), c = omega * (e * inv * inv);
        const v8d loss = omega * (log1p_from_quotient(num * (one + e) * q, big) + select(lt(m, zero), -m, zero));
        acc_loss += loss;
        // The dual: alpha = sigma(-m); loss + alpha m per sample, all and positives.
        const v8d dual = loss + omega * select(lt(m, zero), inv, e * inv) * m;
        acc_dual += dual;
        acc_dual_pos += ts * dual;
        int idx = 0;
        for (int u = 0; u < p; ++u) {
            acc_g[u] += r * x[u];
            acc_pos[u] += ts * r * x[u];
            const v8d cx = c * x[u];
            for (int v = 0; v <= u; ++v) acc_h[idx++] += cx * x[v];
        }
        if (r_out) store8(r_out + s, r), store8(c_out + s, c);
    }
    pt.loss = lane_total(acc_loss);
    for (int a = 0; a < p; ++a) pt.g[a] = lane_total(acc_g[a]), pt.positive[a] = lane_total(acc_pos[a]);
    for (int a = 0; a < nh; ++a) pt.h[a] = lane_total(acc_h[a]);
    pt.dual = true;
    pt.dual_sum = lane_total(acc_dual);
    pt.dual_positive = lane_total(acc_dual_pos);
    add_penalty<D>(pt, l2);
}

// Gradient and Hessian at a start whose residuals and curvatures are stored: no exp.
template <int D>
void stored_pass(const double* const* z, std::size_t padded, const double* r, const double* c, double l2,
                 LogisticPoint& pt) {
    constexpr int p = D + 1, nh = p * (p + 1) / 2;
    const v8d zero = splat(0.0);
    v8d acc_g[p], acc_h[nh];
    for (int a = 0; a < p; ++a) acc_g[a] = zero;
    for (int a = 0; a < nh; ++a) acc_h[a] = zero;
    for (std::size_t s = 0; s < padded; s += kLanes) {
        v8d x[p];
        x[0] = splat(1.0);
        for (int j = 0; j < D; ++j) x[j + 1] = load8(z[j] + s);
        const v8d rs = load8(r + s), cs = load8(c + s);
        int idx = 0;
        for (int u = 0; u < p; ++u) {
            acc_g[u] += rs * x[u];
            const v8d cx = cs * x[u];
            for (int v = 0; v <= u; ++v) acc_h[idx++] += cx * x[v];
        }
    }
    const double loss = pt.loss;
    pt.dual = false;
    for (int a = 0; a < p; ++a) pt.g[a] = lane_total(acc_g[a]);
    for (int a = 0; a < nh; ++a) pt.h[a] = lane_total(acc_h[a]);
    add_penalty<D>(pt, l2);
    pt.loss = loss;
}

// |L^-1 b|^2 = b' M^-1 b.
double inverse_form(const double L[4][4], int p, const double* b) {
    double v[4], sum = 0;
    for (int a = 0; a < p; ++a) {
        double t = b[a];
        for (int k = 0; k < a; ++k) t -= L[a][k] * v[k];
        v[a] = t / L[a][a];
        sum += v[a] * v[a];
    }
    return sum;
}

// The largest |x_s|^2 in the M^-1 norm over the samples (x_s = (1, z_s)).
template <int D>
double largest_inverse_form(const double* const* z, std::size_t padded, const double L[4][4]) {
    constexpr int p = D + 1;
    v8d lmat[p][p], inv_diag[p];
    for (int a = 0; a < p; ++a) {
        inv_diag[a] = splat(1.0 / L[a][a]);
        for (int b = 0; b < a; ++b) lmat[a][b] = splat(L[a][b]);
    }
    v8d best = splat(0.0);
    for (std::size_t s = 0; s < padded; s += kLanes) {
        v8d x[p], v[p];
        x[0] = splat(1.0);
        for (int j = 0; j < D; ++j) x[j + 1] = load8(z[j] + s);
        v8d sum = splat(0.0);
        for (int a = 0; a < p; ++a) {
            v8d t = x[a];
            for (int b = 0; b < a; ++b) t -= lmat[a][b] * v[b];
            v[a] = t * inv_diag[a];
            sum += v[a] * v[a];
        }
        best = sum > best ? sum : best;
    }
    return lane_max(best);
}

// The dual bound of logistic_kernel.hpp on the loss of the fit's minimiser; -infinity without the dual sums.
template <int D>
double dual_lower_bound(const LogisticPoint& pt, double l2) {
    if (!pt.dual) return -std::numeric_limits<double>::infinity();
    // Loss-gradient terms r = weight (p - t) = -weight alpha y: sum_pos alpha = -positive[0], sum_neg alpha = the rest.
    const double a_pos = -pt.positive[0], a_neg = pt.g[0] - pt.positive[0];
    if (!(a_pos > 0) || !(a_neg > 0)) return -std::numeric_limits<double>::infinity();
    const double e_pos = pt.dual_positive, e_neg = pt.dual_sum - pt.dual_positive;
    // Scale the larger side's alphas by kappa <= 1 so that sum alpha y = 0; the entropy of
    // kappa alpha is at least kappa times that of alpha (concave, 0 at 0).
    const bool scale_pos = a_pos > a_neg;
    const double kappa = scale_pos ? a_neg / a_pos : a_pos / a_neg;
    double value = scale_pos ? kappa * e_pos + e_neg : e_pos + kappa * e_neg;
    double v2 = 0, w2 = 0;
    for (int j = 1; j <= D; ++j) {
        // v = sum weight alpha y z = -(sum of the loss gradient's terms), per side.
        const double v_pos = -pt.positive[j], v_neg = -(pt.g[j] - l2 * pt.w[j] - pt.positive[j]);
        const double v = scale_pos ? kappa * v_pos + v_neg : v_pos + kappa * v_neg;
        v2 += v * v;
        w2 += pt.w[j] * pt.w[j];
    }
    value -= v2 / (2.0 * l2);
    const double distance = std::sqrt(2.0 * std::max(pt.objective - value, 0.0) / l2);
    const double reach = std::sqrt(w2) + distance;
    return value - 0.5 * l2 * reach * reach - kSlack;
}

// A lower bound on the loss of the fit's minimiser, from the point pt (see
// logistic_kernel.hpp); -infinity where the bound does not hold yet. Returns
// early, with a value <= `above`, when even the optimistic bound would not prune.
template <int D>
double loss_lower_bound(const double* const* z, const double* zmax2, std::size_t padded, const LogisticPoint& pt,
                        double l2, double above, bool exact) {
    constexpr int p = D + 1;
    const double shrink = std::exp(-1.0);
    double M[10];
    for (int a = 0, idx = 0; a < p; ++a)
        for (int b = 0; b <= a; ++b, ++idx) {
            const bool penalised = a == b && a > 0;
            M[idx] = shrink * (pt.h[idx] - (penalised ? l2 : 0.0)) + (penalised ? l2 : 0.0);
        }
    double L[4][4];
    if (!cholesky(M, p, L, true)) return dual_lower_bound<D>(pt, l2);
    double grad_loss[4];
    for (int a = 0; a < p; ++a) grad_loss[a] = pt.g[a] - (a > 0 ? l2 * pt.w[a] : 0.0);
    const double nu2 = inverse_form(L, p, pt.g.data()), nu_loss2 = inverse_form(L, p, grad_loss);
    const double bound = pt.loss - 2.0 * std::sqrt(nu2 * nu_loss2) - kSlack;
    if (!(bound > above)) return bound;
    const double dual = dual_lower_bound<D>(pt, l2);
    if (dual > above) return dual;
    // Valid when 2 nu rho < 1: first by a cheap upper bound on rho^2 (|x|^2 times trace M^-1), else exactly.
    double radius2 = 1.0, trace = 0;
    for (int j = 0; j < D; ++j) radius2 += zmax2[j];
    for (int a = 0; a < p; ++a) {
        double unit[4] = {0, 0, 0, 0};
        unit[a] = 1.0;
        trace += inverse_form(L, p, unit);
    }
    if (4.0 * nu2 * radius2 * trace < 1.0) return bound;
    if (exact && 4.0 * nu2 * largest_inverse_form<D>(z, padded, L) < 1.0) return bound;
    return -std::numeric_limits<double>::infinity();
}

template <int D>
bool newton(const double* const* z, const double* zmax2, const BinaryProblems& P, int k, LogisticPoint pt,
            const LogisticOptions& opt, double prune_above, BinaryFit& fit) {
    constexpr int p = D + 1;
    const bool prune = prune_above < std::numeric_limits<double>::infinity();
    fit = BinaryFit{};
    LogisticPoint trial;
    for (int it = 0; it < opt.max_iterations; ++it) {
        double gmax = 0;
        for (int a = 0; a < p; ++a) gmax = std::max(gmax, std::fabs(pt.g[a]));
        fit.iterations = it;
        if (gmax < opt.tolerance) {
            fit.converged = true;
            break;
        }
        // Early on (the warm start, one step after it) nu is rarely small enough for the
        // trust-region bound to hold: only its cheap test (and the dual bound) is tried there.
        if (prune && loss_lower_bound<D>(z, zmax2, P.padded, pt, opt.l2, prune_above, it > 1) > prune_above)
            return false;
        double d[4];
        const double slope = newton_direction(pt.h.data(), pt.g.data(), p, d);
        const bool moved = damped_step(pt.objective, slope, [&](double step) {
            for (int a = 0; a < p; ++a) trial.w[a] = pt.w[a] - step * d[a];
            fused_pass<D>(z, P, k, opt.l2, trial);
            return trial.objective;
        });
        if (!moved) {  // no descent left at machine precision: the minimum
            fit.converged = true;
            break;
        }
        pt = trial;
        fit.iterations = it + 1;
    }
    fit.w = pt.w;
    fit.loss = pt.loss;
    return true;
}

template <int D>
bool fit_from(const double* const* z, const double* zmax2, const BinaryProblems& P, int k, const WarmStart& start,
              const LogisticOptions& opt, double prune_above, BinaryFit& fit, double* r_out, double* c_out) {
    LogisticPoint pt;
    pt.w[0] = start.intercept;
    if (start.position >= 0) pt.w[static_cast<std::size_t>(start.position) + 1] = start.weight;
    if (start.r) {
        pt.loss = start.loss;
        stored_pass<D>(z, P.padded, start.r, start.c, opt.l2, pt);
        pt.objective = start.objective;
    } else {
        fused_pass<D>(z, P, k, opt.l2, pt);
    }
    if (!newton<D>(z, zmax2, P, k, pt, opt, prune_above, fit)) return false;
    if (r_out) {  // the final point's residuals and curvatures, for fits that start from this one
        LogisticPoint at;
        at.w = fit.w;
        fused_pass<D>(z, P, k, opt.l2, at, r_out, c_out);
    }
    return true;
}

}  // namespace

LogisticPrior::LogisticPrior(const BinaryProblems& P) {
    const auto cells = static_cast<std::size_t>(P.count) * P.padded;
    r.assign(cells, 0.0), c.assign(cells, 0.0);
    for (int k = 0; k < P.count; ++k) {
        const std::size_t row = static_cast<std::size_t>(k) * P.padded;
        const double* t = P.target_of(k);
        double share = 0;  // weighted share of the positive class: the prior probability
        for (std::size_t s = 0; s < P.n; ++s) share += P.weight[s] * t[s];
        WarmStart st;
        st.intercept = std::log(share / (1.0 - share));
        double loss = 0;
        for (std::size_t s = 0; s < P.n; ++s) {
            r[row + s] = P.weight[s] * (share - t[s]);
            c[row + s] = P.weight[s] * share * (1.0 - share);
            loss -= P.weight[s] * std::log(t[s] > 0 ? share : 1.0 - share);
        }
        st.loss = st.objective = loss;
        start.push_back(st);
    }
    for (int k = 0; k < P.count; ++k) {  // pointers once the arrays are final
        start[static_cast<std::size_t>(k)].r = r.data() + static_cast<std::size_t>(k) * P.padded;
        start[static_cast<std::size_t>(k)].c = c.data() + static_cast<std::size_t>(k) * P.padded;
    }
}

void check_logistic_options(const LogisticOptions& o) {
    if (!(o.l2 > 0)) throw std::invalid_argument("l2 must be positive (it keeps separable data's weights finite)");
    if (o.max_iterations < 1) throw std::invalid_argument("max_iterations must be at least 1");
}

bool fit_binary(const double* const* z, int dim, const double* zmax2, const BinaryProblems& P, int k,
                const WarmStart& start, const LogisticOptions& opt, double prune_above, BinaryFit& fit, double* r_out,
                double* c_out) {
    switch (dim) {
        case 1: return fit_from<1>(z, zmax2, P, k, start, opt, prune_above, fit, r_out, c_out);
        case 2: return fit_from<2>(z, zmax2, P, k, start, opt, prune_above, fit, r_out, c_out);
        case 3: return fit_from<3>(z, zmax2, P, k, start, opt, prune_above, fit, r_out, c_out);
        default: throw std::invalid_argument("logistic separator: 1 to 3 features");
    }
}

double logistic_loss(const double* const* z, int dim, const double* zmax2, const BinaryProblems& P,
                     const WarmStart* starts, const LogisticOptions& opt, double prune_above) {
    double sum = 0;
    const bool prune = prune_above < std::numeric_limits<double>::infinity();
    BinaryFit fit;
    for (int k = 0; k < P.count; ++k) {
        // The other problems' losses are >= 0: this one alone must stay below what is left of the mean's bound.
        const double above = prune ? P.count * prune_above - sum : prune_above;
        if (!fit_binary(z, dim, zmax2, P, k, starts[k], opt, above, fit)) return std::numeric_limits<double>::infinity();
        sum += fit.loss;
    }
    return sum / P.count;
}

}  // namespace detail

LogisticModel fit_logistic(const double* const* features, int dim, const ClassLabels& labels,
                           const LogisticOptions& opt) {
    const std::size_t n = labels.label.size();
    detail::check_logistic_options(opt);
    detail::check_features(features, dim, n);
    if (dim > 3) throw std::invalid_argument("logistic separator: 1 to 3 features");
    const detail::BinaryProblems problems(labels);
    const detail::LogisticPrior prior(problems);
    std::vector<std::vector<double>> z(static_cast<std::size_t>(dim), std::vector<double>(problems.padded, 0.0));
    std::vector<const double*> zp;
    std::vector<double> mean(static_cast<std::size_t>(dim)), scale(static_cast<std::size_t>(dim)),
        zmax2(static_cast<std::size_t>(dim), 0.0);
    for (int j = 0; j < dim; ++j) {
        const auto u = static_cast<std::size_t>(j);
        detail::Moments m;
        if (!detail::standardize(features[j], n, detail::Scale::UnitStd, z[u].data(), 1, &m))
            throw std::invalid_argument("logistic separator: feature " + std::to_string(j) + " is constant");
        // The weights of the standardised features, back in the features' units.
        mean[u] = m.mean, scale[u] = detail::scale_of(m, n, detail::Scale::UnitStd);
        for (std::size_t s = 0; s < n; ++s) zmax2[u] = std::max(zmax2[u], z[u][s] * z[u][s]);
        zp.push_back(z[u].data());
    }
    LogisticModel model;
    model.dim = dim;
    model.n_classes = labels.n_classes;
    model.converged = true;
    for (int k = 0; k < problems.count; ++k) {
        detail::BinaryFit b;
        detail::fit_binary(zp.data(), dim, zmax2.data(), problems, k, prior.start[static_cast<std::size_t>(k)], opt,
                           std::numeric_limits<double>::infinity(), b);
        model.loss += b.loss;
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
    model.loss /= problems.count;
    const std::vector<int> pred = model.predict(features, n);
    std::size_t right = 0;
    for (std::size_t s = 0; s < n; ++s) right += pred[s] == labels.label[s];
    model.accuracy = static_cast<double>(right) / static_cast<double>(n);
    return model;
}

}  // namespace formulasearch
