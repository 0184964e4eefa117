#include "formulasearch/fold_search.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "formulasearch/top_k.hpp"
#include "candidate_stream.hpp"
#include "gram_kernel.hpp"
#include "lane_sum.hpp"
#include "pair_tiles.hpp"
#include "standardize.hpp"

#include "openmp_shim.hpp"

namespace formulasearch {

SampleView::SampleView(const CandidateSource& source, std::vector<std::uint32_t> samples)
    : source_(source), samples_(std::move(samples)) {
    for (auto s : samples_)
        if (s >= source_.n_samples()) throw std::out_of_range("sample index out of range");
}

void SampleView::evaluate_range(std::uint64_t begin, std::uint64_t end, double* out) const {
    std::vector<double> all(source_.n_samples());
    for (std::uint64_t i = begin; i < end; ++i, out += samples_.size()) {
        source_.evaluate_range(i, i + 1, all.data());
        for (std::size_t s = 0; s < samples_.size(); ++s) out[s] = all[samples_[s]];
    }
}

OuterFolds::OuterFolds(std::vector<std::vector<std::uint32_t>> test_sets, std::size_t n_samples)
    : test(std::move(test_sets)), n(n_samples) {
    if (test.size() < 2) throw std::invalid_argument("nested CV needs at least 2 outer folds");
    std::vector<char> seen(n, 0);
    offset.push_back(0);
    for (auto& t : test) {
        std::sort(t.begin(), t.end());
        if (t.empty()) throw std::invalid_argument("an outer fold without test samples");
        for (auto s : t) {
            if (s >= n) throw std::out_of_range("outer fold sample index out of range");
            if (seen[s]++) throw std::invalid_argument("outer folds overlap: sample " + std::to_string(s) + " twice");
            order.push_back(s);
        }
        if (n - t.size() < 3) throw std::invalid_argument("an outer fold leaves fewer than 3 training samples");
        offset.push_back(order.size());
    }
    if (order.size() != n) throw std::invalid_argument("outer folds must hold every sample once");
}

std::vector<std::uint32_t> OuterFolds::training(std::size_t fold) const {
    std::vector<std::uint32_t> out;
    const auto& t = test.at(fold);
    std::size_t k = 0;
    for (std::uint32_t s = 0; s < n; ++s) {
        if (k < t.size() && t[k] == s) {
            ++k;
            continue;
        }
        out.push_back(s);
    }
    return out;
}

namespace {

using detail::lane_sum;
using detail::Moments;
using detail::Status;

// A training part's centred sum of squares computed from sums about the full mean loses
// digits in proportion to (its sum of squares about the full mean) / (about its own mean).
// Above this ratio's inverse, sums are used (at most about 1e-13 relative error); below it
// the training values are taken on their own, as the fold alone would.
constexpr double kWellConditioned = 1e-3;

// Sum over the folds other than f of per-fold values v[0..F): prefix + suffix.
struct LeaveOneOut {
    std::vector<double> pre, suf;
    void build(const double* v, std::size_t F) {
        pre.assign(F + 1, 0.0), suf.assign(F + 1, 0.0);
        for (std::size_t f = 0; f < F; ++f) pre[f + 1] = pre[f] + v[f];
        for (std::size_t f = F; f-- > 0;) suf[f] = suf[f + 1] + v[f];
    }
    double without(std::size_t f) const { return pre[f] + suf[f + 1]; }
};

// What screen() computes for a fold's training part, prepared once.
struct FoldScreenData {
    const OuterFolds& folds;
    std::size_t F, n;
    std::vector<std::vector<std::uint32_t>> train;
    std::vector<double> m;  // training sizes
    // Per fold, per target: centred training target (training order) and its sum of squares.
    std::vector<std::vector<std::vector<double>>> yc;
    std::vector<std::vector<double>> ss;
    // Shared single target (fast path): e = y - mean(y) in grouped order; training sums of e per fold.
    bool shared = false;
    std::vector<double> e;
    std::vector<double> te;  // per fold: training sum of e
    // General path: per fold, per target, the centred training target over all n samples in
    // grouped order (0 at the fold's test samples), and its training sum.
    std::vector<std::vector<std::vector<double>>> yg;
    std::vector<std::vector<double>> yg_sum;

