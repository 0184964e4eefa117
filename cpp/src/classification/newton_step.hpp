// Internal: the damped Newton step shared by the logistic and the linear SVM
// fits of a few parameters (p <= 4, the Hessian packed lower-triangular).
#pragma once

#include <algorithm>
#include <cmath>

namespace formulasearch::detail {

// Cholesky factor of a packed symmetric p x p matrix. strict: false when it is
// not positive definite; else a pivot at or below zero is clamped to a tiny one.
inline bool cholesky(const double* packed, int p, double L[4][4], bool strict) {
    for (int a = 0; a < p; ++a)
        for (int b = 0; b <= a; ++b) {
            double v = packed[a * (a + 1) / 2 + b];
            for (int k = 0; k < b; ++k) v -= L[a][k] * L[b][k];
            if (a == b) {
                if (strict && !(v > 0)) return false;
                L[a][a] = std::sqrt(std::max(v, 1e-300));
            } else {
                L[a][b] = v / L[b][b];
            }
        }
    return true;
}

// The Newton direction d = H^-1 g (H packed), and its slope g'd.
inline double newton_direction(const double* h, const double* g, int p, double d[4]) {
    double L[4][4];
    cholesky(h, p, L, false);
    for (int a = 0; a < p; ++a) {
        double v = g[a];
        for (int b = 0; b < a; ++b) v -= L[a][b] * d[b];
        d[a] = v / L[a][a];
    }
    for (int a = p - 1; a >= 0; --a) {
        double v = d[a];
        for (int b = a + 1; b < p; ++b) v -= L[b][a] * d[b];
        d[a] = v / L[a][a];
    }
    double slope = 0;
    for (int a = 0; a < p; ++a) slope += g[a] * d[a];
    return slope;
}

// The step x - t d from an objective f0, halving t from 1 until the decrease
// is at least 1e-4 t slope. A full step whose predicted decrease is below the
// objective's rounding is taken as it is: there the comparison is noise, and
// halving would only stall next to the minimum. objective_at(t) moves the trial
// point there and returns its objective. False: no descent left at machine precision.
template <class ObjectiveAt>
bool damped_step(double f0, double slope, ObjectiveAt&& objective_at) {
    const bool invisible = slope <= 1e-14 * (1.0 + std::fabs(f0));
    double step = 1.0;
    for (int half = 0; half < 60; ++half, step *= 0.5)
        if (objective_at(step) <= f0 - 1e-4 * step * slope || (half == 0 && invisible)) return true;
    return false;
}

}  // namespace formulasearch::detail
