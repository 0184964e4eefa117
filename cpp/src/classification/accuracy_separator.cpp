#include "formulasearch/classification/accuracy_separator.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "accuracy_kernel.hpp"
#include "features.hpp"
#include "standardize.hpp"
#include "svm_kernel.hpp"

namespace formulasearch {

namespace detail {

Separator axis_separator(const double* z, int j, const ClassLabels& labels, int positive, AccuracyWorkspace& ws) {
    Separator sep;
    sep.normal[static_cast<std::size_t>(j)] = 1.0;
    sep.threshold = best_threshold(z, labels, positive, 1.0, ws.sweep);
    return sep;
}

Separator best_separator(const double* const* z, int dim, const BinaryProblems& P, const ClassLabels& labels, int k,
                         const SvmOptions& svm, const std::array<double, 4>& svm_start, const Separator* axes,
                         AccuracyWorkspace& ws) {
    const std::size_t n = P.n;
    std::array<double, 4> v = svm_start;
    fit_svm(z, dim, P, k, svm, v);
    double norm = 0;
    for (int j = 1; j <= dim; ++j) norm += v[static_cast<std::size_t>(j)] * v[static_cast<std::size_t>(j)];
    norm = std::sqrt(norm);
    Separator best;
    if (norm > 0 && std::isfinite(norm)) {
        for (int j = 0; j < dim; ++j) best.normal[static_cast<std::size_t>(j)] = v[static_cast<std::size_t>(j) + 1] / norm;
        ws.u.resize(n);
        for (std::size_t s = 0; s < n; ++s) {
            double a = 0;
            for (int j = 0; j < dim; ++j) a += best.normal[static_cast<std::size_t>(j)] * z[j][s];
            ws.u[s] = a;
        }
        best.threshold = best_threshold(ws.u.data(), labels, P.positive[static_cast<std::size_t>(k)], 1.0, ws.sweep);
    }
    for (int j = 0; j < dim; ++j)
        if (!best.threshold.valid || axes[j].threshold.key() < best.threshold.key()) best = axes[j];
    return best;
}

SeparationKey accuracy_key(const double* const* z, int dim, const ClassLabels& labels, const Separator* seps,
                           int count, AccuracyWorkspace& ws) {
    if (count == 1) return seps[0].threshold.key();
    const std::size_t n = labels.label.size();
    ws.wrong.assign(static_cast<std::size_t>(labels.n_classes), 0);
    for (std::size_t s = 0; s < n; ++s) {
        int best = 0;
        double best_score = 0;
        for (int k = 0; k < count; ++k) {
            const Separator& sep = seps[k];
            double u = 0;
            for (int j = 0; j < dim; ++j) u += sep.normal[static_cast<std::size_t>(j)] * z[j][s];
            const double score = sep.threshold.positive_above ? u - sep.threshold.at : sep.threshold.at - u;
            if (k == 0 || score > best_score) best = k, best_score = score;
        }
        if (best != labels.label[s]) ++ws.wrong[static_cast<std::size_t>(labels.label[s])];
    }
    const ErrorCounts e = error_counts(ws.wrong, labels);
    double margin = 0;
    for (int k = 0; k < count; ++k) margin += seps[k].threshold.margin;
    return {0, e.error, -margin / count, e.tie2(labels)};
}

}  // namespace detail

AccuracySeparator fit_accuracy_separator(const double* const* features, int dim, const ClassLabels& labels,
                                         const AccuracyOptions& opt) {
    const std::size_t n = labels.label.size();
    detail::check_svm_options(opt.svm);
    detail::check_features(features, dim, n);
    if (dim > 3) throw std::invalid_argument("accuracy separator: 1 to 3 features");
    const detail::BinaryProblems problems(labels);
    std::vector<std::vector<double>> z(static_cast<std::size_t>(dim), std::vector<double>(problems.padded, 0.0));
    std::vector<const double*> zp;
    std::vector<double> mean(static_cast<std::size_t>(dim)), scale(static_cast<std::size_t>(dim));
    for (int j = 0; j < dim; ++j) {
        const auto u = static_cast<std::size_t>(j);
        detail::Moments m;
        if (!detail::standardize(features[j], n, detail::Scale::UnitStd, z[u].data(), 1, &m))
            throw std::invalid_argument("accuracy separator: feature " + std::to_string(j) + " is constant");
        mean[u] = m.mean, scale[u] = detail::scale_of(m, n, detail::Scale::UnitStd);
        zp.push_back(z[u].data());
    }
    detail::AccuracyWorkspace ws;
    std::vector<detail::Separator> seps;
    for (int k = 0; k < problems.count; ++k) {
        const int positive = problems.positive[static_cast<std::size_t>(k)];
        std::vector<detail::Separator> axes;
        for (int j = 0; j < dim; ++j) axes.push_back(detail::axis_separator(zp[static_cast<std::size_t>(j)], j, labels, positive, ws));
        if (dim == 1) {
            seps.push_back(axes[0]);
            continue;
        }
        // The SVM starts from the best single formula's own SVM.
        std::size_t first = 0;
        for (std::size_t j = 1; j < axes.size(); ++j)
            if (axes[j].threshold.key() < axes[first].threshold.key()) first = j;
        std::array<double, 4> start{};
        const double* alone[1] = {zp[first]};
        detail::fit_svm(alone, 1, problems, k, opt.svm, start);
        start[first + 1] = start[1];
        if (first != 0) start[1] = 0;
        seps.push_back(detail::best_separator(zp.data(), dim, problems, labels, k, opt.svm, start, axes.data(), ws));
    }
    AccuracySeparator model;
    model.dim = dim;
    model.n_classes = labels.n_classes;
    model.key = detail::accuracy_key(zp.data(), dim, labels, seps.data(), problems.count, ws);
    for (const detail::Separator& sep : seps) {
        // score = sign (normal . z - at), z_j = (x_j - mean_j) / scale_j, in the features' units.
        const double sign = sep.threshold.positive_above ? 1.0 : -1.0;
        double icpt = -sign * sep.threshold.at;
        std::vector<double> coef(static_cast<std::size_t>(dim));
        for (int j = 0; j < dim; ++j) {
            const auto u = static_cast<std::size_t>(j);
            coef[u] = sign * sep.normal[u] / scale[u];
            icpt -= coef[u] * mean[u];
        }
        model.intercept.push_back(icpt);
        model.coefficients.push_back(std::move(coef));
        model.margin += sep.threshold.margin / static_cast<double>(seps.size());
    }
    const std::vector<int> pred = model.predict(features, n);
    std::vector<std::size_t> right(static_cast<std::size_t>(labels.n_classes), 0);
    std::size_t correct = 0;
    for (std::size_t s = 0; s < n; ++s)
        if (pred[s] == labels.label[s]) ++correct, ++right[static_cast<std::size_t>(labels.label[s])];
    model.accuracy = static_cast<double>(correct) / static_cast<double>(n);
    for (std::size_t c = 0; c < right.size(); ++c)
        model.balanced_accuracy += static_cast<double>(right[c]) / static_cast<double>(labels.class_sizes[c]);
    model.balanced_accuracy /= labels.n_classes;
    return model;
}

}  // namespace formulasearch
