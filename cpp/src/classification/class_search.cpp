#include "formulasearch/classification/class_search.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "accuracy_kernel.hpp"
#include "candidate_stream.hpp"
#include "formulasearch/classification/overlap.hpp"
#include "formulasearch/top_k.hpp"
#include "logistic_kernel.hpp"
#include "openmp_shim.hpp"
#include "overlap_kernel.hpp"
#include "standardize.hpp"
#include "svm_kernel.hpp"

namespace formulasearch {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void check_search_input(const ClassLabels& labels, std::size_t n, const ClassifyOptions& opt) {
    detail::check_logistic_options(opt.logistic);
    detail::check_svm_options(opt.accuracy.svm);
    if (labels.label.size() != n) throw std::invalid_argument("number of labels does not match the number of samples");
    for (std::size_t c : labels.class_sizes)
        if (c < 2) throw std::invalid_argument("each class needs at least 2 samples to have a domain");
    if (n < 3) throw std::invalid_argument("need at least 3 samples");
}

// Per-thread scratch of the 1D screening.
struct ScreenWorkspace {
    std::vector<double> z;  // one standardised formula, padded with zeros
    detail::AccuracyWorkspace accuracy;
    std::vector<detail::Separator> separators;
};

// The pool of a combination search, standardised (unit standard deviation)
// once, each row padded with zeros for the vector passes.
struct Pool {
    Pool(const double* values, std::size_t m, std::size_t n)
        : m(m), n(n), padded(detail::padded_size(n)), z(m * padded, 0.0), zmax2(m, 0.0) {
        for (std::size_t i = 0; i < m; ++i) {
            double* zi = z.data() + i * padded;
            if (!detail::standardize(values + i * n, n, detail::Scale::UnitStd, zi))
                throw std::invalid_argument("pool formula " + std::to_string(i) + " is constant or not finite");
            for (std::size_t s = 0; s < n; ++s) zmax2[i] = std::max(zmax2[i], zi[s] * zi[s]);
        }
    }
    const double* row(std::size_t i) const { return z.data() + i * padded; }
    std::size_t m, n, padded;
    std::vector<double> z, zmax2;
};

// The logistic fit of each pool formula alone, per binary problem: the start of its combinations.
struct LogisticMembers {
    static constexpr double kStoreBytes = 512.0 * 1024 * 1024;  // residuals kept up to this; beyond, one exp pass per start
    LogisticMembers(const Pool& pool, const detail::BinaryProblems& P, const LogisticOptions& opt)
        : count(static_cast<std::size_t>(P.count)), start(pool.m * count) {
        const detail::LogisticPrior prior(P);
        const bool store = 16.0 * static_cast<double>(pool.m * count * P.padded) <= kStoreBytes;
        if (store) r.assign(pool.m * count * P.padded, 0.0), c.assign(r.size(), 0.0);
        const auto m = static_cast<long long>(pool.m);
#pragma omp parallel for schedule(dynamic, 4)
        for (long long ii = 0; ii < m; ++ii) {
            const auto i = static_cast<std::size_t>(ii);
            const double* zi = pool.row(i);
            for (std::size_t k = 0; k < count; ++k) {
                const std::size_t cell = i * count + k;
                double* rk = store ? r.data() + cell * P.padded : nullptr;
                double* ck = store ? c.data() + cell * P.padded : nullptr;
                detail::BinaryFit fit;
                detail::fit_binary(&zi, 1, &pool.zmax2[i], P, static_cast<int>(k), prior.start[k], opt, kInf, fit, rk, ck);
                detail::WarmStart& st = start[cell];
                st.intercept = fit.w[0], st.weight = fit.w[1];
                st.loss = fit.loss;
                st.objective = fit.loss + 0.5 * opt.l2 * (fit.w[1] * fit.w[1]);
                st.r = rk, st.c = ck;
            }
        }
    }
    const detail::WarmStart& of(std::size_t i, std::size_t k) const { return start[i * count + k]; }
    std::size_t count;
    std::vector<detail::WarmStart> start;
    std::vector<double> r, c;
};

// The accuracy separator of each pool formula alone, per binary problem (its
// threshold, and its own SVM to start a combination's SVM from).
struct AccuracyMembers {
    AccuracyMembers(const Pool& pool, const detail::BinaryProblems& P, const ClassLabels& labels, const SvmOptions& svm)
        : count(static_cast<std::size_t>(P.count)), axis(pool.m * count), svm_fit(pool.m * count) {
        const auto m = static_cast<long long>(pool.m);
#pragma omp parallel
        {
            detail::AccuracyWorkspace ws;
#pragma omp for schedule(dynamic, 4)
            for (long long ii = 0; ii < m; ++ii) {
                const auto i = static_cast<std::size_t>(ii);
                const double* zi = pool.row(i);
                for (std::size_t k = 0; k < count; ++k) {
                    axis[i * count + k] = detail::axis_separator(zi, 0, labels, P.positive[k], ws).threshold;
                    std::array<double, 4> v{};
                    detail::fit_svm(&zi, 1, P, static_cast<int>(k), svm, v);
                    svm_fit[i * count + k] = {v[0], v[1]};
                }
            }
        }
    }
    std::size_t count;
    std::vector<detail::Threshold> axis;
    std::vector<std::array<double, 2>> svm_fit;
};

// Per-thread scratch of a combination search.
struct ComboWorkspace {
    detail::AccuracyWorkspace accuracy;
    std::vector<detail::Separator> separators;
    std::vector<detail::WarmStart> starts;
};

class ComboScorer {
public:
    ComboScorer(const Pool& pool, const ClassLabels& labels, const ClassifyOptions& opt)
        : pool_(pool), labels_(labels), opt_(opt), problems_(labels) {
        if (opt.score == SeparationScore::Logistic) logistic_ = std::make_unique<LogisticMembers>(pool, problems_, opt.logistic);
        if (opt.score == SeparationScore::Accuracy)
            accuracy_ = std::make_unique<AccuracyMembers>(pool, problems_, labels, opt.accuracy.svm);
    }

