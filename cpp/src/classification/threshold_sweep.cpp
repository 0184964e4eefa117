#include "threshold_sweep.hpp"

#include <algorithm>
#include <cmath>

namespace formulasearch::detail {

ErrorCounts error_counts(const std::vector<std::size_t>& wrong, const ClassLabels& labels) {
    ErrorCounts e;
    double total = 0;
    std::size_t n = 0, plain = 0;
    for (std::size_t c = 0; c < wrong.size(); ++c) {
        const auto size = labels.class_sizes[c];
        e.error += labels.class_weight[c] * static_cast<double>(wrong[c]);
        total += labels.class_weight[c] * static_cast<double>(size);
        if (size) e.balanced += static_cast<double>(wrong[c]) / static_cast<double>(size);
        plain += wrong[c];
        n += size;
    }
    e.error /= total;
    e.balanced /= static_cast<double>(labels.n_classes);
    e.plain = static_cast<double>(plain) / static_cast<double>(n);
    return e;
}

Threshold best_threshold(const double* u, const ClassLabels& labels, int positive, double unit, SweepWorkspace& ws) {
    const std::size_t n = labels.label.size();
    const auto C = static_cast<std::size_t>(labels.n_classes);
    const auto P = static_cast<std::size_t>(positive);
    ws.order.resize(n);
    for (std::size_t s = 0; s < n; ++s) ws.order[s] = {u[s], labels.label[s]};
    std::sort(ws.order.begin(), ws.order.end(),
              [](const std::pair<double, int>& a, const std::pair<double, int>& b) { return a.first < b.first; });
    ws.left.assign(C, 0);
    double total = 0;
    std::size_t n_rest = 0;
    for (std::size_t c = 0; c < C; ++c) {
        total += labels.class_weight[c] * static_cast<double>(labels.class_sizes[c]);
        if (c != P) n_rest += labels.class_sizes[c];
    }
    const double n_pos = static_cast<double>(labels.class_sizes[P]), inv_total = 1.0 / total;
    const bool weighted = labels.weighting != ClassWeight::None;
    Threshold best;
    // A split's error is found first and the rest only for one that can still win: most are far off.
    auto consider = [&](double error, std::size_t wrong_pos, std::size_t wrong_rest, double lo, double hi, bool above) {
        if (best.valid && error > best.error) return;
        const double margin = 0.5 * (hi - lo) * unit;
        // Gaps equal in the formula's own units differ by rounding once standardised: equal within 1e-9.
        const bool same_error = best.valid && error == best.error;
        const bool same_margin = same_error && std::fabs(margin - best.margin) <= 1e-9 * best.margin;
        if (same_error && !same_margin && margin < best.margin) return;
        const double tie2 = weighted ? static_cast<double>(wrong_pos + wrong_rest) / static_cast<double>(n)
                                     : 0.5 * (static_cast<double>(wrong_pos) / n_pos +
                                              static_cast<double>(wrong_rest) / static_cast<double>(n_rest));
        if (same_margin && !(tie2 < best.tie2)) return;
        best.valid = true;
        best.at = lo + 0.5 * (hi - lo);
        best.positive_above = above;
        best.error = error;
        best.margin = margin;
        best.tie2 = tie2;
    };
    if (C == 2) {  // one class against the other: two counters
        const std::size_t R = 1 - P, size_pos = labels.class_sizes[P], size_rest = labels.class_sizes[R];
        const double w_pos = labels.class_weight[P], w_rest = labels.class_weight[R];
        std::size_t left_pos = 0, left_rest = 0;
        for (std::size_t i = 0; i + 1 < n; ++i) {
            const std::size_t is_pos = static_cast<std::size_t>(ws.order[i].second) == P;  // branch-free: labels are random
            left_pos += is_pos, left_rest += 1 - is_pos;
            const double lo = ws.order[i].first, hi = ws.order[i + 1].first;
            if (!(hi > lo)) continue;
            for (int below = 0; below < 2; ++below) {
                const std::size_t wp = below ? size_pos - left_pos : left_pos;
                const std::size_t wr = below ? left_rest : size_rest - left_rest;
                consider((w_pos * static_cast<double>(wp) + w_rest * static_cast<double>(wr)) * inv_total, wp, wr, lo,
                         hi, below == 0);
            }
        }
    } else {
        for (std::size_t i = 0; i + 1 < n; ++i) {
            ++ws.left[static_cast<std::size_t>(ws.order[i].second)];
            const double lo = ws.order[i].first, hi = ws.order[i + 1].first;
            if (!(hi > lo)) continue;
            for (int below = 0; below < 2; ++below) {
                // Wrong: the positive class on its wrong side, every other class on the other.
                double error = 0;
                std::size_t wrong_pos = 0, wrong_rest = 0;
                for (std::size_t c = 0; c < C; ++c) {
                    const std::size_t left = ws.left[c], right = labels.class_sizes[c] - left;
                    const std::size_t wrong = (c == P) == (below == 0) ? left : right;
                    error += labels.class_weight[c] * static_cast<double>(wrong);
                    (c == P ? wrong_pos : wrong_rest) += wrong;
                }
                consider(error * inv_total, wrong_pos, wrong_rest, lo, hi, below == 0);
            }
        }
    }
    if (!best.valid) best.error = 2.0;  // no split: worse than any real one
    return best;
}

}  // namespace formulasearch::detail
