// Classification searches: a 1D screening of a whole candidate space by a
// separation score (domain overlap or logistic loss), and an exhaustive search
// over pairs of the screened formulas.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/classification/class_labels.hpp"
#include "formulasearch/classification/logistic.hpp"
#include "formulasearch/classification/separation_key.hpp"
#include "formulasearch/progress.hpp"
#include "formulasearch/screening.hpp"

namespace formulasearch {

enum class SeparationScore { Overlap, Logistic };

struct ClassifyOptions {
    // Fewer formulas kept by the screening than for a regression: they are the
    // pool of a pair search whose pairs each cost a hull or logistic fit.
    ClassifyOptions() { screen.keep = 2000; }
    SeparationScore score = SeparationScore::Overlap;
    ScreenOptions screen;       // filters, deduplication and block of the 1D screening; screen.keep: formulas kept
    std::size_t keep = 10;      // best pairs returned
    double max_pair_corr = 1.0; // pairs with |r| >= this are skipped; >= 1 disables the limit
    LogisticOptions logistic;
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

struct ClassifiedPair {
    SeparationKey key;
    std::uint32_t first = 0, second = 0;  // positions in the pool, first < second
    friend bool better(const ClassifiedPair& a, const ClassifiedPair& b) {
        if (a.key < b.key) return true;
        if (b.key < a.key) return false;
        return a.first != b.first ? a.first < b.first : a.second < b.second;
    }
};

struct ClassScreenResult : ScreenCounts {
    std::vector<ClassifiedCandidate> top;  // best first
};

struct PairSearchResult {
    std::vector<ClassifiedPair> best;    // best first
    std::uint64_t n_combinations = 0;    // pairs of the pool searched: all of them unless cancelled
    std::uint64_t n_scored = 0;          // those within the |r| limit
    double seconds = 0;
    bool cancelled = false;
};

// Every candidate scored alone; the best options.screen.keep kept.
ClassScreenResult screen_classes(const CandidateSource& source, const ClassLabels& labels, const ClassifyOptions& options,
                                 Progress* progress = nullptr);
// Every pair of the pool (m rows of n values, row-major) scored; the best
// options.keep kept. The same result for any number of threads.
PairSearchResult search_class_pairs(const double* values, std::size_t m, const ClassLabels& labels,
                                    const ClassifyOptions& options, Progress* progress = nullptr);

}  // namespace formulasearch
