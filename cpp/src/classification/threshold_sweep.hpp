// Internal: the exact best threshold on one value per sample (a decision
// stump), for one binary problem: every split between two distinct
// consecutive values is weighed (sorted and swept; with two classes only the
// value buckets that can still hold the best split are sorted). Used by the accuracy score on a
// formula's values (1D) and on the projection onto a separator's normal (2D, 3D).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/separation_key.hpp"

namespace formulasearch::detail {

struct Threshold {
    double at = 0;               // the threshold: the midpoint of the gap it splits
    bool positive_above = true;  // the problem's positive class above it
    double error = 2;            // class-weighted training error of the binary problem
    double margin = 0;           // half the gap, in the caller's units
    double tie2 = 0;             // balanced error, or the plain error when classes are weighted
    bool valid = false;          // false when every value is the same (error then stays above any real one)
    SeparationKey key() const { return {0, error, -margin, tie2}; }
};

// Sorted values, buckets and class counts, reused from call to call: no allocation once grown.
struct SweepWorkspace {
    std::vector<std::pair<double, int>> order;
    std::vector<std::size_t> left;
    std::vector<std::uint32_t> bucket;
    std::vector<std::size_t> count, start, fill;
    std::vector<double> low, high;
};

// The best split of problem `positive` vs the other classes: the lowest
// error, ties to the wider margin (half the gap times `unit`; margins within
// 1e-9 of each other are equal), then the lower tie2, then the lower
// threshold, positive above before below.
Threshold best_threshold(const double* u, const ClassLabels& labels, int positive, double unit, SweepWorkspace& ws);

// Error, balanced error and plain error of predicted classes, with the class
// weights of `labels`: the accuracy score's key fields (value, tie2).
struct ErrorCounts {
    double error = 0, balanced = 0, plain = 0;
    double tie2(const ClassLabels& labels) const { return labels.weighting == ClassWeight::None ? balanced : plain; }
};
ErrorCounts error_counts(const std::vector<std::size_t>& wrong_per_class, const ClassLabels& labels);

}  // namespace formulasearch::detail