    FoldScreenData(const OuterFolds& fo, const std::vector<std::vector<std::vector<double>>>& targets)
        : folds(fo), F(fo.size()), n(fo.n) {
        if (targets.size() != 1 && targets.size() != F) throw std::invalid_argument("one target list, or one per fold");
        shared = targets.size() == 1 && targets[0].size() == 1;
        yc.resize(F), ss.resize(F), yg.resize(F), yg_sum.resize(F);
        for (std::size_t f = 0; f < F; ++f) {
            train.push_back(fo.training(f));
            m.push_back(static_cast<double>(train[f].size()));
            const auto& tl = targets[targets.size() == 1 ? 0 : f];
            if (tl.empty()) throw std::invalid_argument("no target to screen against");
            for (const auto& y : tl) {
                if (y.size() != n) throw std::invalid_argument("target length does not match the number of samples");
                const std::size_t mt = train[f].size();
                std::vector<double> yt(mt);
                for (std::size_t s = 0; s < mt; ++s) yt[s] = y[train[f][s]];
                double ymean = 0;  // as screen(): a plain running sum
                for (double v : yt) ymean += v;
                ymean /= static_cast<double>(mt);
                std::vector<double> c(mt);
                for (std::size_t s = 0; s < mt; ++s) c[s] = yt[s] - ymean;
                const double syy = detail::centred_squares(yt.data(), mt, ymean);
                if (!(syy > 0)) throw std::invalid_argument("the target is constant on a fold's training part");
                std::vector<double> g(n, 0.0);
                std::vector<char> is_test(n, 0);
                for (auto s : fo.test[f]) is_test[s] = 1;
                std::size_t k = 0;
                std::vector<double> by_sample(n, 0.0);
                for (std::uint32_t s = 0; s < n; ++s)
                    if (!is_test[s]) by_sample[s] = c[k++];
                for (std::size_t q = 0; q < n; ++q) g[q] = by_sample[fo.order[q]];
                double sum = 0;
                for (double v : c) sum += v;
                yc[f].push_back(std::move(c));
                ss[f].push_back(syy);
                yg[f].push_back(std::move(g));
                yg_sum[f].push_back(sum);
            }
        }
        if (shared) {
            const auto& y = targets[0][0];
            double ymean = 0;
            for (double v : y) ymean += v;
            ymean /= static_cast<double>(n);
            e.resize(n);
            for (std::size_t q = 0; q < n; ++q) e[q] = y[fo.order[q]] - ymean;
            std::vector<double> per(F, 0.0);
            for (std::size_t f = 0; f < F; ++f)
                for (std::size_t q = fo.offset[f]; q < fo.offset[f + 1]; ++q) per[f] += e[q];
            LeaveOneOut l;
            l.build(per.data(), F);
            for (std::size_t f = 0; f < F; ++f) te.push_back(l.without(f));
        }
    }
};

struct FoldVerdict {
    Status status;
    double score;
};

// Per-thread scratch of the per-candidate fold sums.
struct FoldScratch {
    std::vector<double> d, xt, s1, s2, sxe, big;
    LeaveOneOut l1, l2, le;
    std::vector<double> pre_big, suf_big;
};

// The exact screen() verdict of fold f: its training values, filters and score computed as
// the training part alone would compute them.
FoldVerdict exact_fold(const double* x, const FoldScreenData& D, std::size_t f, const ScreenOptions& opt,
                       FoldScratch& w) {
    const auto& tr = D.train[f];
    const std::size_t mt = tr.size();
    w.xt.resize(mt);
    for (std::size_t s = 0; s < mt; ++s) w.xt[s] = x[tr[s]];
    Moments mom;
    const Status st = detail::common_filters(w.xt.data(), mt, opt, mom);
    if (st != Status::Kept) return {st, 0.0};
    double r2 = 0;
    for (std::size_t t = 0; t < D.yc[f].size(); ++t) {
        const double* yc = D.yc[f][t].data();
        const double sxy = lane_sum(mt, [&](std::size_t s) { return (w.xt[s] - mom.mean) * yc[s]; });
        r2 = std::max(r2, sxy * sxy / (mom.sxx * D.ss[f][t]));
    }
    return {Status::Kept, r2};
}

// Verdicts of one candidate (values x over all n samples, original order) in every fold: fold f's
// at out[f * stride] (fold-major, so that each fold then reads its verdicts in a row).
void fold_verdicts(const double* x, const FoldScreenData& D, const ScreenOptions& opt, FoldScratch& w,
                   FoldVerdict* out, std::size_t stride) {
    const std::size_t F = D.F, n = D.n;
    const auto& off = D.folds.offset;
    const double mean = detail::mean_of(x, n);
    if (!std::isfinite(mean)) {  // non-finite somewhere (or overflow): each fold decides on its own values
        for (std::size_t f = 0; f < F; ++f) out[f * stride] = exact_fold(x, D, f, opt, w);
        return;
    }
    w.d.resize(n);
    for (std::size_t q = 0; q < n; ++q) w.d[q] = x[D.folds.order[q]] - mean;
    w.s1.assign(F, 0.0), w.s2.assign(F, 0.0), w.sxe.assign(F, 0.0);
    const bool ranged = opt.max_abs < std::numeric_limits<double>::infinity() || opt.min_abs > 0;
    if (ranged) w.big.assign(F, 0.0);
    for (std::size_t f = 0; f < F; ++f) {
        const double* d = w.d.data() + off[f];
        const std::size_t len = off[f + 1] - off[f];
        double a = 0, b = 0, c = 0;
        for (std::size_t s = 0; s < len; ++s) a += d[s], b += d[s] * d[s];
        if (D.shared) {
            const double* e = D.e.data() + off[f];
            for (std::size_t s = 0; s < len; ++s) c += d[s] * e[s];
        }
        w.s1[f] = a, w.s2[f] = b, w.sxe[f] = c;
        if (ranged)
            for (std::size_t q = off[f]; q < off[f + 1]; ++q) w.big[f] = std::max(w.big[f], std::fabs(x[D.folds.order[q]]));
    }
    w.l1.build(w.s1.data(), F), w.l2.build(w.s2.data(), F);
    if (D.shared) w.le.build(w.sxe.data(), F);
    if (ranged) {
        w.pre_big.assign(F + 1, 0.0), w.suf_big.assign(F + 1, 0.0);
        for (std::size_t f = 0; f < F; ++f) w.pre_big[f + 1] = std::max(w.pre_big[f], w.big[f]);
        for (std::size_t f = F; f-- > 0;) w.suf_big[f] = std::max(w.suf_big[f + 1], w.big[f]);
    }
    const double vf = opt.variance_filter;
    for (std::size_t f = 0; f < F; ++f) {
        const double m = D.m[f];
        if (ranged) {
            const double big = std::max(w.pre_big[f], w.suf_big[f + 1]);
            if (big > opt.max_abs || big < opt.min_abs) {
                out[f * stride] = {Status::OutOfRange, 0.0};
                continue;
            }
        }
        const double t1 = w.l1.without(f), t2 = w.l2.without(f);
        const double sxx = t2 - t1 * t1 / m;
        // Cancellation (a training part far from the full mean, relative to its spread), overflow,
        // or a variance ratio at the filter's edge: decided on the training values themselves.
        if (!std::isfinite(sxx) || !(sxx > kWellConditioned * t2)) {
            out[f * stride] = exact_fold(x, D, f, opt, w);
            continue;
        }
        if (vf > 0) {
            // |std / mean| against the filter, squared (no square root): within about 1e-9 of the
            // edge, decided on the training values.
            const double mean_f = mean + t1 / m;
            const double ratio2 = sxx / (m * mean_f * mean_f), vf2 = vf * vf;
            if (std::fabs(ratio2 - vf2) <= 3e-9 * vf2) {
                out[f * stride] = exact_fold(x, D, f, opt, w);
                continue;
            }
            if (ratio2 < vf2) {
                out[f * stride] = {Status::LowVariance, 0.0};
                continue;
            }
        }
        double r2 = 0;
        if (D.shared) {
            const double sxy = w.le.without(f) - t1 * D.te[f] / m;
            r2 = sxy * sxy / (sxx * D.ss[f][0]);
        } else {
            for (std::size_t t = 0; t < D.yg[f].size(); ++t) {
                const double* g = D.yg[f][t].data();
                const double dot = lane_sum(n, [&](std::size_t q) { return w.d[q] * g[q]; });
                const double sxy = dot - t1 / m * D.yg_sum[f][t];
                r2 = std::max(r2, sxy * sxy / (sxx * D.ss[f][t]));
            }
        }
        out[f * stride] = {Status::Kept, r2};
    }
}

// One streaming pass: per fold counters and the best `capacity` kept candidates (before value dedup).
void fold_pass(const CandidateSource& source, const FoldScreenData& D, const ScreenOptions& opt, Progress* progress,
               std::size_t capacity, std::vector<ScreenResult>& res, std::vector<TopK<ScoredCandidate>>& tops) {
    const std::size_t F = D.F, n = D.n;
    res.assign(F, ScreenResult{});
    tops.assign(F, TopK<ScoredCandidate>(capacity));
    const std::uint64_t n_indices = source.size();
    std::unordered_set<std::uint64_t> seen_strings;
    const bool check_strings = source.has_string_duplicates();
    std::vector<FoldVerdict> verdicts;
    std::vector<char> generated, dup;
    constexpr std::uint64_t kChunk = 32;
    for (std::uint64_t begin = 0; begin < n_indices; begin += opt.block) {
        const std::uint64_t end = std::min<std::uint64_t>(n_indices, begin + opt.block);
        verdicts.resize((end - begin) * F);
        generated.assign(end - begin, 0);
        const auto n_chunks = static_cast<long long>((end - begin + kChunk - 1) / kChunk);
#pragma omp parallel
        {
            std::vector<double> values(kChunk * n);
            FoldScratch w;
#pragma omp for schedule(static)
            for (long long c = 0; c < n_chunks; ++c) {
                const std::uint64_t lo = begin + static_cast<std::uint64_t>(c) * kChunk;
                const std::uint64_t hi = std::min(end, lo + kChunk);
                source.evaluate_range(lo, hi, values.data());
                for (std::uint64_t i = lo; i < hi; ++i) {
                    if (!source.generated(i)) continue;
                    generated[i - begin] = 1;
                    fold_verdicts(values.data() + (i - lo) * n, D, opt, w, verdicts.data() + (i - begin), end - begin);
                }
            }
        }
        // String duplicates have equal values, so equal verdicts in every fold: one set serves all
        // (one serial pass); then each fold counts and keeps its own, the folds side by side.
        if (check_strings) {
            dup.assign(end - begin, 0);
            for (std::uint64_t i = begin; i < end; ++i) {
                if (!generated[i - begin]) continue;
                bool any_kept = false;
                for (std::size_t f = 0; f < F && !any_kept; ++f)
                    any_kept = verdicts[f * (end - begin) + (i - begin)].status == Status::Kept;
                if (any_kept) dup[i - begin] = !seen_strings.insert(source.string_key(i)).second;
            }
        }
        const auto n_folds = static_cast<long long>(F);
#pragma omp parallel for schedule(static, 1) if ((end - begin) * F > detail::kParallelMinWork)
        for (long long fl = 0; fl < n_folds; ++fl) {
            const auto f = static_cast<std::size_t>(fl);
            ScreenResult& r = res[f];
            std::vector<ScoredCandidate> kept;
            for (std::uint64_t i = begin; i < end; ++i) {
                if (!generated[i - begin]) continue;
                const FoldVerdict& v = verdicts[f * (end - begin) + (i - begin)];
                ++r.n_candidates;
                switch (v.status) {
                    case Status::NonFinite: ++r.n_nonfinite; break;
                    case Status::OutOfRange: ++r.n_out_of_range; break;
                    case Status::LowVariance: ++r.n_low_variance; break;
                    case Status::Kept:
                        if (check_strings && dup[i - begin]) {
                            ++r.n_string_duplicates;
                        } else {
                            ++r.n_kept;
                            kept.push_back({v.score, i});
                        }
                        break;
                    default: break;
                }
            }
            tops[f].push_all(kept);
        }
        for (auto& r : res) r.n_screened = end;
        if (!keep_going(progress, "nested screening", end, n_indices)) {
            for (auto& r : res) r.cancelled = end < n_indices;
            break;
        }
    }
}

// The value hash of each fold's listed candidates over its training part (as the training part's
// own screening hashes them): the union of the lists evaluated once, a chunk within a bounded
// buffer at a time, each fold walking its list in generation order alongside. by_index[f]: the
// positions of lists[f] in generation order. Result [f][p]: the hash of lists[f][p].
std::vector<std::vector<std::uint64_t>> training_value_hashes(const CandidateSource& source, const FoldScreenData& D,
                                                               const std::vector<std::vector<ScoredCandidate>>& lists,
                                                               const std::vector<std::vector<std::uint32_t>>& by_index) {
    const std::size_t F = D.F, n = D.n;
    std::vector<std::uint64_t> unique;
    for (const auto& l : lists)
        for (const auto& c : l) unique.push_back(c.index);
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    std::vector<std::vector<std::uint64_t>> hashes(F);
    for (std::size_t f = 0; f < F; ++f) hashes[f].resize(lists[f].size());
    constexpr std::size_t kBufferBytes = std::size_t{32} << 20;
    const std::size_t chunk = std::max<std::size_t>(64, kBufferBytes / (8 * std::max<std::size_t>(n, 1)));
    std::vector<double> values(std::min(chunk, unique.size()) * n);
    std::vector<std::size_t> cursor(F, 0);
    const auto n_folds = static_cast<long long>(F);
    for (std::size_t u0 = 0; u0 < unique.size(); u0 += chunk) {
        const std::size_t u1 = std::min(unique.size(), u0 + chunk);
        const auto nc = static_cast<long long>(u1 - u0);
#pragma omp parallel
        {
#pragma omp for schedule(static)
            for (long long c = 0; c < nc; ++c) {
                const std::size_t u = u0 + static_cast<std::size_t>(c);
                source.evaluate_range(unique[u], unique[u] + 1, values.data() + static_cast<std::size_t>(c) * n);
            }
            std::vector<double> xt(n);
#pragma omp for schedule(static, 1)
            for (long long fl = 0; fl < n_folds; ++fl) {
                const auto f = static_cast<std::size_t>(fl);
                const auto& tr = D.train[f];
                const auto& l = lists[f];
                std::size_t u = u0;
                for (std::size_t& q = cursor[f]; q < l.size(); ++q) {
                    const std::uint32_t p = by_index[f][q];
                    if (l[p].index > unique[u1 - 1]) break;
                    while (unique[u] < l[p].index) ++u;
                    const double* x = values.data() + (u - u0) * n;
                    for (std::size_t s = 0; s < tr.size(); ++s) xt[s] = x[tr[s]];
                    const Moments mom = detail::moments_of(xt.data(), tr.size());
                    hashes[f][p] = detail::value_hash(xt.data(), tr.size(), mom);
                }
            }
        }
    }
    return hashes;
}

}  // namespace

std::vector<ScreenResult> screen_folds(const CandidateSource& source, const OuterFolds& folds,
                                       const std::vector<std::vector<std::vector<double>>>& targets,
                                       const ScreenOptions& opt, Progress* progress, std::size_t list_size) {
    if (opt.rank_splits) throw std::invalid_argument("screen_folds does not rank by splits");
    if (opt.block == 0) throw std::invalid_argument("block size must be positive");
    if (source.n_samples() != folds.n) throw std::invalid_argument("outer folds over other samples than the source's");
    const FoldScreenData D(folds, targets);
    const std::size_t F = D.F;
    const bool by_value = opt.dedup == Dedup::Value;
    // Value dedup is settled on each fold's list, which must hold the survivors' duplicates.
    std::size_t capacity = !by_value ? opt.keep : std::max(opt.keep, list_size ? list_size : opt.keep + opt.keep / 4 + 64);
    std::vector<ScreenResult> res;
    std::vector<TopK<ScoredCandidate>> tops;
    for (;;) {
        fold_pass(source, D, opt, progress, capacity, res, tops);
        if (res[0].cancelled && !by_value) break;
        // Each fold's list best first, and its positions in generation order.
        std::vector<std::vector<ScoredCandidate>> lists(F);
        std::vector<std::vector<std::uint32_t>> by_index(F);
        const auto n_folds = static_cast<long long>(F);
#pragma omp parallel for schedule(static, 1)
        for (long long fl = 0; fl < n_folds; ++fl) {
            const auto f = static_cast<std::size_t>(fl);
            lists[f] = tops[f].sorted();
            if (!by_value) continue;
            const auto& l = lists[f];
            by_index[f].resize(l.size());
            for (std::uint32_t p = 0; p < l.size(); ++p) by_index[f][p] = p;
            std::sort(by_index[f].begin(), by_index[f].end(), [&](auto a, auto b) { return l[a].index < l[b].index; });
        }
        if (!by_value) {
            for (std::size_t f = 0; f < F; ++f) res[f].top = std::move(lists[f]);
            break;
        }
        const std::vector<std::vector<std::uint64_t>> hashes = training_value_hashes(source, D, lists, by_index);
        // Value duplicates among each fold's list (the first in generation order stays), the
        // folds side by side.
        std::vector<std::vector<char>> survives(F);
        std::vector<std::uint64_t> dups(F, 0);
#pragma omp parallel for schedule(static, 1)
        for (long long fl = 0; fl < n_folds; ++fl) {
            const auto f = static_cast<std::size_t>(fl);
            std::unordered_set<std::uint64_t> seen;
            seen.reserve(lists[f].size());
            survives[f].assign(lists[f].size(), 0);
            for (auto p : by_index[f]) {
                if (seen.insert(hashes[f][p]).second)
                    survives[f][p] = 1;
                else
                    ++dups[f];
            }
        }
        bool certified = true;
        for (std::size_t f = 0; f < F; ++f) {
            const auto& l = lists[f];
            // Exact when the list holds every kept candidate, or when enough survivors lie
            // clearly above its last score: their duplicates all lie in the list.
            const double delta = 4.0 * std::sqrt(D.m[f]) / 1073741824.0 + 1e-12;
            const bool whole = !tops[f].full() || res[f].cancelled;
            std::size_t clear = 0;
            if (!whole)
                for (std::size_t p = 0; p < l.size(); ++p) clear += survives[f][p] && l[p].score > l.back().score + delta;
            if (!whole && clear < opt.keep) {
                certified = false;
                break;
            }
            std::vector<ScoredCandidate> top;
            for (std::size_t p = 0; p < l.size() && top.size() < opt.keep; ++p)
                if (survives[f][p]) top.push_back(l[p]);
            res[f].top = std::move(top);
            res[f].n_value_duplicates = dups[f];
            res[f].n_kept -= dups[f];
        }
        if (certified) break;
        capacity *= 8;  // many duplicates near the top: a longer list, one more pass
    }
    return res;
}

// ---------------------------------------------------------------------------------------------
// The pair sweep.

namespace {

using detail::Block8x16;
using detail::kPanel;
using detail::kRows;
using detail::kSafety;
using detail::v8d;
using detail::v8l;

// Per fold and thread: the top-k list.
struct alignas(64) FoldTop {
    explicit FoldTop(std::size_t k) : top(k) {}
    TopK<Combination> top;
    double threshold() const { return top.full() ? top.worst().r2 * kSafety : -1.0; }
};

struct Sweep {
    std::size_t F, n, m, mp;          // folds, samples, union size, padded
    std::vector<double> z;           // panels, samples grouped by fold
    std::vector<std::size_t> off;    // fold sample ranges in the panels
    // Per fold, per union candidate (padded): scale (NaN: not in the fold's pool), training
    // sum / sqrt(m_f), training correlation with the target.
    std::vector<std::vector<double>> sig, v, b;
    std::vector<std::vector<std::uint32_t>> rank;  // per fold: position in its pool
    double lim2, tol;
};

inline double fold_g(double G, double T, double vi, double vj, double si, double sj) {
    return (G - T - vi * vj) * si * sj;
}

inline void consider(FoldTop& me, const Sweep& S, std::size_t f, double g, std::size_t i, std::size_t j, double bi,
                     double bj) {
    if (!(g * g < S.lim2)) return;  // also NaN: a member outside the fold's pool
    const double det = 1.0 - g * g;
    if (!(det > S.tol)) return;
    const double num = bi * bi + bj * bj - 2.0 * bi * bj * g;
    if (num < me.threshold() * det) return;
    std::uint32_t ri = S.rank[f][i], rj = S.rank[f][j];
    if (ri > rj) std::swap(ri, rj);
    me.top.push({num / det, 2, {ri, rj, 0}});
}

inline void consider(FoldTop& me, const Sweep& S, std::size_t f, double g, std::size_t i, std::size_t j) {
    consider(me, S, f, g, i, j, S.b[f][i], S.b[f][j]);
}

// One 8 x 16 block of pairs (rows i.., columns j..) in fold f. Entries past the union, and those
// of candidates outside the fold's pool, have a NaN scale and fail every test; a block across the
// diagonal (kDiagonal) masks its pairs with j <= i.
template <bool kDiagonal>
void score_fold_block(FoldTop& me, const Sweep& S, std::size_t f, const Block8x16& G, const Block8x16& T,
                      std::size_t i, std::size_t j) {
    const double *sg = S.sig[f].data(), *vv = S.v[f].data(), *bb = S.b[f].data();
    // The pre-test of PairForm, with the validity (g^2 under the limit, det = 1 - g^2 above
    // tol) as one bound on g^2 that holds whenever both do.
    const double thr = me.threshold();
    const v8d sj[2] = {detail::load8(sg + j), detail::load8(sg + j + 8)};
    const v8d vj[2] = {detail::load8(vv + j), detail::load8(vv + j + 8)};
    const v8d bj[2] = {detail::load8(bb + j), detail::load8(bb + j + 8)};
    const v8d bj2[2] = {bj[0] * bj[0], bj[1] * bj[1]};
    const v8d vbound = detail::splat(std::min(S.lim2, 1.0 - 0.5 * S.tol)),
              vslack = detail::splat(-detail::kPretestSlack);
    const v8l lane = {0, 1, 2, 3, 4, 5, 6, 7};
    v8l hit = {};
    for (std::size_t r = 0; r < kRows; ++r) {
        const v8d si = detail::splat(sg[i + r]), vi = detail::splat(vv[i + r]);
        const detail::PairForm form(thr, bb[i + r]);
        for (int h = 0; h < 2; ++h) {
            const v8d g = (G.c[r][h] - T.c[r][h] - vi * vj[h]) * si * sj[h];
            v8l pass = detail::lt(g * g, vbound) & detail::ge(form.eval(g, bj[h], bj2[h]), vslack);
            if (kDiagonal)  // columns j + 8h + lane above row i + r only
                pass &= detail::gt(lane + static_cast<long long>(j + 8 * static_cast<std::size_t>(h)),
                                   v8l{} + static_cast<long long>(i + r));
            hit |= pass;
        }
    }
    if (!detail::any(hit)) return;
    for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t l = 0; l < kPanel; ++l) {
            const std::size_t ii = i + r, jj = j + l;
            if (jj <= ii) continue;
            consider(me, S, f, fold_g(G.c[r][l / 8][l % 8], T.c[r][l / 8][l % 8], vv[ii], vv[jj], sg[ii], sg[jj]), ii,
                     jj);
        }
}

// The pairs, in fold f, of the candidates whose training part lies far from their full mean
// relative to its spread (a sample of the fold's test part dominates them), from their
// values over the training part standardised on their own: with a partner that is well
// conditioned, sum_train z~_u z_w sigma_w (z~_u sums to 0 on the training part, so the
// partner's training mean drops out); between two such candidates, sum_train z~_u z~_w.
void ill_conditioned_pairs(const CandidateSource& source, const OuterFolds& folds, const std::vector<std::uint64_t>& uni,
                           const Sweep& S, const std::vector<std::vector<char>>& in_pool,
                           const std::vector<std::vector<char>>& ill, const std::vector<double>& target,
                           std::vector<std::vector<FoldTop>>& tops) {
    const std::size_t n = S.n, m = S.m;
    for (std::size_t f = 0; f < S.F; ++f) {
        std::vector<std::size_t> B;
        for (std::size_t u = 0; u < m; ++u)
            if (ill[f][u]) B.push_back(u);
        if (B.empty()) continue;
        const std::size_t o0 = S.off[f], o1 = S.off[f + 1], mt = n - (o1 - o0);
        // Training samples in the panels' grouped order, and the target standardised over them.
        std::vector<std::uint32_t> tr;
        for (std::size_t q = 0; q < n; ++q)
            if (q < o0 || q >= o1) tr.push_back(folds.order[q]);
        std::vector<double> yt(mt), tt(mt);
        for (std::size_t s = 0; s < mt; ++s) yt[s] = target[tr[s]];
        detail::standardize(yt.data(), mt, detail::Scale::UnitNorm, tt.data());
        // The ill-conditioned candidates standardised on the training part, in panels of 16.
        const std::size_t nb = B.size(), nbp = (nb + kPanel - 1) / kPanel * kPanel;
        std::vector<double> P(nbp * mt, 0.0), bt(nbp, 0.0);
        std::vector<char> ok(nbp, 0);
        const auto nbl = static_cast<long long>(nb);
#pragma omp parallel
        {
            std::vector<double> x(n), xt(mt), zt(mt);
#pragma omp for schedule(static)
            for (long long k = 0; k < nbl; ++k) {
                source.evaluate_range(uni[B[k]], uni[B[k]] + 1, x.data());
                for (std::size_t s = 0; s < mt; ++s) xt[s] = x[tr[s]];
                if (!detail::standardize(xt.data(), mt, detail::Scale::UnitNorm, zt.data())) continue;
                double* pk = P.data() + (k / kPanel) * mt * kPanel + k % kPanel;
                double bk = 0;
                for (std::size_t s = 0; s < mt; ++s) pk[s * kPanel] = zt[s], bk += zt[s] * tt[s];
                bt[k] = bk, ok[k] = 1;
            }
        }
        // Against every well-conditioned member of the fold's pool: 8 x 16 blocks over the
        // training samples (the union's panels skip the fold's test range).
        const auto n_col_panels = static_cast<long long>(S.mp / kPanel);
#pragma omp parallel
        {
            FoldTop& me = tops[static_cast<std::size_t>(omp_get_thread_num())][f];
            Block8x16 acc;
#pragma omp for schedule(dynamic, 4)
            for (long long cp = 0; cp < n_col_panels; ++cp) {
                const std::size_t j = static_cast<std::size_t>(cp) * kPanel;
                const double* bp = S.z.data() + (j / kPanel) * n * kPanel;
                for (std::size_t i = 0; i < nb; i += kRows) {
                    const double* a = P.data() + (i / kPanel) * mt * kPanel + i % kPanel;
                    acc = Block8x16{};
                    detail::gram_accumulate(a, bp, o0, acc);
                    detail::gram_accumulate(a + o0 * kPanel, bp + o1 * kPanel, n - o1, acc);
                    for (std::size_t r = 0; r < kRows && i + r < nb; ++r) {
                        if (!ok[i + r]) continue;
                        for (std::size_t l = 0; l < kPanel; ++l) {
                            const std::size_t w = j + l;
                            if (w >= m || !in_pool[f][w] || ill[f][w]) continue;
                            const double g = acc.c[r][l / 8][l % 8] * S.sig[f][w];
                            const std::size_t u = B[i + r];
                            consider(me, S, f, g, std::min(u, w), std::max(u, w), u < w ? bt[i + r] : S.b[f][w],
                                     u < w ? S.b[f][w] : bt[i + r]);
                        }
                    }
                }
            }
        }
        // Among themselves.
        FoldTop& me = tops[0][f];
        for (std::size_t a = 0; a < nb; ++a)
            for (std::size_t c = a + 1; c < nb; ++c) {
                if (!ok[a] || !ok[c]) continue;
                const double* pa = P.data() + (a / kPanel) * mt * kPanel + a % kPanel;
                const double* pc = P.data() + (c / kPanel) * mt * kPanel + c % kPanel;
                double g = 0;
                for (std::size_t s = 0; s < mt; ++s) g += pa[s * kPanel] * pc[s * kPanel];
                consider(me, S, f, g, B[a], B[c], bt[a], bt[c]);
            }
    }
}

}  // namespace

