// Classification: formulas whose values separate classes of samples (e.g.
// rocksalt vs zincblende). Two scores of how well d = 1 or 2 formulas separate
// the classes, a 1D screening of a whole candidate space by either, and an
// exhaustive search over pairs of the screened formulas.
//
// - Domain overlap (SISSO, Ouyang et al. PRM 2, 083802 (2018)): the domain of
//   a class is the interval (1D) or convex hull (2D) of its samples. Score:
//   (number of samples inside or on the domain of another class, size), where
//   size is the overlap's extent when domains overlap (1D: summed length of the
//   pairwise overlaps relative to the whole range; 2D: summed pairwise
//   intersection area of the hulls, features standardised), and otherwise
//   minus the smallest gap between domains (relative to the range; 2D: the
//   distance between hulls, twice the hard margin of a linear separator), so
//   that among perfect separators the widest gap wins. Lower is better.
// - Logistic: L2-penalised logistic regression on the standardised features
//   (intercept unpenalised), fitted by damped Newton steps; score: the mean
//   log-loss of the fit. More than two classes: one-vs-rest, the score is the
//   mean of the per-class losses and a sample is predicted as the class with
//   the largest linear score.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/progress.hpp"
#include "formulasearch/screening.hpp"

namespace formulasearch {

// Class of each sample, 0..n_classes-1; checked on construction.
struct ClassLabels {
    ClassLabels(std::vector<int> labels, std::size_t min_per_class = 1);
    std::vector<int> label;
    int n_classes = 0;
    std::vector<std::size_t> class_sizes;
};

enum class SeparationScore { Overlap, Logistic };

// Lower is better: overlap count first, then the value (overlap size, or the
// mean log-loss; the count is 0 for the logistic score).
struct SeparationKey {
    std::uint32_t count = 0;
    double value = 0;
    friend bool operator<(const SeparationKey& a, const SeparationKey& b) {
        return a.count != b.count ? a.count < b.count : a.value < b.value;
    }
};

// Domain overlap of one feature (x: n values) or two (x, y).
SeparationKey overlap_1d(const double* x, const ClassLabels& labels);
SeparationKey overlap_2d(const double* x, const double* y, const ClassLabels& labels);
// The samples inside or on the domain of another class (ascending), the
// overlap count's members; features standardised as overlap_2d does.
std::vector<std::uint32_t> overlap_members(const double* const* features, int dim, const ClassLabels& labels);

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

LogisticModel fit_logistic(const double* const* features, int dim, const ClassLabels& labels,
                           const LogisticOptions& options = {});

struct ClassifyOptions {
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
    std::uint64_t n_pairs = 0;           // pairs of the pool
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
