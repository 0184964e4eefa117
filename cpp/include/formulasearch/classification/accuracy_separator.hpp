// The accuracy score's separator: for one formula the exact best threshold (a
// decision stump); for two or three, the best of the thresholds swept exactly
// along the normal of a linear SVM (linear_svm.hpp) and along each formula
// alone, on the standardised formulas. Ranked by the training error (class
// weighted: with balanced weights the balanced error), ties to the wider
// margin (half the gap around the threshold, along the unit normal, in
// standard deviations), then to the lower balanced error (or plain error when
// classes are weighted). More than two classes: one separator per class
// against the rest; a sample goes to the class whose separator puts it
// farthest on its side.
#pragma once

#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/linear_classifier.hpp"
#include "formulasearch/classification/linear_svm.hpp"
#include "formulasearch/classification/separation_key.hpp"

namespace formulasearch {

struct AccuracyOptions {
    SvmOptions svm;  // the normal's SVM (2 and 3 formulas)
};

// In the features' own units (LinearClassifier); each score is the signed
// distance to the threshold in standard deviations along the unit normal.
struct AccuracySeparator : LinearClassifier {
    SeparationKey key;             // the accuracy score's key (value: error, tie: minus the margin, tie2)
    double accuracy = 0;           // training accuracy (plain)
    double balanced_accuracy = 0;  // mean over the classes of their accuracy
    double margin = 0;             // half the gap around the threshold (mean over the binary problems)
};

// features: dim (1 to 3) pointers to n finite, non-constant values.
AccuracySeparator fit_accuracy_separator(const double* const* features, int dim, const ClassLabels& labels,
                                         const AccuracyOptions& options = {});

}  // namespace formulasearch
