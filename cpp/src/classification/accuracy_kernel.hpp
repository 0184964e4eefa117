// Internal: the accuracy score on standardised features, shared by the
// public separator fit and the searches (which sweep each pool formula once
// and start each pair's SVM from its member's).
#pragma once

#include <array>
#include <vector>

#include "binary_problems.hpp"
#include "formulasearch/classification/accuracy_separator.hpp"
#include "threshold_sweep.hpp"

namespace formulasearch::detail {

// One binary problem's separator: a unit normal in standardised units and the threshold along it.
struct Separator {
    std::array<double, 3> normal{};
    Threshold threshold;
};

// Work buffers, one per thread, reused from formula set to formula set.
struct AccuracyWorkspace {
    SweepWorkspace sweep;
    std::vector<double> u;
    std::vector<std::size_t> wrong;
};

// The separator of problem k along feature j alone (unit = 1: standardised values).
Separator axis_separator(const double* z, int j, const ClassLabels& labels, int positive, AccuracyWorkspace& ws);

// Problem k's best separator of dim (2, 3) features: the SVM normal's (SVM started at
// svm_start: intercept, weights) or one of the `axes` (dim separators on each feature alone),
// whichever has the lower key; the SVM's first on a tie.
Separator best_separator(const double* const* z, int dim, const BinaryProblems& problems, const ClassLabels& labels,
                         int k, const SvmOptions& svm, const std::array<double, 4>& svm_start, const Separator* axes,
                         AccuracyWorkspace& ws);

// The accuracy key of one separator per binary problem: two classes: the
// threshold's own key; more: of the one-vs-rest prediction (margin: the mean).
SeparationKey accuracy_key(const double* const* z, int dim, const ClassLabels& labels, const Separator* separators,
                           int count, AccuracyWorkspace& ws);

}  // namespace formulasearch::detail
