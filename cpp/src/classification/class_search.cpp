#include "formulasearch/classification/class_search.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "candidate_stream.hpp"
#include "formulasearch/classification/overlap.hpp"
#include "formulasearch/top_k.hpp"
#include "logistic_kernel.hpp"
#include "overlap_kernel.hpp"
#include "standardize.hpp"

namespace formulasearch {

namespace {

void check_search_input(const ClassLabels& labels, std::size_t n, const ClassifyOptions& opt) {
    detail::check_logistic_options(opt.logistic);
    if (labels.label.size() != n) throw std::invalid_argument("number of labels does not match the number of samples");
    for (std::size_t c : labels.class_sizes)
        if (c < 2) throw std::invalid_argument("each class needs at least 2 samples to have a domain");
    if (n < 3) throw std::invalid_argument("need at least 3 samples");
}

}  // namespace

ClassScreenResult screen_classes(const CandidateSource& source, const ClassLabels& labels, const ClassifyOptions& opt,
                                 Progress* progress) {
    const std::size_t n = source.n_samples();
    check_search_input(labels, n, opt);
    ClassScreenResult res;
    TopK<ClassifiedCandidate> top(opt.screen.keep);
    detail::stream_candidates<SeparationKey>(
        source, opt.screen, progress, "screening", res,
        [&](const double* x, std::size_t len, const detail::Moments& m) {
            if (opt.score == SeparationScore::Overlap) return overlap_1d(x, labels);
            std::vector<double> z(len);
            detail::standardize(x, len, m, detail::Scale::UnitStd, z.data());  // not constant: it passed the filters
            const double* zp = z.data();
            return SeparationKey{0, detail::fit_standardised(&zp, 1, labels, opt.logistic).loss};
        },
        [&](const SeparationKey& key, std::uint64_t index) { top.push({key, index}); });
    res.top = top.sorted();
    return res;
}

PairSearchResult search_class_pairs(const double* values, std::size_t m, const ClassLabels& labels,
                                    const ClassifyOptions& opt, Progress* progress) {
    const auto started = std::chrono::steady_clock::now();
    const std::size_t n = labels.label.size();
    check_search_input(labels, n, opt);
    std::vector<double> z(m * n);
    for (std::size_t i = 0; i < m; ++i)
        if (!detail::standardize(values + i * n, n, detail::Scale::UnitStd, z.data() + i * n))
            throw std::invalid_argument("pool formula " + std::to_string(i) + " is constant or not finite");
    const bool limit = opt.max_pair_corr > 0 && opt.max_pair_corr < 1;
    PairSearchResult res;
    const std::uint64_t total = m < 2 ? 0 : static_cast<std::uint64_t>(m) * (m - 1) / 2;
    TopK<ClassifiedPair> best(opt.keep);
    constexpr std::size_t kRows = 32;  // first members per progress report
    std::uint64_t done = 0;
    for (std::size_t row0 = 0; row0 + 1 < m; row0 += kRows) {
        const std::size_t row1 = std::min(m - 1, row0 + kRows);
        std::uint64_t scored = 0;
#pragma omp parallel reduction(+ : scored)
        {
            TopK<ClassifiedPair> local(opt.keep);
#pragma omp for schedule(dynamic, 1)
            for (long long ii = static_cast<long long>(row0); ii < static_cast<long long>(row1); ++ii) {
                const auto i = static_cast<std::size_t>(ii);
                const double* zi = z.data() + i * n;
                for (std::size_t j = i + 1; j < m; ++j) {
                    const double* zj = z.data() + j * n;
                    if (limit) {
                        double r = 0;
                        for (std::size_t s = 0; s < n; ++s) r += zi[s] * zj[s];
                        if (std::fabs(r / static_cast<double>(n)) >= opt.max_pair_corr) continue;
                    }
                    ++scored;
                    SeparationKey key;
                    if (opt.score == SeparationScore::Overlap) {
                        // A pair with more overlap samples than this thread's worst kept one cannot be kept.
                        const std::uint32_t bound = local.full() ? local.worst().key.count
                                                                 : std::numeric_limits<std::uint32_t>::max();
                        key = detail::overlap_2d_standardised(zi, zj, labels, bound, nullptr);
                        if (key.count > bound) continue;
                    } else {
                        const double* zp[2] = {zi, zj};
                        key = {0, detail::fit_standardised(zp, 2, labels, opt.logistic).loss};
                    }
                    local.push({key, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j)});
                }
            }
#pragma omp critical
            best.merge(local);
        }
        res.n_scored += scored;
        for (std::size_t i = row0; i < row1; ++i) done += m - 1 - i;
        if (!keep_going(progress, "2D classification", done, total)) {
            res.cancelled = row1 + 1 < m;
            break;
        }
    }
    res.n_combinations = done;  // the pairs of the rows scored, all of them unless cancelled
    res.best = best.sorted();
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return res;
}

}  // namespace formulasearch