    // The key of the combination idx[0..dim), or false when it cannot beat `bound` (given when a top list is full).
    bool score(const std::uint32_t* idx, int dim, const SeparationKey* bound, ComboWorkspace& ws,
               SeparationKey& key, bool& fitted) const {
        const double* z[3];
        double zmax2[3];
        for (int p = 0; p < dim; ++p) z[p] = pool_.row(idx[p]), zmax2[p] = pool_.zmax2[idx[p]];
        const auto count = static_cast<std::size_t>(problems_.count);
        fitted = false;
        if (opt_.score == SeparationScore::Overlap) {
            // A pair with more overlap samples than the worst kept one cannot be kept.
            const std::uint32_t most = bound ? bound->count : std::numeric_limits<std::uint32_t>::max();
            key = detail::overlap_2d_standardised(z[0], z[1], labels_, most, nullptr);
            return key.count <= most;
        }
        if (opt_.score == SeparationScore::Logistic) {
            ws.starts.resize(count);
            for (std::size_t k = 0; k < count; ++k) {  // from the member whose own fit is best
                int from = 0;
                for (int p = 1; p < dim; ++p)
                    if (logistic_->of(idx[p], k).objective < logistic_->of(idx[from], k).objective) from = p;
                ws.starts[k] = logistic_->of(idx[from], k);
                ws.starts[k].position = from;
            }
            const double above = opt_.prune && bound ? bound->value : kInf;
            const double loss = detail::logistic_loss(z, dim, zmax2, problems_, ws.starts.data(), opt_.logistic, above);
            if (loss == kInf) return false;
            fitted = true;
            key = {0, loss};
            return true;
        }
        ws.separators.resize(count);
        for (std::size_t k = 0; k < count; ++k) {
            detail::Separator axes[3];
            int first = 0;
            for (int p = 0; p < dim; ++p) {
                axes[p].normal[static_cast<std::size_t>(p)] = 1.0;
                axes[p].threshold = accuracy_->axis[idx[p] * count + k];
                if (axes[p].threshold.key() < axes[first].threshold.key()) first = p;
            }
            std::array<double, 4> start{};
            const auto& own = accuracy_->svm_fit[idx[first] * count + k];
            start[0] = own[0];
            start[static_cast<std::size_t>(first) + 1] = own[1];
            ws.separators[k] = detail::best_separator(z, dim, problems_, labels_, static_cast<int>(k), opt_.accuracy.svm,
                                                      start, axes, ws.accuracy);
        }
        key = detail::accuracy_key(z, dim, labels_, ws.separators.data(), problems_.count, ws.accuracy);
        fitted = true;
        return true;
    }

private:
    const Pool& pool_;
    const ClassLabels& labels_;
    const ClassifyOptions& opt_;
    detail::BinaryProblems problems_;
    std::unique_ptr<LogisticMembers> logistic_;
    std::unique_ptr<AccuracyMembers> accuracy_;
};

// a choose k, k = 1..3.
std::uint64_t choose(std::uint64_t a, int k) {
    if (a < static_cast<std::uint64_t>(k)) return 0;
    return k == 1 ? a : k == 2 ? a * (a - 1) / 2 : a * (a - 1) * (a - 2) / 6;
}

ClassSearchResult search_combinations(int dim, const double* values, std::size_t m, const ClassLabels& labels,
                                      const ClassifyOptions& opt, Progress* progress) {
    const auto started = std::chrono::steady_clock::now();
    const std::size_t n = labels.label.size();
    check_search_input(labels, n, opt);
    if (dim == 3 && opt.score == SeparationScore::Overlap)
        throw std::invalid_argument("the domain overlap ranks one or two formulas; triples need the logistic or "
                                    "accuracy score");
    const Pool pool(values, m, n);
    const ComboScorer scorer(pool, labels, opt);
    const bool limit = opt.max_pair_corr > 0 && opt.max_pair_corr < 1;
    auto correlated = [&](std::size_t a, std::size_t b) {
        if (!limit) return false;
        const double *za = pool.row(a), *zb = pool.row(b);
        double r = 0;
        for (std::size_t s = 0; s < n; ++s) r += za[s] * zb[s];
        return std::fabs(r / static_cast<double>(n)) >= opt.max_pair_corr;
    };
    ClassSearchResult res;
    res.dim = dim;
    const std::uint64_t total = choose(m, dim);
    TopK<ClassifiedCombination> best(opt.keep);
    const int threads = std::max(1, omp_get_max_threads());
    std::vector<TopK<ClassifiedCombination>> locals(static_cast<std::size_t>(threads), TopK<ClassifiedCombination>(opt.keep));
    std::vector<ComboWorkspace> workspaces(static_cast<std::size_t>(threads));
    const std::size_t rows = dim == 2 ? 32 : 4;  // first members per progress report
    std::uint64_t done = 0;
    for (std::size_t row0 = 0; row0 + static_cast<std::size_t>(dim) <= m; row0 += rows) {
        const std::size_t row1 = std::min(m + 1 - static_cast<std::size_t>(dim), row0 + rows);
        // The kept list so far bounds every thread from the start of the batch: a
        // combination worse than its worst cannot be kept (the bound never drops below the final one).
        const bool global_full = best.full();
        const SeparationKey global_worst = global_full ? best.worst().key : SeparationKey{};
        std::uint64_t scored = 0, fitted_total = 0;
#pragma omp parallel reduction(+ : scored, fitted_total)
        {
            const auto t = static_cast<std::size_t>(omp_get_thread_num());
            TopK<ClassifiedCombination>& local = locals[t];
            ComboWorkspace& ws = workspaces[t];
            local.clear();
            auto push = [&](const std::uint32_t* idx) {
                ++scored;
                const SeparationKey* bound = nullptr;
                SeparationKey worst;
                if (local.full()) {
                    worst = local.worst().key;
                    if (global_full && global_worst < worst) worst = global_worst;
                    bound = &worst;
                } else if (global_full) {
                    bound = &global_worst;
                }
                SeparationKey key;
                bool fitted = false;
                const bool keep = scorer.score(idx, dim, bound, ws, key, fitted);
                fitted_total += fitted;
                if (!keep) return;
                ClassifiedCombination c;
                c.key = key;
                for (int p = 0; p < dim; ++p) c.members[static_cast<std::size_t>(p)] = idx[p];
                local.push(c);
            };
#pragma omp for schedule(dynamic, 1)
            for (long long ii = static_cast<long long>(row0); ii < static_cast<long long>(row1); ++ii) {
                const auto i = static_cast<std::uint32_t>(ii);
                for (std::uint32_t j = i + 1; j < m; ++j) {
                    if (correlated(i, j)) continue;
                    if (dim == 2) {
                        const std::uint32_t idx[2] = {i, j};
                        push(idx);
                        continue;
                    }
                    for (std::uint32_t k = j + 1; k < m; ++k) {
                        if (correlated(i, k) || correlated(j, k)) continue;
                        const std::uint32_t idx[3] = {i, j, k};
                        push(idx);
                    }
                }
            }
#pragma omp critical
            best.merge(local);
        }
        res.n_scored += scored;
        res.n_fitted += fitted_total;
        for (std::size_t i = row0; i < row1; ++i) done += choose(m - 1 - i, dim - 1);
        if (!keep_going(progress, dim == 2 ? "2D classification" : "3D classification", done, total)) {
            res.cancelled = row1 + static_cast<std::size_t>(dim) <= m;
            break;
        }
    }
    res.n_combinations = done;  // the combinations of the rows scored, all of them unless cancelled
    res.best = best.sorted();
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return res;
}

}  // namespace

