// Internal: the logistic fit on features already standardised, shared by the
// model fit (which then returns to the features' units) and the searches
// (which only need the loss).
#pragma once

#include <vector>

#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/logistic.hpp"

namespace formulasearch::detail {

// One binary problem: weights w (intercept first) of the penalised logistic
// regression of a 0/1 target on the standardised features.
struct BinaryFit {
    std::vector<double> w;
    double loss = 0;
    int iterations = 0;
    bool converged = false;
};

struct StandardisedLogistic {
    std::vector<BinaryFit> problems;  // one for two classes, else one per class
    double loss = 0;                  // mean over the problems
};

// l2 > 0 (it keeps the weights of separable data finite), max_iterations >= 1.
void check_logistic_options(const LogisticOptions& options);

// z: dim (1 to 3) pointers to standardised features of labels.label.size() samples.
StandardisedLogistic fit_standardised(const double* const* z, int dim, const ClassLabels& labels,
                                      const LogisticOptions& options);

}  // namespace formulasearch::detail
