#include "formulasearch/screening.hpp"

#include <cmath>
#include <stdexcept>

#include "formulasearch/top_k.hpp"
#include "candidate_stream.hpp"
#include "lane_sum.hpp"
#include "standardize.hpp"

namespace formulasearch {

namespace {

using detail::lane_sum;
using detail::Moments;

// The centred targets: one for a plain screen, several for SIS on residuals.
struct Targets {
    std::vector<std::vector<double>> centred;
    std::vector<double> ss;  // sum of squares of each
};

// Mean test MSE of the 1D OLS fit over train/test splits, in closed form:
// each split's training sums are the full sums minus its test part, so no
// refit touches the training samples. Works on centred values for accuracy.
double mean_split_mse(const double* x, std::size_t n, double mean, double sxx, const Targets& targets,
                      const std::vector<std::vector<std::uint32_t>>& splits) {
    const double* yc = targets.centred[0].data();
    double sx = 0, sy = 0, sxy = 0;
    for (std::size_t s = 0; s < n; ++s) {
        const double d = x[s] - mean;
        sx += d, sy += yc[s], sxy += d * yc[s];
    }
    double total = 0;
    for (const auto& test : splits) {
        double tx = 0, ty = 0, txx = 0, txy = 0;
        for (auto t : test) {
            const double d = x[t] - mean;
            tx += d, ty += yc[t], txx += d * d, txy += d * yc[t];
        }
        const double m = static_cast<double>(n - test.size());
        const double mx = (sx - tx) / m, my = (sy - ty) / m;
        const double vxx = (sxx - txx) - m * mx * mx, vxy = (sxy - txy) - m * mx * my;
        const double slope = vxx > 0 ? vxy / vxx : 0.0;
        const double icpt = my - slope * mx;
        double sse = 0;
        for (auto t : test) {
            const double e = yc[t] - icpt - slope * (x[t] - mean);
            sse += e * e;
        }
        total += sse / static_cast<double>(test.size());
    }
    return total / static_cast<double>(splits.size());
}

// The ranking score of a candidate that passed the common filters (see ScoredCandidate).
double score_of(const double* x, std::size_t n, const Moments& m, const Targets& targets, const ScreenOptions& opt) {
    if (opt.rank_splits) return -mean_split_mse(x, n, m.mean, m.sxx, targets, *opt.rank_splits);
    double r2 = 0;
    for (std::size_t t = 0; t < targets.centred.size(); ++t) {
        const double* yc = targets.centred[t].data();
        const double sxy = lane_sum(n, [&](std::size_t s) { return (x[s] - m.mean) * yc[s]; });
        r2 = std::max(r2, sxy * sxy / (m.sxx * targets.ss[t]));
    }
    return r2;
}

}  // namespace

ScreenResult screen(const CandidateSource& source, const std::vector<double>& target, const ScreenOptions& opt,
                    Progress* progress) {
    return screen(source, std::vector<std::vector<double>>{target}, opt, progress);
}

ScreenResult screen(const CandidateSource& source, const std::vector<std::vector<double>>& targets,
                    const ScreenOptions& opt, Progress* progress) {
    const std::size_t n = source.n_samples();
    if (targets.empty()) throw std::invalid_argument("no target to screen against");
    if (opt.rank_splits) {
        if (targets.size() != 1) throw std::invalid_argument("ranking by splits needs a single target");
        if (opt.rank_splits->empty()) throw std::invalid_argument("ranking by splits needs at least one split");
        for (const auto& t : *opt.rank_splits) {
            if (t.empty() || t.size() + 3 > n) throw std::invalid_argument("each split needs a test part and 3 training samples");
            for (auto i : t)
                if (i >= n) throw std::out_of_range("split sample index out of range");
        }
    }
    if (n < 3) throw std::invalid_argument("need at least 3 samples to fit a line and judge it");
    Targets tg;
    for (const auto& target : targets) {
        if (target.size() != n) throw std::invalid_argument("target length does not match the number of samples");
        // The mean by a plain running sum rather than detail::mean_of: the
        // scores' last bits rank exact ties (x/y - 1 and x/y + 1 fit alike),
        // and the screening's order is kept as it was.
        double ymean = 0;
        for (double v : target) ymean += v;
        ymean /= static_cast<double>(n);
        std::vector<double> yc(n);
        for (std::size_t s = 0; s < n; ++s) yc[s] = target[s] - ymean;
        const double syy = detail::centred_squares(target.data(), n, ymean);
        if (!(syy > 0)) throw std::invalid_argument("the target is constant: nothing to fit");
        tg.centred.push_back(std::move(yc));
        tg.ss.push_back(syy);
    }

    ScreenResult res;
    res.score_is_r2 = opt.rank_splits == nullptr;
    TopK<ScoredCandidate> top(opt.keep);
    detail::stream_candidates<double>(
        source, opt, progress, "screening", res,
        [&](const double* x, std::size_t len, const Moments& m) { return score_of(x, len, m, tg, opt); },
        [&](double score, std::uint64_t index) { top.push({score, index}); });
    res.top = top.sorted();
    return res;
}

std::vector<double> evaluate_candidates(const CandidateSource& source, const std::vector<std::uint64_t>& indices) {
    const std::size_t n = source.n_samples();
    std::vector<double> out(indices.size() * n);
    const auto m = static_cast<long long>(indices.size());
#pragma omp parallel for schedule(static)
    for (long long i = 0; i < m; ++i) source.evaluate_range(indices[i], indices[i] + 1, out.data() + i * n);
    return out;
}

}  // namespace formulasearch
