// Internal: convex hulls in the plane and what the 2D domain-overlap score
// needs of them: point containment, intersection area, distance.
// A hull is its vertices counter-clockwise without collinear points: one point,
// a segment (two points, all samples collinear) or a polygon (three or more).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace formulasearch::detail {

struct Point {
    double x, y;
};

inline double cross(const Point& o, const Point& a, const Point& b) {
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

// Andrew's monotone chain; the input is reordered.
inline std::vector<Point> convex_hull(std::vector<Point>& pts) {
    std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.x != b.x ? a.x < b.x : a.y < b.y; });
    pts.erase(std::unique(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.x == b.x && a.y == b.y; }),
              pts.end());
    if (pts.size() <= 2) return pts;
    std::vector<Point> hull(2 * pts.size());
    std::size_t k = 0;
    for (std::size_t i = 0; i < pts.size(); ++i) {  // lower chain
        while (k >= 2 && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0) --k;
        hull[k++] = pts[i];
    }
    for (std::size_t i = pts.size() - 1, lower = k + 1; i-- > 0;) {  // upper chain
        while (k >= lower && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0) --k;
        hull[k++] = pts[i];
    }
    hull.resize(k - 1);  // the last point repeats the first
    return hull;         // all collinear: the two end points
}

inline double distance_to_segment(const Point& p, const Point& a, const Point& b) {
    const double dx = b.x - a.x, dy = b.y - a.y;
    const double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0.0;
    t = std::clamp(t, 0.0, 1.0);
    return std::hypot(p.x - a.x - t * dx, p.y - a.y - t * dy);
}

// Inside or on the hull, with an absolute tolerance eps (the coordinates are
// standardised, so of order one).
inline bool contains(const std::vector<Point>& h, const Point& p, double eps) {
    if (h.size() == 1) return std::hypot(p.x - h[0].x, p.y - h[0].y) <= eps;
    if (h.size() == 2) return distance_to_segment(p, h[0], h[1]) <= eps;
    for (std::size_t i = 0, j = h.size() - 1; i < h.size(); j = i++) {
        const double len = std::hypot(h[i].x - h[j].x, h[i].y - h[j].y);
        if (cross(h[j], h[i], p) < -eps * len) return false;  // strictly right of a counter-clockwise edge
    }
    return true;
}

inline double polygon_area(const std::vector<Point>& p) {
    double a = 0;
    for (std::size_t i = 0, j = p.empty() ? 0 : p.size() - 1; i < p.size(); j = i++) a += p[j].x * p[i].y - p[i].x * p[j].y;
    return 0.5 * a;
}

// Area of the intersection of two convex polygons (Sutherland-Hodgman: clip
// one by each edge of the other); zero when either hull is degenerate.
inline double intersection_area(const std::vector<Point>& a, const std::vector<Point>& b) {
    if (a.size() < 3 || b.size() < 3) return 0.0;
    std::vector<Point> poly = a, next;
    for (std::size_t i = 0, j = b.size() - 1; i < b.size() && !poly.empty(); j = i++) {
        const Point &e0 = b[j], &e1 = b[i];
        next.clear();
        for (std::size_t k = 0, l = poly.size() - 1; k < poly.size(); l = k++) {
            const Point &cur = poly[k], &prev = poly[l];
            const double dc = cross(e0, e1, cur), dp = cross(e0, e1, prev);
            if (dc >= 0) {
                if (dp < 0) next.push_back({prev.x + (cur.x - prev.x) * dp / (dp - dc), prev.y + (cur.y - prev.y) * dp / (dp - dc)});
                next.push_back(cur);
            } else if (dp >= 0) {
                next.push_back({prev.x + (cur.x - prev.x) * dp / (dp - dc), prev.y + (cur.y - prev.y) * dp / (dp - dc)});
            }
        }
        poly.swap(next);
    }
    return poly.size() < 3 ? 0.0 : std::fabs(polygon_area(poly));
}

inline bool segments_cross(const Point& a, const Point& b, const Point& c, const Point& d) {
    const double d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d);
    return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
}

// Euclidean distance between two hulls as point sets; 0 when they meet.
inline double hull_distance(const std::vector<Point>& a, const std::vector<Point>& b) {
    auto edges = [](const std::vector<Point>& h, auto&& visit) {
        if (h.size() == 1) return visit(h[0], h[0]);
        for (std::size_t i = 0, j = h.size() - 1; i < h.size(); j = i++) visit(h[j], h[i]);
    };
    for (const Point& p : a)
        if (contains(b, p, 0.0)) return 0.0;
    for (const Point& p : b)
        if (contains(a, p, 0.0)) return 0.0;
    bool crossing = false;
    edges(a, [&](const Point& p0, const Point& p1) {
        edges(b, [&](const Point& q0, const Point& q1) { crossing = crossing || segments_cross(p0, p1, q0, q1); });
    });
    if (crossing) return 0.0;
    // Separated convex sets: the closest pair involves a vertex of one.
    double best = std::numeric_limits<double>::infinity();
    edges(b, [&](const Point& q0, const Point& q1) {
        for (const Point& p : a) best = std::min(best, distance_to_segment(p, q0, q1));
    });
    edges(a, [&](const Point& p0, const Point& p1) {
        for (const Point& q : b) best = std::min(best, distance_to_segment(q, p0, p1));
    });
    return best;
}

}  // namespace formulasearch::detail
