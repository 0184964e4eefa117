// Internal: the input check shared by the separation scores that take
// features from the caller (overlap members, logistic fit).
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>

namespace formulasearch::detail {

inline void check_features(const double* const* features, int dim, std::size_t n) {
    if (dim < 1) throw std::invalid_argument("need at least one feature");
    for (int j = 0; j < dim; ++j)
        for (std::size_t s = 0; s < n; ++s)
            if (!std::isfinite(features[j][s])) throw std::invalid_argument("feature values must be finite");
}

}  // namespace formulasearch::detail
