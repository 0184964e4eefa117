// What every separator of the classification scores predicts with: linear
// scores of the features, in the features' own units.
#pragma once

#include <cstddef>
#include <vector>

namespace formulasearch {

// Per binary problem k (one for two classes: "class 1 vs class 0"; else class
// k vs the rest) the score intercept[k] + coefficients[k] . x. Two classes: a
// score > 0 predicts class 1; more: the class of the largest score.
struct LinearClassifier {
    int dim = 0;
    int n_classes = 0;
    std::vector<double> intercept;
    std::vector<std::vector<double>> coefficients;
    // Predicted class of each sample; features: dim pointers to n values.
    std::vector<int> predict(const double* const* features, std::size_t n) const;
};

}  // namespace formulasearch
