#include "formulasearch/classification/overlap.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <stdexcept>

#include "features.hpp"
#include "overlap_kernel.hpp"
#include "plane_geometry.hpp"
#include "standardize.hpp"

namespace formulasearch {

namespace {

using detail::Point;

constexpr double kOnHull = 1e-10;  // containment tolerance, in standard deviations

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

// Both features standardised to unit standard deviation (the overlap's
// tolerance and area are in those units).
void standardize_pair(const double* x, const double* y, std::size_t n, std::vector<double>& zx,
                      std::vector<double>& zy, const char* error) {
    using detail::Scale;
    zx.resize(n), zy.resize(n);
    if (!detail::standardize(x, n, Scale::UnitStd, zx.data()) || !detail::standardize(y, n, Scale::UnitStd, zy.data()))
        throw std::invalid_argument(error);
}

}  // namespace

namespace detail {

SeparationKey overlap_2d_standardised(const double* x, const double* y, const ClassLabels& labels, std::uint32_t bound,
                                      std::vector<std::uint32_t>* members) {
    const std::size_t n = labels.label.size();
    const auto C = static_cast<std::size_t>(labels.n_classes);
    std::vector<std::vector<Point>> hulls(C);
    for (std::size_t s = 0; s < n; ++s) hulls[static_cast<std::size_t>(labels.label[s])].push_back({x[s], y[s]});
    struct Box { double x0, x1, y0, y1; };
    std::vector<Box> boxes(C);
    for (std::size_t c = 0; c < C; ++c) {
        hulls[c] = convex_hull(hulls[c]);
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
            if (contains(hulls[c], p, kOnHull)) {
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
            area += intersection_area(hulls[a], hulls[b]);
            gap = std::min(gap, hull_distance(hulls[a], hulls[b]));
        }
    key.value = area > 0 ? area : -gap;
    return key;
}

}  // namespace detail

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
    std::vector<double> zx, zy;
    standardize_pair(x, y, labels.label.size(), zx, zy, "overlap_2d: a feature is constant or not finite");
    return detail::overlap_2d_standardised(zx.data(), zy.data(), labels, std::numeric_limits<std::uint32_t>::max(),
                                           nullptr);
}

std::vector<std::uint32_t> overlap_members(const double* const* features, int dim, const ClassLabels& labels) {
    const std::size_t n = labels.label.size();
    detail::check_features(features, dim, n);
    std::vector<std::uint32_t> members;
    if (dim == 1) {
        const Intervals dom(features[0], labels);
        for (std::size_t s = 0; s < n; ++s)
            if (dom.in_other(features[0][s], labels.label[s])) members.push_back(static_cast<std::uint32_t>(s));
        return members;
    }
    if (dim != 2) throw std::invalid_argument("domain overlap is defined for 1 or 2 features");
    std::vector<double> zx, zy;
    standardize_pair(features[0], features[1], n, zx, zy, "overlap: a feature is constant");
    detail::overlap_2d_standardised(zx.data(), zy.data(), labels, std::numeric_limits<std::uint32_t>::max(), &members);
    return members;
}

}  // namespace formulasearch
