// Internal: the streaming loop shared by every 1D screening (least squares in
// screening.cpp, class separation in classification/class_search.cpp). It evaluates the
// candidates block by block on all threads, applies the common filters
// (non-finite, out of range, nearly constant) and the string/value
// deduplication in generation order, and hands each surviving candidate's
// score to the caller's top list. Only the score differs between screenings.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "formulasearch/candidate_source.hpp"
#include "formulasearch/progress.hpp"
#include "formulasearch/screening.hpp"
#include "openmp_shim.hpp"
#include "standardize.hpp"

namespace formulasearch::detail {

enum class Status : unsigned char { Kept, NotGenerated, NonFinite, OutOfRange, LowVariance };

inline std::uint64_t mix(std::uint64_t h) {  // splitmix64 finaliser
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

// Hash of the standardised vector up to sign: values are quantised to 2^-30 of
// the unit-norm centred vector, and the sign is fixed by the first non-zero one.
// The quantised values are computed a chunk at a time (a loop that vectorises),
// then mixed by four independent multiply chains.
inline std::uint64_t value_hash(const double* x, std::size_t n, const Moments& m) {
    constexpr double kQuantum = 1073741824.0;  // 2^30
    constexpr std::uint64_t kPrime = 0x100000001b3ULL;
    constexpr std::size_t kChunk = 64;
    const double mean = m.mean, inv_norm = 1.0 / scale_of(m, n, Scale::UnitNorm);
    std::int64_t q[kChunk];
    std::int64_t sign = 0;
    std::uint64_t lanes[4] = {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL, 0x27d4eb2f165667c5ULL};
    for (std::size_t s0 = 0; s0 < n; s0 += kChunk) {
        const std::size_t len = std::min(kChunk, n - s0);
        for (std::size_t s = 0; s < len; ++s)
            q[s] = static_cast<std::int64_t>(std::nearbyint((x[s0 + s] - mean) * inv_norm * kQuantum));
        for (std::size_t s = 0; s < len && sign == 0; ++s) sign = q[s] > 0 ? 1 : q[s] < 0 ? -1 : 0;
        const std::int64_t flip = sign == 0 ? 1 : sign;  // zeros before the first non-zero hash alike
        // s0 is a multiple of 4, so sample s0 + s goes to lane s & 3.
        std::size_t s = 0;
        for (; s + 4 <= len; s += 4)
            for (std::size_t l = 0; l < 4; ++l) lanes[l] = (lanes[l] ^ static_cast<std::uint64_t>(q[s + l] * flip)) * kPrime;
        for (; s < len; ++s) lanes[s & 3] = (lanes[s & 3] ^ static_cast<std::uint64_t>(q[s] * flip)) * kPrime;
    }
    return mix(mix(lanes[0] ^ mix(lanes[1])) ^ mix(lanes[2] ^ mix(lanes[3])));
}

// The common filters of a screening; fills the moments of a candidate that passes.
inline Status common_filters(const double* x, std::size_t n, const ScreenOptions& opt, Moments& m) {
    // A non-finite value anywhere makes the mean non-finite (so does overflow,
    // which makes the candidate useless all the same).
    m.mean = mean_of(x, n);
    if (!std::isfinite(m.mean)) return Status::NonFinite;
    if (opt.max_abs < std::numeric_limits<double>::infinity() || opt.min_abs > 0) {
        double big = 0;
        for (std::size_t s = 0; s < n; ++s) big = std::max(big, std::fabs(x[s]));
        if (big > opt.max_abs || big < opt.min_abs) return Status::OutOfRange;
    }
    m.sxx = centred_squares(x, n, m.mean);
    const double std_dev = scale_of(m, n, Scale::UnitStd);
    if (!std::isfinite(m.sxx)) return Status::NonFinite;
    if (std_dev == 0 || std::fabs(std_dev / m.mean) < opt.variance_filter) return Status::LowVariance;
    return Status::Kept;
}

// Per-thread scratch of a score that needs none.
struct NoWorkspace {};

// Stream over every candidate of `source`. score(x, n, moments) -> Score, or
// score(x, n, moments, workspace) with one Workspace per thread and block, is
// called (on any thread) for each candidate that passes the filters;
// keep(score, index) -> bool (true: it entered the caller's top list) is called
// on the calling thread, in generation order, for each one that also survives
// deduplication. Fills the counters of `res`. Deduplication is exact until
// opt.dedup_limit keys are held; past it only the keys of candidates that
// entered the top list are added (see ScreenOptions::dedup_limit).
// With a sink (not nullptr), sink(index, x, moments) is called just before
// each keep(), with the candidate's values: the block being screened is then
// evaluated into one buffer (block x n values) instead of per-thread chunks
// (the same values: each candidate is evaluated on its own).
// Only the block [opt.begin, opt.end) is streamed, its value dedup seeded with
// opt.earlier_values; with `values` (not nullptr), each kept candidate's index
// and value hash are appended to values->first and values->second.
template <class Score, class Workspace = NoWorkspace, class ScoreFn, class KeepFn, class SinkFn = std::nullptr_t>
void stream_candidates(const CandidateSource& source, const ScreenOptions& opt, Progress* progress, const char* stage,
                       ScreenCounts& res, ScoreFn score, KeepFn keep, SinkFn sink = nullptr,
                       std::pair<std::vector<std::uint64_t>, std::vector<std::uint64_t>>* values = nullptr) {
    constexpr bool kSink = !std::is_same_v<SinkFn, std::nullptr_t>;
    struct Verdict {
        Status status;
        Score score;
        std::uint64_t value_hash;
        Moments moments;
    };
    if (opt.block == 0) throw std::invalid_argument("block size must be positive");  // else no progress
    const std::size_t n = source.n_samples();
    const std::uint64_t first = opt.begin, n_indices = std::min<std::uint64_t>(opt.end, source.size());
    if (first > n_indices) throw std::invalid_argument("the block to screen begins past its end");
    std::unordered_set<std::uint64_t> seen_strings, seen_values;
    bool past_limit = opt.dedup_limit == 0;
    const bool check_strings = source.has_string_duplicates();
    if (check_strings && first > 0)
        throw std::invalid_argument("a block of a source with string duplicates must begin at 0 (the earlier strings are unknown)");
    if (opt.dedup == Dedup::Value && opt.earlier_values)
        seen_values.insert(opt.earlier_values->begin(), opt.earlier_values->end());
    std::vector<Verdict> verdicts;
    constexpr std::uint64_t kChunk = 32;  // candidates evaluated together by one thread
    std::vector<double> block_values(kSink ? std::min<std::uint64_t>(opt.block, n_indices - first) * n : 0);

    for (std::uint64_t begin = first; begin < n_indices; begin += opt.block) {
        const std::uint64_t end = std::min<std::uint64_t>(n_indices, begin + opt.block);
        verdicts.resize(end - begin);
        const auto n_chunks = static_cast<long long>((end - begin + kChunk - 1) / kChunk);
#pragma omp parallel if (n_chunks > 1 && static_cast<long long>((end - begin) * n) > kParallelMinWork)
        {
            std::vector<double> values(kSink ? 0 : kChunk * n);
            [[maybe_unused]] Workspace ws;
#pragma omp for schedule(static)
            for (long long c = 0; c < n_chunks; ++c) {
                const std::uint64_t lo = begin + static_cast<std::uint64_t>(c) * kChunk;
                const std::uint64_t hi = std::min(end, lo + kChunk);
                double* chunk = kSink ? block_values.data() + (lo - begin) * n : values.data();
                source.evaluate_range(lo, hi, chunk);
                for (std::uint64_t i = lo; i < hi; ++i) {
                    Verdict& v = verdicts[i - begin];
                    v = Verdict{Status::NotGenerated, Score{}, 0, Moments{}};
                    if (!source.generated(i)) continue;
                    const double* x = chunk + (i - lo) * n;
                    Moments m;
                    v.status = common_filters(x, n, opt, m);
                    if (v.status != Status::Kept) continue;
                    if constexpr (std::is_invocable_v<ScoreFn&, const double*, std::size_t, const Moments&, Workspace&>)
                        v.score = score(x, n, m, ws);
                    else
                        v.score = score(x, n, m);
                    v.moments = m;
                    if (opt.dedup == Dedup::Value) v.value_hash = value_hash(x, n, m);
                }
            }
        }
        // In generation order, so the first of a group of duplicates survives.
        for (std::uint64_t i = begin; i < end; ++i) {
            const Verdict& v = verdicts[i - begin];
            if (v.status == Status::NotGenerated) continue;
            ++res.n_candidates;
            if (v.status == Status::NonFinite) { ++res.n_nonfinite; continue; }
            if (v.status == Status::OutOfRange) { ++res.n_out_of_range; continue; }
            if (v.status == Status::LowVariance) { ++res.n_low_variance; continue; }
            const std::uint64_t string_key = check_strings ? source.string_key(i) : 0;
            // Exact until the limit: every key is remembered as it is seen (one insert each). Past it: only
            // looked up, and remembered below if its candidate enters the top list.
            const bool exact = !past_limit;
            if (check_strings && (exact ? !seen_strings.insert(string_key).second : seen_strings.count(string_key) > 0)) {
                ++res.n_string_duplicates;
                continue;
            }
            if (opt.dedup == Dedup::Value &&
                (exact ? !seen_values.insert(v.value_hash).second : seen_values.count(v.value_hash) > 0)) {
                ++res.n_value_duplicates;
                continue;
            }
            ++res.n_kept;
            if (values && opt.dedup == Dedup::Value) {
                values->first.push_back(i);
                values->second.push_back(v.value_hash);
            }
            if constexpr (kSink) sink(i, block_values.data() + (i - begin) * n, v.moments);
            const bool entered = keep(v.score, i);
            if (exact) {
                past_limit = std::max(seen_strings.size(), seen_values.size()) >= opt.dedup_limit;
            } else if (entered) {
                if (check_strings) seen_strings.insert(string_key);
                if (opt.dedup == Dedup::Value) seen_values.insert(v.value_hash);
            } else {  // forgotten: its duplicates cannot enter either
                res.dedup_bounded = true;
            }
        }
        res.n_screened = end - first;
        if (!keep_going(progress, stage, end - first, n_indices - first)) {
            res.cancelled = end < n_indices;
            break;
        }
    }
}

}  // namespace formulasearch::detail
