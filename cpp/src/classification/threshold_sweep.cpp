#include "threshold_sweep.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

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

namespace {

// Keeps the best split seen: the lowest error, then the wider margin (equal
// within 1e-9), then the lower tie2, then the lower threshold, positive above
// first. A total order, so the splits may come in any order.
struct BestSplit {
    Threshold best;
    bool consider(double error, double margin, double tie2, double at, bool above) {
        if (!best.valid || error < best.error) return take(error, margin, tie2, at, above);
        if (error > best.error) return false;
        if (std::fabs(margin - best.margin) > 1e-9 * best.margin) {
            if (margin < best.margin) return false;
            return take(error, margin, tie2, at, above);
        }
        if (tie2 != best.tie2) return tie2 < best.tie2 ? take(error, margin, tie2, at, above) : false;
        if (at != best.at) return at < best.at ? take(error, margin, tie2, at, above) : false;
        return above && !best.positive_above ? take(error, margin, tie2, at, above) : false;
    }
    bool take(double error, double margin, double tie2, double at, bool above) {
        best = {at, above, error, margin, tie2, true};
        return true;
    }
};

// Two classes: the samples dealt into equal-width buckets of the value range
// first. A split inside a bucket gets at least the errors of the buckets on
// either side, so only buckets whose bound can still tie the best split found
// between buckets are sorted and swept; the rest are never sorted. The same
// split as a full sort and sweep, in O(n) for most formulas.
Threshold two_class_threshold(const double* u, const ClassLabels& labels, int positive, double unit,
                              SweepWorkspace& ws) {
    const std::size_t n = labels.label.size();
    const auto P = static_cast<std::size_t>(positive), R = 1 - P;
    const std::size_t size_pos = labels.class_sizes[P], size_rest = labels.class_sizes[R];
    const double w_pos = labels.class_weight[P], w_rest = labels.class_weight[R];
    const double inv_total = 1.0 / (w_pos * static_cast<double>(size_pos) + w_rest * static_cast<double>(size_rest));
    const bool weighted = labels.weighting != ClassWeight::None;
    double lo = u[0], hi = u[0];
    for (std::size_t s = 1; s < n; ++s) lo = std::min(lo, u[s]), hi = std::max(hi, u[s]);
    BestSplit pick;
    if (!(hi > lo)) return pick.best;
    // The error of a split with left_pos / left_rest samples of each class below it.
    auto split = [&](std::size_t left_pos, std::size_t left_rest, double a, double b) {
        const double margin = 0.5 * (b - a) * unit, at = a + 0.5 * (b - a);
        for (int below = 0; below < 2; ++below) {
            const std::size_t wp = below ? size_pos - left_pos : left_pos;
            const std::size_t wr = below ? left_rest : size_rest - left_rest;
            const double error = (w_pos * static_cast<double>(wp) + w_rest * static_cast<double>(wr)) * inv_total;
            if (pick.best.valid && error > pick.best.error) continue;
            const double tie2 = weighted ? static_cast<double>(wp + wr) / static_cast<double>(n)
                                         : 0.5 * (static_cast<double>(wp) / static_cast<double>(size_pos) +
                                                  static_cast<double>(wr) / static_cast<double>(size_rest));
            pick.consider(error, margin, tie2, at, below == 0);
        }
    };
    const std::size_t B = std::max<std::size_t>(1, std::min<std::size_t>(256, n / 8));
    const double scale = static_cast<double>(B) / (hi - lo);
    ws.bucket.resize(n);
    ws.count.assign(2 * B, 0);  // per bucket: positives, rest
    ws.low.assign(B, std::numeric_limits<double>::infinity());
    ws.high.assign(B, -std::numeric_limits<double>::infinity());
    const auto top = static_cast<std::uint32_t>(B - 1);
    for (std::size_t s = 0; s < n; ++s)  // a loop of its own: it vectorises
        ws.bucket[s] = std::min(top, static_cast<std::uint32_t>((u[s] - lo) * scale));
    for (std::size_t s = 0; s < n; ++s) {
        const std::size_t b = ws.bucket[s];
        ++ws.count[2 * b + (static_cast<std::size_t>(labels.label[s]) != P)];
        ws.low[b] = std::min(ws.low[b], u[s]), ws.high[b] = std::max(ws.high[b], u[s]);
    }
    // Splits between consecutive non-empty buckets: exact from the counts below.
    std::size_t below_pos = 0, below_rest = 0, last = B;
    for (std::size_t b = 0; b < B; ++b) {
        if (ws.count[2 * b] + ws.count[2 * b + 1] == 0) continue;
        if (last != B) split(below_pos, below_rest, ws.high[last], ws.low[b]);
        below_pos += ws.count[2 * b], below_rest += ws.count[2 * b + 1];
        last = b;
    }
    // Buckets whose bound can still tie: deal their samples in order, sort, sweep the splits inside.
    ws.start.assign(B + 1, 0);
    for (std::size_t b = 0; b < B; ++b) ws.start[b + 1] = ws.start[b] + ws.count[2 * b] + ws.count[2 * b + 1];
    std::vector<std::size_t>& fill = ws.fill;
    fill.assign(ws.start.begin(), ws.start.end() - 1);
    ws.order.resize(n);
    bool dealt = false;
    below_pos = below_rest = 0;
    for (std::size_t b = 0; b < B; ++b) {
        const std::size_t cp = ws.count[2 * b], cr = ws.count[2 * b + 1];
        if (cp + cr >= 2 && ws.high[b] > ws.low[b]) {
            const double bound_above = (w_pos * static_cast<double>(below_pos) +
                                        w_rest * static_cast<double>(size_rest - below_rest - cr)) * inv_total;
            const double bound_below = (w_pos * static_cast<double>(size_pos - below_pos - cp) +
                                        w_rest * static_cast<double>(below_rest)) * inv_total;
            if (!(std::min(bound_above, bound_below) > pick.best.error)) {
                if (!dealt) {  // one counting pass places every sample in its bucket's range
                    for (std::size_t s = 0; s < n; ++s) ws.order[fill[ws.bucket[s]]++] = {u[s], labels.label[s]};
                    dealt = true;
                }
                const auto first = ws.order.begin() + static_cast<std::ptrdiff_t>(ws.start[b]);
                const auto end = ws.order.begin() + static_cast<std::ptrdiff_t>(ws.start[b + 1]);
                std::sort(first, end, [](const std::pair<double, int>& x, const std::pair<double, int>& y) {
                    return x.first < y.first;
                });
                std::size_t left_pos = below_pos, left_rest = below_rest;
                for (auto it = first; it + 1 < end; ++it) {
                    const std::size_t is_pos = static_cast<std::size_t>(it->second) == P;
                    left_pos += is_pos, left_rest += 1 - is_pos;
                    if ((it + 1)->first > it->first) split(left_pos, left_rest, it->first, (it + 1)->first);
                }
            }
        }
        below_pos += cp, below_rest += cr;
    }
    return pick.best;
}

}  // namespace

Threshold best_threshold(const double* u, const ClassLabels& labels, int positive, double unit, SweepWorkspace& ws) {
    if (labels.n_classes == 2) return two_class_threshold(u, labels, positive, unit, ws);
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
    BestSplit pick;
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
            error *= inv_total;
            if (pick.best.valid && error > pick.best.error) continue;
            const double tie2 = weighted ? static_cast<double>(wrong_pos + wrong_rest) / static_cast<double>(n)
                                         : 0.5 * (static_cast<double>(wrong_pos) / n_pos +
                                                  static_cast<double>(wrong_rest) / static_cast<double>(n_rest));
            pick.consider(error, 0.5 * (hi - lo) * unit, tie2, lo + 0.5 * (hi - lo), below == 0);
        }
    }
    return pick.best;
}

}  // namespace formulasearch::detail
