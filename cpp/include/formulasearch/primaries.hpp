// The primary variables: the only data the core needs from its caller.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace formulasearch {

struct Primaries {
    // Row-major (n_vars x n_samples): variable v of sample s is values[v * n_samples + s].
    std::vector<double> values;
    std::size_t n_vars = 0;
    std::size_t n_samples = 0;
    std::vector<std::string> names;  // one per variable, e.g. "rp_A"
    // Property classes: the variable numbers of each class. Sums and
    // differences are only formed inside one class (the paper's rule).
    std::vector<std::vector<int>> classes;

    const double* row(std::size_t v) const { return values.data() + v * n_samples; }
    // Throws std::invalid_argument on inconsistent sizes, bad class members or
    // non-finite values, naming the culprit.
    void validate() const;
};

}  // namespace formulasearch
