// The class of each sample, for the classification scores and searches.
#pragma once

#include <cstddef>
#include <vector>

namespace formulasearch {

// Class of each sample, 0..n_classes-1; checked on construction (at least two
// classes, each with at least min_per_class samples).
struct ClassLabels {
    ClassLabels(std::vector<int> labels, std::size_t min_per_class = 1);
    std::vector<int> label;
    int n_classes = 0;
    std::vector<std::size_t> class_sizes;
};

}  // namespace formulasearch
