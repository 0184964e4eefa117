// How well features separate classes, as one ordered key shared by the
// domain-overlap and the logistic score, so that screening and pair search
// rank by either in the same way.
#pragma once

#include <cstdint>

namespace formulasearch {

// Lower is better: the overlap count first, then the value (overlap size, or
// the mean log-loss; the count is 0 for the logistic score).
struct SeparationKey {
    std::uint32_t count = 0;
    double value = 0;
    friend bool operator<(const SeparationKey& a, const SeparationKey& b) {
        return a.count != b.count ? a.count < b.count : a.value < b.value;
    }
};

}  // namespace formulasearch
