#include "formulasearch/screening.hpp"

#include <cmath>
#include <stdexcept>
#include <unordered_set>

#include "formulasearch/top_k.hpp"
#include "lane_sum.hpp"

namespace formulasearch {

namespace {

using detail::lane_sum;

enum Status : unsigned char { kKept, kNotGenerated, kNonFinite, kOutOfRange, kLowVariance };

struct Verdict {
    Status status;
    double score;
    std::uint64_t value_hash;
};

std::uint64_t mix(std::uint64_t h) {  // splitmix64 finaliser
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

// Hash of the standardised vector up to sign: values are quantised to 2^-30 of
// the unit-norm centred vector, and the sign is fixed by the first non-zero one.
// Four independent multiply chains (then mixed) instead of one serial chain.
std::uint64_t value_hash(const double* x, std::size_t n, double mean, double inv_norm) {
    constexpr double kQuantum = 1073741824.0;  // 2^30
    std::int64_t sign = 0;
    std::uint64_t lanes[4] = {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL, 0x27d4eb2f165667c5ULL};
    for (std::size_t s = 0; s < n; ++s) {
        auto q = static_cast<std::int64_t>(std::nearbyint((x[s] - mean) * inv_norm * kQuantum));
        if (sign == 0 && q != 0) sign = q > 0 ? 1 : -1;
        lanes[s & 3] = (lanes[s & 3] ^ static_cast<std::uint64_t>(q * (sign == 0 ? 1 : sign))) * 0x100000001b3ULL;
    }
    return mix(mix(lanes[0] ^ mix(lanes[1])) ^ mix(lanes[2] ^ mix(lanes[3])));
}

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

Verdict judge(const double* x, std::size_t n, const Targets& targets, const ScreenOptions& opt) {
    // A non-finite value anywhere makes the sum non-finite (so does overflow,
    // which makes the candidate useless all the same).
    const double sum = lane_sum(n, [&](std::size_t s) { return x[s]; });
    if (!std::isfinite(sum)) return {kNonFinite, 0, 0};
    if (opt.max_abs < std::numeric_limits<double>::infinity() || opt.min_abs > 0) {
        double big = 0;
        for (std::size_t s = 0; s < n; ++s) big = std::max(big, std::fabs(x[s]));
        if (big > opt.max_abs || big < opt.min_abs) return {kOutOfRange, 0, 0};
    }
    const double mean = sum / static_cast<double>(n);
    const double sxx = lane_sum(n, [&](std::size_t s) { double d = x[s] - mean; return d * d; });
    const double std_dev = std::sqrt(sxx / static_cast<double>(n));
    if (!std::isfinite(sxx)) return {kNonFinite, 0, 0};
    if (std_dev == 0 || std::fabs(std_dev / mean) < opt.variance_filter) return {kLowVariance, 0, 0};
    double r2 = 0;
    for (std::size_t t = 0; t < targets.centred.size(); ++t) {
        const double* yc = targets.centred[t].data();
        const double sxy = lane_sum(n, [&](std::size_t s) { return (x[s] - mean) * yc[s]; });
        r2 = std::max(r2, sxy * sxy / (sxx * targets.ss[t]));
    }
    const std::uint64_t h = opt.dedup == Dedup::Value ? value_hash(x, n, mean, 1.0 / std::sqrt(sxx)) : 0;
    if (opt.rank_splits) return {kKept, -mean_split_mse(x, n, mean, sxx, targets, *opt.rank_splits), h};
    return {kKept, r2, h};
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
    if (opt.block == 0) throw std::invalid_argument("block size must be positive");
    Targets tg;
    for (const auto& target : targets) {
        if (target.size() != n) throw std::invalid_argument("target length does not match the number of samples");
        double ymean = 0;
        for (double v : target) ymean += v;
        ymean /= static_cast<double>(n);
        std::vector<double> yc(n);
        for (std::size_t s = 0; s < n; ++s) yc[s] = target[s] - ymean;
        const double syy = lane_sum(n, [&](std::size_t s) { return yc[s] * yc[s]; });
        if (!(syy > 0)) throw std::invalid_argument("the target is constant: nothing to fit");
        tg.centred.push_back(std::move(yc));
        tg.ss.push_back(syy);
    }

    ScreenResult res;
    const std::uint64_t n_indices = source.size();
    TopK<ScoredCandidate> top(opt.keep);
    std::unordered_set<std::uint64_t> seen_strings, seen_values;
    const bool check_strings = source.has_string_duplicates();
    std::vector<Verdict> verdicts;
    constexpr std::uint64_t kChunk = 32;  // candidates evaluated together by one thread

    for (std::uint64_t begin = 0; begin < n_indices; begin += opt.block) {
        const std::uint64_t end = std::min<std::uint64_t>(n_indices, begin + opt.block);
        verdicts.resize(end - begin);
        const auto n_chunks = static_cast<long long>((end - begin + kChunk - 1) / kChunk);
#pragma omp parallel
        {
            std::vector<double> values(kChunk * n);
#pragma omp for schedule(static)
            for (long long c = 0; c < n_chunks; ++c) {
                const std::uint64_t lo = begin + static_cast<std::uint64_t>(c) * kChunk;
                const std::uint64_t hi = std::min(end, lo + kChunk);
                source.evaluate_range(lo, hi, values.data());
                for (std::uint64_t i = lo; i < hi; ++i)
                    verdicts[i - begin] = source.generated(i) ? judge(values.data() + (i - lo) * n, n, tg, opt)
                                                              : Verdict{kNotGenerated, 0, 0};
            }
        }
        // In generation order, so the first of a group of duplicates survives.
        for (std::uint64_t i = begin; i < end; ++i) {
            const Verdict& v = verdicts[i - begin];
            if (v.status == kNotGenerated) continue;
            ++res.n_candidates;
            if (v.status == kNonFinite) { ++res.n_nonfinite; continue; }
            if (v.status == kOutOfRange) { ++res.n_out_of_range; continue; }
            if (v.status == kLowVariance) { ++res.n_low_variance; continue; }
            if (check_strings && !seen_strings.insert(source.string_key(i)).second) { ++res.n_string_duplicates; continue; }
            if (opt.dedup == Dedup::Value && !seen_values.insert(v.value_hash).second) { ++res.n_value_duplicates; continue; }
            ++res.n_kept;
            top.push({v.score, i});
        }
        res.n_screened = end;
        if (!keep_going(progress, "screening", end, n_indices)) {
            res.cancelled = end < n_indices;
            break;
        }
    }
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
