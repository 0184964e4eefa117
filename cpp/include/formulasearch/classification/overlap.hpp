// Domain overlap (SISSO, Ouyang et al. PRM 2, 083802 (2018)): how well one or
// two features separate classes. The domain of a class is the interval (1D)
// or convex hull (2D) of its samples. Score: (number of samples inside or on
// the domain of another class, size), where size is the overlap's extent when
// domains overlap (1D: summed length of the pairwise overlaps relative to the
// whole range; 2D: summed pairwise intersection area of the hulls, features
// standardised), and otherwise minus the smallest gap between domains
// (relative to the range; 2D: the distance between hulls, twice the hard
// margin of a linear separator), so that among perfect separators the widest
// gap wins. Lower is better.
#pragma once

#include <cstdint>
#include <vector>

#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/separation_key.hpp"

namespace formulasearch {

// Domain overlap of one feature (x: n values) or two (x, y).
SeparationKey overlap_1d(const double* x, const ClassLabels& labels);
SeparationKey overlap_2d(const double* x, const double* y, const ClassLabels& labels);
// The samples inside or on the domain of another class (ascending), the
// overlap count's members; features standardised as overlap_2d does.
std::vector<std::uint32_t> overlap_members(const double* const* features, int dim, const ClassLabels& labels);

}  // namespace formulasearch