std::vector<SearchResult> search_pairs_folds(const CandidateSource& source, const OuterFolds& folds,
                                             const std::vector<double>& target,
                                             const std::vector<std::vector<std::uint64_t>>& pools,
                                             const SearchOptions& opt, Progress* progress) {
    detail::check_search_options(opt);
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t F = folds.size(), n = folds.n;
    if (pools.size() != F) throw std::invalid_argument("one pool per outer fold");
    if (source.n_samples() != n || target.size() != n) throw std::invalid_argument("outer folds over other samples");
    Sweep S;
    S.F = F, S.n = n, S.off = folds.offset;
    const double lim = detail::pair_limit(opt);
    S.lim2 = lim * lim, S.tol = opt.singular_tol;
    std::vector<std::uint64_t> uni;
    for (const auto& p : pools) uni.insert(uni.end(), p.begin(), p.end());
    std::sort(uni.begin(), uni.end());
    uni.erase(std::unique(uni.begin(), uni.end()), uni.end());
    for (auto i : uni)
        if (i >= source.size()) throw std::out_of_range("candidate index out of range");
    if (F > 32) throw std::invalid_argument("at most 32 outer folds");
    // The union ordered by the folds whose pools hold a candidate (those in every pool
    // first), so that blocks of candidates held by few folds are scored for those only.
    {
        std::vector<std::uint32_t> mask(uni.size(), 0);
        for (std::size_t f = 0; f < F; ++f)
            for (auto idx : pools[f])
                mask[static_cast<std::size_t>(std::lower_bound(uni.begin(), uni.end(), idx) - uni.begin())] |= 1u << f;
        std::vector<std::size_t> ord(uni.size());
        for (std::size_t u = 0; u < ord.size(); ++u) ord[u] = u;
        std::sort(ord.begin(), ord.end(), [&](std::size_t a, std::size_t b) {
            const int pa = __builtin_popcount(mask[a]), pb = __builtin_popcount(mask[b]);
            if (pa != pb) return pa > pb;
            if (mask[a] != mask[b]) return mask[a] < mask[b];
            return uni[a] < uni[b];
        });
        std::vector<std::uint64_t> sorted(uni.size());
        for (std::size_t u = 0; u < ord.size(); ++u) sorted[u] = uni[ord[u]];
        uni.swap(sorted);
    }
    std::unordered_map<std::uint64_t, std::size_t> pos_of;
    for (std::size_t u = 0; u < uni.size(); ++u) pos_of[uni[u]] = u;
    S.m = uni.size(), S.mp = (S.m + kPanel - 1) / kPanel * kPanel;
    const std::size_t m = S.m, mp = S.mp;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    S.rank.assign(F, std::vector<std::uint32_t>(mp, 0));
    S.sig.assign(F, std::vector<double>(mp, nan));
    S.v.assign(F, std::vector<double>(mp, 0.0));
    S.b.assign(F, std::vector<double>(mp, 0.0));
    std::vector<std::vector<char>> in_pool(F, std::vector<char>(mp, 0)), ill(F, std::vector<char>(mp, 0));
    for (std::size_t f = 0; f < F; ++f)
        for (std::size_t p = 0; p < pools[f].size(); ++p) {
            const std::size_t u = pos_of.at(pools[f][p]);
            if (in_pool[f][u]) throw std::invalid_argument("a candidate twice in one pool");
            in_pool[f][u] = 1;
            S.rank[f][u] = static_cast<std::uint32_t>(p);
        }
    // The target, standardised over all samples (grouped order), and its training sums per fold.
    std::vector<double> t(n);
    {
        std::vector<double> yg(n);
        for (std::size_t q = 0; q < n; ++q) yg[q] = target[folds.order[q]];
        if (!detail::standardize(yg.data(), n, detail::Scale::UnitNorm, t.data()))
            throw std::invalid_argument("the target is constant or not finite");
    }
    std::vector<double> ut(F), cyy(F), tf1(F), tf2(F);
    for (std::size_t f = 0; f < F; ++f)
        for (std::size_t q = S.off[f]; q < S.off[f + 1]; ++q) tf1[f] += t[q], tf2[f] += t[q] * t[q];
    {
        LeaveOneOut a, c;
        a.build(tf1.data(), F), c.build(tf2.data(), F);
        for (std::size_t f = 0; f < F; ++f) {
            const double mf = static_cast<double>(n - folds.test[f].size());
            ut[f] = a.without(f);
            cyy[f] = c.without(f) - ut[f] * ut[f] / mf;
            if (!(cyy[f] > 0)) throw std::invalid_argument("the target is constant on a fold's training part");
        }
    }
    // The union's panels: centred on the mean of the finite values and scaled to unit norm over
    // them; a non-finite value (possible only at the test samples of the folds whose pool holds
    // the candidate) enters as 0, so that it is in no training sum.
    S.z.assign(mp * n, 0.0);
    const auto mm = static_cast<long long>(m);
#pragma omp parallel
    {
        std::vector<double> x(n);
        std::vector<double> s1(F), s2(F), sy(F);
        LeaveOneOut l1, l2, ly;
#pragma omp for schedule(static)
        for (long long ui = 0; ui < mm; ++ui) {
            const auto u = static_cast<std::size_t>(ui);
            source.evaluate_range(uni[u], uni[u] + 1, x.data());
            double sum = 0;
            std::size_t cnt = 0;
            for (std::size_t s = 0; s < n; ++s)
                if (std::isfinite(x[s])) sum += x[s], ++cnt;
            const double mean = cnt ? sum / static_cast<double>(cnt) : 0.0;
            double ssq = 0;
            for (std::size_t s = 0; s < n; ++s)
                if (std::isfinite(x[s])) ssq += (x[s] - mean) * (x[s] - mean);
            const double inv = ssq > 0 && std::isfinite(ssq) ? 1.0 / std::sqrt(ssq) : 0.0;
            double* zu = S.z.data() + (u / kPanel) * n * kPanel + u % kPanel;
            for (std::size_t q = 0; q < n; ++q) {
                const double xv = x[folds.order[q]];
                zu[q * kPanel] = std::isfinite(xv) ? (xv - mean) * inv : 0.0;
            }
            for (std::size_t f = 0; f < F; ++f) {
                double a = 0, b = 0, c = 0;
                for (std::size_t q = S.off[f]; q < S.off[f + 1]; ++q) {
                    const double zq = zu[q * kPanel];
                    a += zq, b += zq * zq, c += zq * t[q];
                }
                s1[f] = a, s2[f] = b, sy[f] = c;
            }
            l1.build(s1.data(), F), l2.build(s2.data(), F), ly.build(sy.data(), F);
            for (std::size_t f = 0; f < F; ++f) {
                if (!in_pool[f][u]) continue;
                const double mf = static_cast<double>(n - folds.test[f].size());
                const double uu = l1.without(f), cii = l2.without(f) - uu * uu / mf;
                const double ciy = ly.without(f) - uu * ut[f] / mf;
                if (!(cii > kWellConditioned * l2.without(f)) || !(inv > 0)) {
                    ill[f][u] = 1;  // its pairs in this fold are scored on its training values (below)
                    continue;
                }
                const double sgm = 1.0 / std::sqrt(cii);
                S.sig[f][u] = sgm;
                S.v[f][u] = uu / std::sqrt(mf);
                S.b[f][u] = ciy * sgm / std::sqrt(cyy[f]);
            }
        }
    }

    // Which folds hold any of each 8 rows / 16 columns: a block is scored for the folds of both.
    std::vector<std::uint32_t> row_folds(mp / kRows, 0), col_folds(mp / kPanel, 0);
    for (std::size_t f = 0; f < F; ++f)
        for (std::size_t u = 0; u < m; ++u)
            if (in_pool[f][u]) row_folds[u / kRows] |= 1u << f, col_folds[u / kPanel] |= 1u << f;

    // Tiles of T x T union candidates, I <= J, in batches (as search_pairs); each 8 x 16 block is
    // summed fold by fold (T_f), G is their sum, and every fold scores the block from G - T_f.
    const std::size_t T = opt.tile, n_tiles = (mp + T - 1) / T;
    const std::size_t n_threads = static_cast<std::size_t>(omp_get_max_threads());
    std::vector<std::vector<FoldTop>> tops(n_threads, std::vector<FoldTop>(F, FoldTop(opt.keep)));
    std::vector<std::uint64_t> blocks(n_threads, 0);
    constexpr std::size_t kBatchPerThread = 32;
    const std::size_t batch_target = kBatchPerThread * n_threads;
    auto pairs_of_tiles = [&](std::size_t I, std::size_t J) -> std::uint64_t {
        const std::uint64_t rows = std::min(m, I * T + T) - std::min(m, I * T);
        if (I == J) return rows * (rows - (rows > 0)) / 2;
        return rows * (std::min(m, J * T + T) - std::min(m, J * T));
    };
    const std::uint64_t total = count_combinations(m, 2, 0, m);
    std::uint64_t done = 0;
    bool cancelled = false;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> batch;
    std::size_t I_cur = 0, J_cur = 0;
    while (I_cur < n_tiles && !cancelled) {
        batch.clear();
        while (I_cur < n_tiles && batch.size() < batch_target) {
            batch.emplace_back(static_cast<std::uint32_t>(I_cur), static_cast<std::uint32_t>(J_cur));
            if (++J_cur == n_tiles) J_cur = ++I_cur;
        }
        const auto n_batch = static_cast<long long>(batch.size());
#pragma omp parallel
        {
            const auto tid = static_cast<std::size_t>(omp_get_thread_num());
            std::vector<FoldTop>& mine = tops[tid];
            std::vector<Block8x16> Tf(F);
#pragma omp for schedule(static)
            for (long long q = 0; q < n_batch; ++q) {
                const std::size_t I = batch[static_cast<std::size_t>(q)].first, J = batch[static_cast<std::size_t>(q)].second;
                const std::size_t i1 = std::min(mp, I * T + T), j1 = std::min(mp, J * T + T);
                for (std::size_t i = I * T; i < i1 && i < m; i += kRows) {
                    const double* a = S.z.data() + (i / kPanel) * n * kPanel + i % kPanel;
                    for (std::size_t j = J * T; j < j1 && j < m; j += kPanel) {
                        if (j + kPanel - 1 <= i) continue;  // wholly on or below the diagonal
                        const std::uint32_t common = row_folds[i / kRows] & col_folds[j / kPanel];
                        if (!common) continue;
                        const double* bp = S.z.data() + (j / kPanel) * n * kPanel;
                        Block8x16 G{};
                        for (std::size_t f = 0; f < F; ++f) {
                            const std::size_t o = S.off[f], len = S.off[f + 1] - o;
                            detail::gram_block(a + o * kPanel, bp + o * kPanel, len, Tf[f]);
                            for (std::size_t r = 0; r < kRows; ++r) G.c[r][0] += Tf[f].c[r][0], G.c[r][1] += Tf[f].c[r][1];
                        }
                        ++blocks[tid];
                        const bool diagonal = j <= i + kRows - 1;
                        for (std::size_t f = 0; f < F; ++f) {
                            if (!(common >> f & 1u)) continue;
                            if (diagonal)
                                score_fold_block<true>(mine[f], S, f, G, Tf[f], i, j);
                            else
                                score_fold_block<false>(mine[f], S, f, G, Tf[f], i, j);
                        }
                    }
                }
            }
        }
        for (const auto& [I, J] : batch) done += pairs_of_tiles(I, J);
        cancelled = !keep_going(progress, "nested pairs", done, total);
    }
    if (!cancelled) ill_conditioned_pairs(source, folds, uni, S, in_pool, ill, target, tops);
    std::vector<SearchResult> out(F);
    std::uint64_t n_blocks = 0;
    for (auto b : blocks) n_blocks += b;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (std::size_t f = 0; f < F; ++f) {
        TopK<Combination> all(opt.keep);
        for (auto& th : tops) all.merge(th[f].top);
        SearchResult& r = out[f];
        r.best = all.sorted();
        r.dim = 2;
        const std::uint64_t planned = count_combinations(pools[f].size(), 2, 0, pools[f].size());
        r.n_combinations = cancelled ? (total ? planned * done / total : 0) : planned;
        r.gram_flops = n_blocks * kRows * kPanel * n * 2;
        r.peak_bytes = (S.z.size() + 3 * F * mp) * sizeof(double);
        r.cancelled = cancelled;
        r.seconds = seconds;
    }
    return out;
}

