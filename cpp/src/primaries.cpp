#include "formulasearch/primaries.hpp"

#include <cmath>
#include <stdexcept>

namespace formulasearch {

void Primaries::validate() const {
    if (n_vars == 0 || n_samples == 0) throw std::invalid_argument("no primary variables or no samples");
    if (values.size() != n_vars * n_samples) throw std::invalid_argument("primary matrix size does not match n_vars x n_samples");
    if (names.size() != n_vars) throw std::invalid_argument("need one name per primary variable");
    for (std::size_t v = 0; v < n_vars; ++v)
        for (std::size_t s = 0; s < n_samples; ++s)
            if (!std::isfinite(values[v * n_samples + s]))
                throw std::invalid_argument("primary variable '" + names[v] + "' is not finite for sample " + std::to_string(s));
    std::vector<int> seen(n_vars, 0);
    for (const auto& cls : classes)
        for (int v : cls) {
            if (v < 0 || static_cast<std::size_t>(v) >= n_vars) throw std::invalid_argument("class member out of range");
            if (seen[v]++) throw std::invalid_argument("primary variable '" + names[v] + "' is in two classes");
        }
}

}  // namespace formulasearch
