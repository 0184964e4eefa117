// Classification searches: a 1D screening of a whole candidate space by a
// separation score (domain overlap, logistic loss or training accuracy), and
// exhaustive searches over the pairs and triples of the screened formulas.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/classification/accuracy_separator.hpp"
#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/logistic.hpp"
#include "formulasearch/classification/separation_key.hpp"
#include "formulasearch/progress.hpp"
#include "formulasearch/screening.hpp"

namespace formulasearch {

// Overlap: SISSO's domain overlap (1 or 2 formulas); Logistic: the logistic
// separator's mean log-loss; Accuracy: the accuracy separator's training error
// (accuracy_separator.hpp). Logistic and Accuracy also rank triples.
enum class SeparationScore { Overlap, Logistic, Accuracy };

struct ClassifyOptions {
    // Fewer formulas kept by the screening than for a regression: they are the
    // pool of a pair search whose pairs each cost a hull, SVM or logistic fit.
    ClassifyOptions() { screen.keep = 2000; }
    SeparationScore score = SeparationScore::Overlap;
    ScreenOptions screen;       // filters, deduplication and block of the 1D screening; screen.keep: formulas kept
    std::size_t keep = 10;      // best pairs (triples) returned
    double max_pair_corr = 1.0; // combinations with a pairwise |r| >= this are skipped; >= 1 disables the limit
    LogisticOptions logistic;
    AccuracyOptions accuracy;
    // Logistic: stop fitting a formula set once a bound shows that it cannot
    // make the top list. The result is the same either way; false (fit every
    // set in full) is there to check exactly that.
    bool prune = true;
};

struct ClassifiedCandidate {
    SeparationKey key;
    std::uint64_t index = 0;
    friend bool better(const ClassifiedCandidate& a, const ClassifiedCandidate& b) {
        if (a.key < b.key) return true;
        if (b.key < a.key) return false;
        return a.index < b.index;
    }
};

// A pair or triple of pool formulas; unused members are 0.
struct ClassifiedCombination {
    SeparationKey key;
    std::array<std::uint32_t, 3> members{};  // positions in the pool, ascending
    friend bool better(const ClassifiedCombination& a, const ClassifiedCombination& b) {
        if (a.key < b.key) return true;
        if (b.key < a.key) return false;
        return a.members < b.members;
    }
};

struct ClassScreenResult : ScreenCounts {
    std::vector<ClassifiedCandidate> top;  // best first
};

struct ClassSearchResult {
    int dim = 2;
    std::vector<ClassifiedCombination> best;  // best first
    std::uint64_t n_combinations = 0;         // combinations of the pool searched: all of them unless cancelled
    std::uint64_t n_scored = 0;               // those within the |r| limit
    std::uint64_t n_fitted = 0;               // logistic: those fitted to the end, not dropped by the bound
                                              // (depends on the thread schedule; `best` does not)
    double seconds = 0;
    bool cancelled = false;
};

// Every candidate scored alone; the best options.screen.keep kept.
ClassScreenResult screen_classes(const CandidateSource& source, const ClassLabels& labels, const ClassifyOptions& options,
                                 Progress* progress = nullptr);
// Every pair (triple) of the pool (m rows of n values, row-major) scored; the
// best options.keep kept. The same result for any number of threads.
ClassSearchResult search_class_pairs(const double* values, std::size_t m, const ClassLabels& labels,
                                     const ClassifyOptions& options, Progress* progress = nullptr);
ClassSearchResult search_class_triples(const double* values, std::size_t m, const ClassLabels& labels,
                                       const ClassifyOptions& options, Progress* progress = nullptr);

}  // namespace formulasearch
