// Linear support vector machine: the direction of the accuracy score's
// separator of two or three formulas (the threshold along it is then swept
// exactly). L2-loss (squared hinge) SVM with the intercept penalised like a
// weight, as LIBLINEAR and scikit-learn's LinearSVC (loss="squared_hinge",
// intercept_scaling=1) define it; solved by Newton steps on the primal, which
// for three unknowns end in a handful of passes, deterministically.
#pragma once

#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/linear_classifier.hpp"

namespace formulasearch {

struct SvmOptions {
    double c = 1.0;           // cost of the squared hinge losses against (|w|^2 + b^2) / 2; times each sample's class weight
    int max_iterations = 50;  // Newton steps at most
    double tolerance = 1e-10; // stop when the gradient's largest component is below this times its first value
};

// Minimises (|w|^2 + b^2) / 2 + c sum_s weight_s max(0, 1 - y_s (w . x_s + b))^2
// per binary problem (one for two classes, else class k vs the rest), on the
// features as given.
struct SvmModel : LinearClassifier {
    int iterations = 0;  // Newton steps of the slowest binary problem
    bool converged = true;
};

// features: dim (1 to 3) pointers to n finite values.
SvmModel fit_linear_svm(const double* const* features, int dim, const ClassLabels& labels, const SvmOptions& options = {});

}  // namespace formulasearch
