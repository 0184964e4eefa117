#include "formulasearch/classification.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "candidate_stream.hpp"
#include "formulasearch/top_k.hpp"
#include "plane_geometry.hpp"

namespace formulasearch {

using detail::Point;

ClassLabels::ClassLabels(std::vector<int> labels, std::size_t min_per_class) : label(std::move(labels)) {
    int top = -1;
    for (int c : label) {
        if (c < 0) throw std::invalid_argument("class labels must be 0, 1, 2, ...; got " + std::to_string(c));
        top = std::max(top, c);
    }
    n_classes = top + 1;
    if (n_classes < 2) throw std::invalid_argument("classification needs at least two classes");
    class_sizes.assign(static_cast<std::size_t>(n_classes), 0);
    for (int c : label) ++class_sizes[static_cast<std::size_t>(c)];
    for (int c = 0; c < n_classes; ++c)
        if (class_sizes[static_cast<std::size_t>(c)] < min_per_class)
            throw std::invalid_argument("class " + std::to_string(c) + " has " +
                                        std::to_string(class_sizes[static_cast<std::size_t>(c)]) +
                                        " samples; each class needs at least " + std::to_string(min_per_class));
}

namespace {

constexpr double kOnHull = 1e-10;  // containment tolerance, in standard deviations

// (x - mean) / population std; false if constant or non-finite.
bool standardise(const double* x, std::size_t n, double* z, double* mean_out = nullptr, double* scale_out = nullptr) {
    double mean = 0;
    for (std::size_t s = 0; s < n; ++s) mean += x[s];
    mean /= static_cast<double>(n);
    double ss = 0;
    for (std::size_t s = 0; s < n; ++s) ss += (x[s] - mean) * (x[s] - mean);
    const double scale = std::sqrt(ss / static_cast<double>(n));
    if (!(scale > 0) || !std::isfinite(scale)) return false;
    for (std::size_t s = 0; s < n; ++s) z[s] = (x[s] - mean) / scale;
    if (mean_out) *mean_out = mean;
    if (scale_out) *scale_out = scale;
    return true;
}

// Samples inside or on another class's hull, on standardised coordinates.
// Stops early (count > bound) once the candidate cannot be kept; appends the
// samples to `members` when given.
SeparationKey overlap_2d_standardised(const double* x, const double* y, const ClassLabels& labels, std::uint32_t bound,
                                      std::vector<std::uint32_t>* members) {
    const std::size_t n = labels.label.size();
    const auto C = static_cast<std::size_t>(labels.n_classes);
    std::vector<std::vector<Point>> hulls(C);
    for (std::size_t s = 0; s < n; ++s) hulls[static_cast<std::size_t>(labels.label[s])].push_back({x[s], y[s]});
    struct Box { double x0, x1, y0, y1; };
    std::vector<Box> boxes(C);
    for (std::size_t c = 0; c < C; ++c) {
        hulls[c] = detail::convex_hull(hulls[c]);
        Box b{hulls[c][0].x, hulls[c][0].x, hulls[c][0].y, hulls[c][0].y};
        for (const Point& p : hulls[c]) b = {std::min(b.x0, p.x), std::max(b.x1, p.x), std::min(b.y0, p.y), std::max(b.y1, p.y)};
        boxes[c] = b;
    }
    SeparationKey key;
    for (std::size_t s = 0; s < n; ++s) {
        const Point p{x[s], y[s]};
        for (std::size_t c = 0; c < C; ++c) {
            if (c == static_cast<std::size_t>(labels.label[s])) continue;
            const Box& b = boxes[c];
            if (p.x < b.x0 - kOnHull || p.x > b.x1 + kOnHull || p.y < b.y0 - kOnHull || p.y > b.y1 + kOnHull) continue;
            if (detail::contains(hulls[c], p, kOnHull)) {
                ++key.count;
                if (members) members->push_back(static_cast<std::uint32_t>(s));
                break;
            }
        }
        if (key.count > bound) return {key.count, std::numeric_limits<double>::infinity()};
    }
    double area = 0, gap = std::numeric_limits<double>::infinity();
    for (std::size_t a = 0; a < C; ++a)
        for (std::size_t b = a + 1; b < C; ++b) {
            area += detail::intersection_area(hulls[a], hulls[b]);
            gap = std::min(gap, detail::hull_distance(hulls[a], hulls[b]));
        }
    key.value = area > 0 ? area : -gap;
    return key;
}

// The domain of each class in 1D: the interval [lo, hi] of its values.
struct Intervals {
    std::vector<double> lo, hi;
    Intervals(const double* x, const ClassLabels& labels)
        : lo(static_cast<std::size_t>(labels.n_classes), std::numeric_limits<double>::infinity()),
          hi(static_cast<std::size_t>(labels.n_classes), -std::numeric_limits<double>::infinity()) {
        for (std::size_t s = 0; s < labels.label.size(); ++s) {
            const auto c = static_cast<std::size_t>(labels.label[s]);
            lo[c] = std::min(lo[c], x[s]);
            hi[c] = std::max(hi[c], x[s]);
        }
    }
    // In (closed) the interval of a class other than `own`.
    bool in_other(double v, int own) const {
        for (std::size_t c = 0; c < lo.size(); ++c)
            if (c != static_cast<std::size_t>(own) && lo[c] <= v && v <= hi[c]) return true;
        return false;
    }
};

// One binary problem: weights w (intercept first) of the penalised logistic
// regression of t (0/1) on the standardised features z.
struct BinaryFit {
    std::vector<double> w;
    double loss = 0;
    int iterations = 0;
    bool converged = false;
};

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

struct StandardisedLogistic {
    std::vector<BinaryFit> problems;  // one for two classes, else one per class
    double loss = 0;
};

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

void check_features(const double* const* features, int dim, std::size_t n) {
    if (dim < 1) throw std::invalid_argument("need at least one feature");
    for (int j = 0; j < dim; ++j)
        for (std::size_t s = 0; s < n; ++s)
            if (!std::isfinite(features[j][s])) throw std::invalid_argument("feature values must be finite");
}

}  // namespace

SeparationKey overlap_1d(const double* x, const ClassLabels& labels) {
    const std::size_t n = labels.label.size();
    const Intervals dom(x, labels);
    SeparationKey key;
    for (std::size_t s = 0; s < n; ++s) key.count += dom.in_other(x[s], labels.label[s]);
    // Overlap of each pair of intervals: positive when they overlap, minus the gap otherwise.
    double summed = 0, closest = -std::numeric_limits<double>::infinity();
    for (std::size_t a = 0; a < dom.lo.size(); ++a)
        for (std::size_t b = a + 1; b < dom.lo.size(); ++b) {
            const double ov = std::min(dom.hi[a], dom.hi[b]) - std::max(dom.lo[a], dom.lo[b]);
            summed += std::max(ov, 0.0);
            closest = std::max(closest, ov);
        }
    const double range = *std::max_element(dom.hi.begin(), dom.hi.end()) - *std::min_element(dom.lo.begin(), dom.lo.end());
    if (!(range > 0)) return {key.count, 0.0};
    key.value = (key.count > 0 ? summed : closest) / range;
    return key;
}

SeparationKey overlap_2d(const double* x, const double* y, const ClassLabels& labels) {
    const std::size_t n = labels.label.size();
    std::vector<double> zx(n), zy(n);
    if (!standardise(x, n, zx.data()) || !standardise(y, n, zy.data()))
        throw std::invalid_argument("overlap_2d: a feature is constant or not finite");
    return overlap_2d_standardised(zx.data(), zy.data(), labels, std::numeric_limits<std::uint32_t>::max(), nullptr);
}

std::vector<std::uint32_t> overlap_members(const double* const* features, int dim, const ClassLabels& labels) {
    const std::size_t n = labels.label.size();
    check_features(features, dim, n);
    std::vector<std::uint32_t> members;
    if (dim == 1) {
        const Intervals dom(features[0], labels);
        for (std::size_t s = 0; s < n; ++s)
            if (dom.in_other(features[0][s], labels.label[s])) members.push_back(static_cast<std::uint32_t>(s));
        return members;
    }
    if (dim != 2) throw std::invalid_argument("domain overlap is defined for 1 or 2 features");
    std::vector<double> zx(n), zy(n);
    if (!standardise(features[0], n, zx.data()) || !standardise(features[1], n, zy.data()))
        throw std::invalid_argument("overlap: a feature is constant");
    overlap_2d_standardised(zx.data(), zy.data(), labels, std::numeric_limits<std::uint32_t>::max(), &members);
    return members;
}

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
    check_features(features, dim, n);
    std::vector<std::vector<double>> z(static_cast<std::size_t>(dim), std::vector<double>(n));
    std::vector<const double*> zp;
    std::vector<double> mean(static_cast<std::size_t>(dim)), scale(static_cast<std::size_t>(dim));
    for (int j = 0; j < dim; ++j) {
        const auto u = static_cast<std::size_t>(j);
        if (!standardise(features[j], n, z[u].data(), &mean[u], &scale[u]))
            throw std::invalid_argument("logistic separator: feature " + std::to_string(j) + " is constant");
        zp.push_back(z[u].data());
    }
    const StandardisedLogistic fit = fit_standardised(zp.data(), dim, labels, opt);
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

namespace {

void check_search_input(const ClassLabels& labels, std::size_t n) {
    if (labels.label.size() != n) throw std::invalid_argument("number of labels does not match the number of samples");
    for (std::size_t c : labels.class_sizes)
        if (c < 2) throw std::invalid_argument("each class needs at least 2 samples to have a domain");
    if (n < 3) throw std::invalid_argument("need at least 3 samples");
}

}  // namespace

ClassScreenResult screen_classes(const CandidateSource& source, const ClassLabels& labels, const ClassifyOptions& opt,
                                 Progress* progress) {
    const std::size_t n = source.n_samples();
    check_search_input(labels, n);
    ClassScreenResult res;
    TopK<ClassifiedCandidate> top(opt.screen.keep);
    detail::stream_candidates<SeparationKey>(
        source, opt.screen, progress, "screening", res,
        [&](const double* x, std::size_t len, const detail::Moments& m) {
            if (opt.score == SeparationScore::Overlap) return overlap_1d(x, labels);
            std::vector<double> z(len);
            const double scale = std::sqrt(m.sxx / static_cast<double>(len));
            for (std::size_t s = 0; s < len; ++s) z[s] = (x[s] - m.mean) / scale;
            const double* zp = z.data();
            return SeparationKey{0, fit_standardised(&zp, 1, labels, opt.logistic).loss};
        },
        [&](const SeparationKey& key, std::uint64_t index) { top.push({key, index}); });
    res.top = top.sorted();
    return res;
}

PairSearchResult search_class_pairs(const double* values, std::size_t m, const ClassLabels& labels,
                                    const ClassifyOptions& opt, Progress* progress) {
    const auto started = std::chrono::steady_clock::now();
    const std::size_t n = labels.label.size();
    check_search_input(labels, n);
    std::vector<double> z(m * n);
    for (std::size_t i = 0; i < m; ++i)
        if (!standardise(values + i * n, n, z.data() + i * n))
            throw std::invalid_argument("pool formula " + std::to_string(i) + " is constant or not finite");
    const bool limit = opt.max_pair_corr > 0 && opt.max_pair_corr < 1;
    PairSearchResult res;
    res.n_pairs = m < 2 ? 0 : static_cast<std::uint64_t>(m) * (m - 1) / 2;
    TopK<ClassifiedPair> best(opt.keep);
    constexpr std::size_t kRows = 32;  // first members per progress report
    std::uint64_t done = 0;
    for (std::size_t row0 = 0; row0 + 1 < m; row0 += kRows) {
        const std::size_t row1 = std::min(m - 1, row0 + kRows);
        std::uint64_t scored = 0;
#pragma omp parallel reduction(+ : scored)
        {
            TopK<ClassifiedPair> local(opt.keep);
#pragma omp for schedule(dynamic, 1)
            for (long long ii = static_cast<long long>(row0); ii < static_cast<long long>(row1); ++ii) {
                const auto i = static_cast<std::size_t>(ii);
                const double* zi = z.data() + i * n;
                for (std::size_t j = i + 1; j < m; ++j) {
                    const double* zj = z.data() + j * n;
                    if (limit) {
                        double r = 0;
                        for (std::size_t s = 0; s < n; ++s) r += zi[s] * zj[s];
                        if (std::fabs(r / static_cast<double>(n)) >= opt.max_pair_corr) continue;
                    }
                    ++scored;
                    SeparationKey key;
                    if (opt.score == SeparationScore::Overlap) {
                        // A pair with more overlap samples than this thread's worst kept one cannot be kept.
                        const std::uint32_t bound = local.full() ? local.worst().key.count
                                                                 : std::numeric_limits<std::uint32_t>::max();
                        key = overlap_2d_standardised(zi, zj, labels, bound, nullptr);
                        if (key.count > bound) continue;
                    } else {
                        const double* zp[2] = {zi, zj};
                        key = {0, fit_standardised(zp, 2, labels, opt.logistic).loss};
                    }
                    local.push({key, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j)});
                }
            }
#pragma omp critical
            best.merge(local);
        }
        res.n_scored += scored;
        for (std::size_t i = row0; i < row1; ++i) done += m - 1 - i;
        if (!keep_going(progress, "2D classification", done, res.n_pairs)) {
            res.cancelled = row1 + 1 < m;
            break;
        }
    }
    res.best = best.sorted();
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return res;
}

}  // namespace formulasearch
