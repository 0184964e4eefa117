// The class of each sample, and how much each class counts, for the
// classification scores and searches.
#pragma once

#include <cstddef>
#include <vector>

namespace formulasearch {

// Balanced: each class weighs n / (n_classes * n_c) per sample, so that every
// class counts alike (scikit-learn's class_weight="balanced"); the weighted
// training accuracy is then the balanced accuracy. Given: weights from the caller.
enum class ClassWeight { None, Balanced, Given };

// Class of each sample, 0..n_classes-1; checked on construction (at least two
// classes, each with at least min_per_class samples).
struct ClassLabels {
    ClassLabels(std::vector<int> labels, std::size_t min_per_class = 1, ClassWeight weighting = ClassWeight::None);
    // Given weights: one positive, finite weight per class.
    ClassLabels(std::vector<int> labels, std::size_t min_per_class, std::vector<double> weights);
    std::vector<int> label;
    int n_classes = 0;
    std::vector<std::size_t> class_sizes;
    ClassWeight weighting = ClassWeight::None;
    std::vector<double> class_weight;  // weight of one sample of each class: 1 unless balanced
};

}  // namespace formulasearch
