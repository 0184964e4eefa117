// Classification: formulas whose values separate classes of samples (e.g.
// rocksalt vs zincblende). Everything of it in one include: the class labels,
// the two separation scores (domain overlap, logistic loss) and the searches.
#pragma once

#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/class_search.hpp"
#include "formulasearch/classification/logistic.hpp"
#include "formulasearch/classification/overlap.hpp"
#include "formulasearch/classification/separation_key.hpp"