ClassScreenResult screen_classes(const CandidateSource& source, const ClassLabels& labels, const ClassifyOptions& opt,
                                 Progress* progress) {
    const std::size_t n = source.n_samples();
    check_search_input(labels, n, opt);
    const detail::BinaryProblems problems(labels);
    const detail::LogisticPrior prior(problems);
    ClassScreenResult res;
    TopK<ClassifiedCandidate> top(opt.screen.keep);
    // Logistic: the loss of the worst kept formula once the list is full (read by the next block's threads).
    double bound = kInf;
    detail::stream_candidates<SeparationKey, ScreenWorkspace>(
        source, opt.screen, progress, "screening", res,
        [&](const double* x, std::size_t len, const detail::Moments& m, ScreenWorkspace& ws) -> SeparationKey {
            if (opt.score == SeparationScore::Overlap) return overlap_1d(x, labels);
            if (ws.z.size() != problems.padded) ws.z.assign(problems.padded, 0.0);
            detail::standardize(x, len, m, detail::Scale::UnitStd, ws.z.data());  // not constant: it passed the filters
            const double* zp = ws.z.data();
            if (opt.score == SeparationScore::Logistic) {
                double zmax2 = 0;
                for (std::size_t s = 0; s < len; ++s) zmax2 = std::max(zmax2, zp[s] * zp[s]);
                return {0, detail::logistic_loss(&zp, 1, &zmax2, problems, prior.start.data(), opt.logistic,
                                                 opt.prune ? bound : kInf)};
            }
            ws.separators.resize(static_cast<std::size_t>(problems.count));
            for (int k = 0; k < problems.count; ++k)
                ws.separators[static_cast<std::size_t>(k)] =
                    detail::axis_separator(zp, 0, labels, problems.positive[static_cast<std::size_t>(k)], ws.accuracy);
            return detail::accuracy_key(&zp, 1, labels, ws.separators.data(), problems.count, ws.accuracy);
        },
        [&](const SeparationKey& key, std::uint64_t index) {
            const bool entered = top.push({key, index});
            if (top.full()) bound = top.worst().key.value;
            return entered;
        });
    res.top = top.sorted();
    return res;
}

ClassSearchResult search_class_pairs(const double* values, std::size_t m, const ClassLabels& labels,
                                     const ClassifyOptions& opt, Progress* progress) {
    return search_combinations(2, values, m, labels, opt, progress);
}

ClassSearchResult search_class_triples(const double* values, std::size_t m, const ClassLabels& labels,
                                       const ClassifyOptions& opt, Progress* progress) {
    return search_combinations(3, values, m, labels, opt, progress);
}

}  // namespace formulasearch
