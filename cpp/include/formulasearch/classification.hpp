// Classification: formulas whose values separate classes of samples (e.g.
// rocksalt vs zincblende). Everything of it in one include: the class labels
// and weights, the separation scores (domain overlap, logistic loss, accuracy)
// with their separators, and the searches.
#pragma once

#include "formulasearch/classification/accuracy_separator.hpp"
#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/class_search.hpp"
#include "formulasearch/classification/linear_classifier.hpp"
#include "formulasearch/classification/linear_svm.hpp"
#include "formulasearch/classification/logistic.hpp"
#include "formulasearch/classification/overlap.hpp"
#include "formulasearch/classification/separation_key.hpp"
