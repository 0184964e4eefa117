// How well features separate classes, as one ordered key shared by the
// separation scores (domain overlap, logistic loss, accuracy), so that the
// screening and the pair and triple searches rank by any of them alike.
#pragma once

#include <cstdint>

namespace formulasearch {

// Lower is better, field by field:
// - overlap:  count = samples in another class's domain, value = overlap size (or minus the gap);
// - logistic: value = mean log-loss (class-weighted);
// - accuracy: value = training error (class-weighted: the balanced error), then tie = minus the
//   margin (a wider gap around the threshold wins), then tie2 = the other error (balanced
//   error, or the plain error when classes are weighted).
// Unused fields are 0.
struct SeparationKey {
    std::uint32_t count = 0;
    double value = 0;
    double tie = 0;
    double tie2 = 0;
    friend bool operator<(const SeparationKey& a, const SeparationKey& b) {
        if (a.count != b.count) return a.count < b.count;
        if (a.value != b.value) return a.value < b.value;
        if (a.tie != b.tie) return a.tie < b.tie;
        return a.tie2 < b.tie2;
    }
};

}  // namespace formulasearch
