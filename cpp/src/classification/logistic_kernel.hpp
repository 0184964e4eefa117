// Internal: the logistic fit on features already standardised, shared by the
// model fit (which then returns to the features' units) and the searches
// (which need only the loss, for many formula sets in a row).
//
// What makes the searches fast, with the same result as fitting every set in
// full (options.prune = false):
// - one fused pass per Newton step: loss, gradient and Hessian together, on
//   eight samples at a time (vector exp / log1p), weights and targets built once;
// - warm starts: a pair or triple starts from the fit of its better member, and
//   the first step needs no exp (that member's residuals and curvatures are kept);
//   a single formula starts from the class prior, whose step is also exp-free;
// - a lower bound on the final loss after each step (below), so that a set that
//   cannot beat the current top list is dropped after a step or two.
//
// The bound: at w with gradient g, let M = e^-1 H_loss(w) + l2 I' (I': the
// weights, not the intercept). Each sample's curvature changes by at most e^|da|
// when its linear score moves by da, so M bounds the Hessian from below wherever
// no score moves by more than 1. With nu^2 = g' M^-1 g and rho = the largest
// |x_s| in the M^-1 norm, 2 nu rho < 1 puts the minimiser w* within |w*-w|_M <=
// 2 nu, and the loss, being convex, is at least loss(w) - 2 nu |grad loss(w)|_M^-1
// there. It tightens quadratically as Newton converges.
//
// Where that bound does not hold yet (a heavy-tailed formula makes rho large),
// the dual one does: the dual variables alpha_s = 1 - sigma(m_s) of the point,
// scaled on one side to meet the intercept's constraint, give a dual objective
// D <= the minimum of the objective, so |w* - w| <= sqrt(2 (objective(w) - D) / l2)
// and loss(w*) >= D - l2/2 (|w| + that)^2.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "binary_problems.hpp"
#include "formulasearch/classification/logistic.hpp"

namespace formulasearch::detail {

// Where a binary fit starts: a converged fit of fewer features (or the class
// prior, no feature) with its per-sample residuals r = weight (p - t) and
// curvatures c = weight p (1 - p), so that the first gradient and Hessian need
// no exp. `position`: which of the new fit's features the stored weight belongs to (-1: none).
struct WarmStart {
    double intercept = 0, weight = 0;
    int position = -1;
    double loss = 0, objective = 0;
    const double* r = nullptr;  // null when not kept: the start then costs one pass with exp
    const double* c = nullptr;
};

// The class prior of each binary problem as the start of every single-formula
// fit (intercept log(p / (1 - p)), no weight), built once per search.
struct LogisticPrior {
    explicit LogisticPrior(const BinaryProblems& problems);
    std::vector<double> r, c;     // count x padded: the prior's residuals and curvatures
    std::vector<WarmStart> start;  // one per problem
};

// A point of one binary fit (intercept, then one weight per feature) and the
// fused pass's values there. Hessian: packed lower triangle, (a, b <= a) at a(a+1)/2 + b.
struct LogisticPoint {
    std::array<double, 4> w{};
    double loss = 0, objective = 0;
    std::array<double, 4> g{};
    std::array<double, 10> h{};
    // For the dual bound (a full pass only): the sums over the positive samples of the
    // loss gradient's terms, and of loss + alpha m over all and over the positives.
    bool dual = false;
    std::array<double, 4> positive{};
    double dual_sum = 0, dual_positive = 0;
};

struct BinaryFit {
    std::array<double, 4> w{};
    double loss = 0;
    int iterations = 0;
    bool converged = false;
};


// l2 > 0 (it keeps the weights of separable data finite), max_iterations >= 1.
void check_logistic_options(const LogisticOptions& options);

// Fits binary problem k from `start` on dim (1..3) standardised features z (padded arrays;
// zmax2[j]: the largest z_j^2). Stops early, returning false, once its loss is certainly above
// `prune_above`; else fills `fit` and returns true. With r_out / c_out, the final point's
// residuals and curvatures are stored there (to start wider fits from it).
bool fit_binary(const double* const* z, int dim, const double* zmax2, const BinaryProblems& problems, int k,
                const WarmStart& start, const LogisticOptions& options, double prune_above, BinaryFit& fit,
                double* r_out = nullptr, double* c_out = nullptr);

// The mean loss over the problems of a fit, or +infinity when pruned (the mean
// is certainly above prune_above). starts: one per problem.
double logistic_loss(const double* const* z, int dim, const double* zmax2, const BinaryProblems& problems,
                     const WarmStart* starts, const LogisticOptions& options, double prune_above);

}  // namespace formulasearch::detail
