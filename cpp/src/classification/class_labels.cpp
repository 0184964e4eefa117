#include "formulasearch/classification/class_labels.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace formulasearch {

ClassLabels::ClassLabels(std::vector<int> labels, std::size_t min_per_class, ClassWeight weighting)
    : label(std::move(labels)), weighting(weighting) {
    int top = -1;
    for (int c : label) {
        if (c < 0) throw std::invalid_argument("class labels must be 0, 1, 2, ...; got " + std::to_string(c));
        top = std::max(top, c);
    }
    n_classes = top + 1;
    if (n_classes < 2) throw std::invalid_argument("classification needs at least two classes");
    class_sizes.assign(static_cast<std::size_t>(n_classes), 0);
    for (int c : label) ++class_sizes[static_cast<std::size_t>(c)];
    for (int c = 0; c < n_classes; ++c)
        if (class_sizes[static_cast<std::size_t>(c)] < min_per_class)
            throw std::invalid_argument("class " + std::to_string(c) + " has " +
                                        std::to_string(class_sizes[static_cast<std::size_t>(c)]) +
                                        " samples; each class needs at least " + std::to_string(min_per_class));
    class_weight.assign(class_sizes.size(), 1.0);
    if (weighting == ClassWeight::Balanced)
        for (std::size_t c = 0; c < class_sizes.size(); ++c)
            if (class_sizes[c] > 0)
                class_weight[c] = static_cast<double>(label.size()) /
                                  (static_cast<double>(n_classes) * static_cast<double>(class_sizes[c]));
}

ClassLabels::ClassLabels(std::vector<int> labels, std::size_t min_per_class, std::vector<double> weights)
    : ClassLabels(std::move(labels), min_per_class) {
    if (weights.size() != class_weight.size())
        throw std::invalid_argument("class weights: " + std::to_string(weights.size()) + " weights for " +
                                    std::to_string(class_weight.size()) + " classes");
    for (double w : weights)
        if (!(w > 0) || !std::isfinite(w)) throw std::invalid_argument("class weights must be positive and finite");
    class_weight = std::move(weights);
    weighting = ClassWeight::Given;
}

}  // namespace formulasearch
