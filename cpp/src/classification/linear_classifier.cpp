#include "formulasearch/classification/linear_classifier.hpp"

namespace formulasearch {

std::vector<int> LinearClassifier::predict(const double* const* features, std::size_t n) const {
    std::vector<int> out(n);
    for (std::size_t s = 0; s < n; ++s) {
        auto score = [&](std::size_t k) {
            double a = intercept[k];
            for (int j = 0; j < dim; ++j) a += coefficients[k][static_cast<std::size_t>(j)] * features[j][s];
            return a;
        };
        if (n_classes == 2) {
            out[s] = score(0) > 0 ? 1 : 0;
            continue;
        }
        std::size_t best = 0;
        for (std::size_t k = 1; k < intercept.size(); ++k)
            if (score(k) > score(best)) best = k;
        out[s] = static_cast<int>(best);
    }
    return out;
}

}  // namespace formulasearch