std::vector<SearchResult> search_triples_folds(const CandidateSource& source, const OuterFolds& folds,
                                               const std::vector<double>& target,
                                               const std::vector<std::vector<std::uint64_t>>& pools,
                                               const SearchOptions& opt, Progress* progress) {
    detail::check_search_options(opt);
    const std::size_t F = folds.size();
    if (pools.size() != F) throw std::invalid_argument("one pool per outer fold");
    if (source.n_samples() != folds.n || target.size() != folds.n) throw std::invalid_argument("outer folds over other samples");
    std::vector<SearchResult> out(F);
    for (auto& r : out) r.dim = 3, r.cancelled = true;
    // One fold per thread, each taking the next fold as it frees up (the folds' costs differ:
    // on the default job one has five times the valid triples of another); each fold's own
    // kernels run on its thread alone (no nested teams). The calling thread reports after each
    // fold it finishes; once told to stop, no fold starts.
    const int threads = std::max(1, omp_get_max_threads());
    std::vector<std::string> errors(F);
    std::atomic<std::size_t> next{0}, finished{0};
    std::atomic<bool> stop{false};
#pragma omp parallel num_threads(threads)
    for (;;) {
        if (stop.load()) break;
        const std::size_t f = next.fetch_add(1);
        if (f >= F) break;
        try {
            const std::vector<std::uint32_t> train = folds.training(f);
            std::vector<double> yt(train.size());
            for (std::size_t s = 0; s < train.size(); ++s) yt[s] = target[train[s]];
            if (pools[f].size() < 3) {
                out[f] = SearchResult{};
                out[f].dim = 3;
            } else {
                const SampleView view(source, train);
                const StandardizedSet set(view, pools[f], yt.data());
                out[f] = search_triples(set, opt, nullptr);
            }
        } catch (const std::exception& e) {
            errors[f] = e.what();
            stop.store(true);
        }
        const std::size_t done = finished.fetch_add(1) + 1;
        if (omp_get_thread_num() == 0 && !keep_going(progress, "nested triples", done, F)) stop.store(true);
    }
    for (std::size_t f = 0; f < F; ++f)
        if (!errors[f].empty()) throw std::invalid_argument("fold " + std::to_string(f + 1) + ": " + errors[f]);
    if (!stop.load()) keep_going(progress, "nested triples", F, F);  // the folds other threads finished last
    return out;
}

}  // namespace formulasearch
