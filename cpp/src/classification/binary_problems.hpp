// Internal: the binary problems of a labelled set, as every linear separator
// (logistic, SVM, threshold) sees them: one for two classes (class 1 vs 0),
// else class k vs the rest. Built once per search, not per formula.
#pragma once

#include <cstddef>
#include <vector>

#include "formulasearch/classification/class_labels.hpp"

namespace formulasearch::detail {

constexpr std::size_t kLanes = 8;  // samples per vector of the fused passes
inline std::size_t padded_size(std::size_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// Per problem the 0/1 target and the sign (+1 / -1) of each sample; the sample
// weights (class weights) normalised to sum to 1, and their total. Arrays are
// padded to a multiple of kLanes with weight-0 samples, so that vector loops
// need no tail.
struct BinaryProblems {
    explicit BinaryProblems(const ClassLabels& labels);
    std::size_t n = 0, padded = 0;
    int count = 0;
    std::vector<int> positive;      // the positive class of each problem
    std::vector<double> weight;     // padded, sums to 1
    double total_weight = 0;        // sum of the class weights of the samples (n when unweighted or balanced)
    std::vector<double> target, sign;  // count x padded
    const double* target_of(int k) const { return target.data() + static_cast<std::size_t>(k) * padded; }
    const double* sign_of(int k) const { return sign.data() + static_cast<std::size_t>(k) * padded; }
};

inline BinaryProblems::BinaryProblems(const ClassLabels& labels)
    : n(labels.label.size()), padded(padded_size(n)), count(labels.n_classes == 2 ? 1 : labels.n_classes) {
    weight.assign(padded, 0.0);
    for (std::size_t s = 0; s < n; ++s) total_weight += labels.class_weight[static_cast<std::size_t>(labels.label[s])];
    for (std::size_t s = 0; s < n; ++s)
        weight[s] = labels.class_weight[static_cast<std::size_t>(labels.label[s])] / total_weight;
    const auto cells = static_cast<std::size_t>(count) * padded;
    target.assign(cells, 0.0), sign.assign(cells, 0.0);
    for (int k = 0; k < count; ++k) {
        positive.push_back(labels.n_classes == 2 ? 1 : k);
        const std::size_t row = static_cast<std::size_t>(k) * padded;
        for (std::size_t s = 0; s < n; ++s) {
            const bool pos = labels.label[s] == positive.back();
            target[row + s] = pos ? 1.0 : 0.0;
            sign[row + s] = pos ? 1.0 : -1.0;
        }
    }
}

}  // namespace formulasearch::detail
