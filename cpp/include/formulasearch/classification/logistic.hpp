// Logistic separator: L2-penalised logistic regression on the standardised
// features (intercept unpenalised), fitted by damped Newton steps; its score
// is the mean log-loss of the fit, each sample weighted by its class weight
// (ClassLabels). More than two classes: one-vs-rest, the score is the mean of
// the per-class losses and a sample is predicted as the class with the largest
// linear score.
#pragma once

#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/linear_classifier.hpp"

namespace formulasearch {

struct LogisticOptions {
    double l2 = 1e-3;          // penalty (l2 / 2) * |w|^2 on the standardised weights, added to the mean loss
    int max_iterations = 100;  // Newton steps at most
    double tolerance = 1e-10;  // stop when the gradient's largest component is below this
};

// A fitted logistic separator in the features' own units.
struct LogisticModel : LinearClassifier {
    double loss = 0;       // mean log-loss over the training samples (mean over the binary problems)
    double accuracy = 0;   // training accuracy
    int iterations = 0;    // Newton steps of the slowest binary problem
    bool converged = true;
};

// features: dim (1 to 3) pointers to n finite, non-constant values.
LogisticModel fit_logistic(const double* const* features, int dim, const ClassLabels& labels,
                           const LogisticOptions& options = {});

}  // namespace formulasearch
