// Internal: the 2D domain overlap on features already standardised, shared by
// the overlap score itself and the pair search (which standardises its pool
// once and prunes with a bound).
#pragma once

#include <cstdint>
#include <vector>

#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/separation_key.hpp"

namespace formulasearch::detail {

// Samples inside or on another class's hull, on standardised coordinates.
// Stops early (count > bound, value infinite) once the pair cannot be kept;
// appends the samples to `members` when given.
SeparationKey overlap_2d_standardised(const double* x, const double* y, const ClassLabels& labels, std::uint32_t bound,
                                      std::vector<std::uint32_t>* members);

}  // namespace formulasearch::detail
