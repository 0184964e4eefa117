// Internal: the L2-loss SVM of linear_svm.hpp on padded feature arrays, for
// the public fit and the searches (which start a pair from its member's fit).
#pragma once

#include <array>

#include "binary_problems.hpp"
#include "formulasearch/classification/linear_svm.hpp"

namespace formulasearch::detail {

void check_svm_options(const SvmOptions& options);

// Problem k on dim (1..3) features z (padded arrays). v: intercept, then the
// weights; in: where to start, out: the solution. Returns the Newton steps
// taken, negative when max_iterations ran out.
int fit_svm(const double* const* z, int dim, const BinaryProblems& problems, int k, const SvmOptions& options,
            std::array<double, 4>& v);

}  // namespace formulasearch::detail
