// Logistic separator: L2-penalised logistic regression on the standardised
// features (intercept unpenalised), fitted by damped Newton steps; its score
// is the mean log-loss of the fit. More than two classes: one-vs-rest, the
// score is the mean of the per-class losses and a sample is predicted as the
// class with the largest linear score.
#pragma once

#include <cstddef>
#include <vector>

#include "formulasearch/classification/class_labels.hpp"

namespace formulasearch {

struct LogisticOptions {
    double l2 = 1e-3;          // penalty (l2 / 2) * |w|^2 on the standardised weights, added to the mean loss
    int max_iterations = 100;  // Newton steps at most
    double tolerance = 1e-10;  // stop when the gradient's largest component is below this
};

// A fitted logistic separator in the features' own units: for each binary
// problem k (one for two classes: "class 1 vs class 0"; else class k vs the
// rest) the linear score intercept[k] + coefficients[k] . x.
struct LogisticModel {
    int dim = 0;
    int n_classes = 0;
    std::vector<double> intercept;
    std::vector<std::vector<double>> coefficients;
    double loss = 0;       // mean log-loss over the training samples (mean over the binary problems)
    double accuracy = 0;   // training accuracy
    int iterations = 0;    // Newton steps of the slowest binary problem
    bool converged = true;
    // Predicted class of each sample; features: dim pointers to n values.
    std::vector<int> predict(const double* const* features, std::size_t n) const;
};

// features: dim (1 to 3) pointers to n finite, non-constant values.
LogisticModel fit_logistic(const double* const* features, int dim, const ClassLabels& labels,
                           const LogisticOptions& options = {});

}  // namespace formulasearch
