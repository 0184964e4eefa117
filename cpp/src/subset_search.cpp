#include "formulasearch/subset_search.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "formulasearch/top_k.hpp"
#include "pair_tiles.hpp"
#include "triple_scoring.hpp"

#include "openmp_shim.hpp"
#include "prefix_tasks.hpp"

// Every value below is computed by the same sequence of IEEE operations
// wherever it is computed (explicit fma, no contraction: see CMakeLists), so a
// combination's r2 does not depend on the vector lane or the position in a list
// that it happened to take, and equal combinations (copies of a candidate) tie
// exactly.

namespace formulasearch {

std::uint64_t binomial(std::uint64_t m, int d) {
    if (d < 0 || static_cast<std::uint64_t>(d) > m) return 0;
    // C(m, d) = prod_{t=1..d} (m - d + t) / t, exact at every step.
    unsigned __int128 r = 1;
    for (int t = 1; t <= d; ++t) {
        r = r * (m - static_cast<std::uint64_t>(d) + static_cast<std::uint64_t>(t)) / static_cast<std::uint64_t>(t);
        if (r > std::numeric_limits<std::uint64_t>::max())
            throw std::invalid_argument("more than 2^64 combinations: choose a smaller pool or dimension");
    }
    return static_cast<std::uint64_t>(r);
}

namespace {

constexpr std::size_t kNone = detail::kNoSecond;

// A prefix S of l members: its fit, the determinant of its correlation matrix
// and its members.
struct Node {
    double r2 = 0, det = 1;
    std::array<std::uint32_t, kMaxSubsetDim> members{};
};

// The candidates that may join a prefix of l members (ascending, after its
// last member, every pairwise |r| with the members below the limit), each with
// its Cholesky column w against the prefix (rows j < l of W), its Schur
// complement q = 1 - |w|^2 and its residual correlation with the target c.
struct Level {
    std::vector<std::uint32_t> idx;
    std::vector<double> q, c, W;
    std::size_t size = 0, cap = 0;
    bool contiguous = false;  // idx[t] = idx[0] + t (no entry dropped by the |r| limit)
    void allocate(std::size_t l, std::size_t capacity) {
        cap = capacity;
        idx.resize(cap), q.resize(cap), c.resize(cap), W.resize(std::max<std::size_t>(l, 1) * cap);
    }
    double* w(std::size_t j) { return W.data() + j * cap; }
    const double* w(std::size_t j) const { return W.data() + j * cap; }
};

struct Problem {
    const double* G;  // G[i * ld + k], i < k
    std::size_t ld, m;
    int d;
    double lim2, tol;
};

struct alignas(64) Worker {
    Worker(std::size_t keep, std::size_t m, int d) : top(keep), dot(m), wl(m), qn(m), cn(m), gg(m), ok(m) {
        levels.resize(static_cast<std::size_t>(std::max(d - 1, 1)));
        for (std::size_t l = 1; l < levels.size(); ++l) levels[l].allocate(l, m);
    }
    TopK<Subset> top;
    std::uint64_t scored = 0;
    std::vector<Level> levels;  // levels[l]: the list of a prefix of l members, 1 <= l <= d - 2
    // One pass over a list (the projections against a new member), consumed
    // before the walk goes deeper.
    std::vector<double> dot, wl, qn, cn, gg;
    std::vector<unsigned char> ok;
    double threshold() const { return top.full() ? top.worst().r2 : -std::numeric_limits<double>::infinity(); }
};

// The node S + P.idx[p] (l + 1 members) from S (l members, list P), with
// the inverse scale 1 / sqrt(q) of the new member's column and its coordinate
// us along the target; false when the new node is singular (then so is every
// combination containing it: each further member multiplies det by a q <= 1).
inline bool extend(const Level& P, std::size_t l, std::size_t p, const Node& s, double tol, Node& out, double& inv_a,
                   double& us) {
    const double q = P.q[p], c = P.c[p];
    const double det = s.det * q;
    if (!(det > tol) || !(q > 0)) return false;
    out.det = det;
    out.r2 = s.r2 + c * c / q;
    out.members = s.members;
    out.members[l] = P.idx[p];
    inv_a = 1.0 / std::sqrt(q);
    us = c * inv_a;
    return true;
}

// One entry k of a list of l members projected against a new member: its
// new Cholesky entry w = (G[new][k] - w_k . w_new) / sqrt(q_new), its Schur
// complement and its residual correlation with the target given the members
// and the new one. The one formula for internal lists and leaves alike.
struct Projected {
    double w, q, c;
};
inline Projected project_one(double g, double dot, double q, double c, double inv_a, double us) {
    const double w = (g - dot) * inv_a;
    return {w, std::fma(-w, w, q), std::fma(-w, us, c)};
}

// Projections of the entries [t0, P.size) of a list of l members against the
// new member at position p (row grow of G) into the worker's scratch: the new
// Cholesky entry wl, the updated Schur complement qn and residual correlation
// cn, and the raw correlation gg with the new member (for the |r| limit).
inline void project(Worker& me, const Level& P, std::size_t l, std::size_t p, std::size_t t0, const double* grow,
                    double inv_a, double us) {
    const std::size_t n = P.size - t0;
    double* __restrict dot = me.dot.data();
    std::fill(dot, dot + n, 0.0);
    for (std::size_t j = 0; j < l; ++j) {
        const double* __restrict wj = P.w(j) + t0;
        const double wp = P.w(j)[p];
        for (std::size_t t = 0; t < n; ++t) dot[t] = std::fma(wj[t], wp, dot[t]);
    }
    const std::uint32_t* __restrict idx = P.idx.data() + t0;
    const double* __restrict q = P.q.data() + t0;
    const double* __restrict c = P.c.data() + t0;
    for (std::size_t t = 0; t < n; ++t) {
        const double g = grow[idx[t]];
        const Projected e = project_one(g, dot[t], q[t], c[t], inv_a, us);
        me.gg[t] = g, me.wl[t] = e.w, me.qn[t] = e.q, me.cn[t] = e.c;
    }
}

// The list of S + new member (l + 1 members) from the last projection of P's
// entries [t0, P.size): those within the |r| limit of the new member.
inline void build_child(Worker& me, const Problem& pb, const Level& P, std::size_t l, std::size_t t0, Level& C) {
    const std::size_t n = P.size - t0;
    std::size_t s = 0;
    for (std::size_t t = 0; t < n; ++t) {
        if (!(me.gg[t] * me.gg[t] < pb.lim2)) continue;
        C.idx[s] = P.idx[t0 + t];
        C.q[s] = me.qn[t];
        C.c[s] = me.cn[t];
        for (std::size_t j = 0; j < l; ++j) C.w(j)[s] = P.w(j)[t0 + t];
        C.w(l)[s] = me.wl[t];
        ++s;
    }
    C.size = s;
    C.contiguous = P.contiguous && s == n;
}

// The leaves S + k for the entries k of P after position p (node: S, which
// is P's prefix plus P.idx[p]; L = P's members): each scored from its
// projection, in one pass without storing it. A vector-friendly pass marks
// the valid leaves that may enter the top-k (a loose test without division);
// only those are scored exactly, by the same operations.
template <int L, bool Contiguous>
void score_leaves(Worker& me, const Problem& pb, const Level& P, std::size_t p, const Node& node, double inv_a,
                  double us) {
    const std::size_t t0 = p + 1;
    if (t0 >= P.size) return;
    const std::size_t n = P.size - t0;
    const double* grow = pb.G + static_cast<std::size_t>(P.idx[p]) * pb.ld;
    const double* __restrict wj[L > 0 ? L : 1];
    double wp[L > 0 ? L : 1];
    for (int j = 0; j < L; ++j) wj[j] = P.w(static_cast<std::size_t>(j)) + t0, wp[j] = P.w(static_cast<std::size_t>(j))[p];
    const std::uint32_t* __restrict idx = P.idx.data() + t0;
    const double* __restrict gcont = grow + idx[0];
    const double* __restrict q = P.q.data() + t0;
    const double* __restrict c = P.c.data() + t0;
    unsigned char* __restrict hit = me.ok.data();
    const double lim2 = pb.lim2, tol = pb.tol, det = node.det, base = node.r2;
    // r2 = base + c^2 / q >= thr needs c^2 >= (thr - base) q up to rounding;
    // 1e-14 (r2 <= 1) covers it.
    const double delta = me.threshold() - base - 1e-14;
    auto entry = [&](std::size_t t, double& g) {
        g = Contiguous ? gcont[t] : grow[idx[t]];
        double dot = 0.0;
        for (int j = 0; j < L; ++j) dot = std::fma(wj[j][t], wp[j], dot);
        return project_one(g, dot, q[t], c[t], inv_a, us);
    };
    std::uint64_t valid = 0, hits = 0;
    for (std::size_t t = 0; t < n; ++t) {
        double g;
        const Projected e = entry(t, g);
        const bool v = (g * g < lim2) & (det * e.q > tol) & (e.q > 0);
        const bool h = v & (e.c * e.c >= delta * e.q);
        valid += v;
        hits += h;
        hit[t] = h;
    }
    me.scored += valid;
    if (!hits) return;
    for (std::size_t t = 0; t < n; ++t) {
        if (!hit[t]) continue;
        double g;
        const Projected e = entry(t, g);
        const double r2 = base + e.c * e.c / e.q;
        if (!(r2 >= me.threshold())) continue;
        Subset s;
        s.r2 = r2;
        s.dim = pb.d;
        s.members = node.members;
        s.members[static_cast<std::size_t>(pb.d - 1)] = idx[t];
        me.top.push(s);
    }
}

template <int L>
void score_leaves_of(Worker& me, const Problem& pb, const Level& P, std::size_t l, std::size_t p, const Node& node,
                     double inv_a, double us) {
    if constexpr (L + 2 < kMaxSubsetDim) {
        if (static_cast<int>(l) != L) return score_leaves_of<L + 1>(me, pb, P, l, p, node, inv_a, us);
    }
    if (P.contiguous)
        score_leaves<L, true>(me, pb, P, p, node, inv_a, us);
    else
        score_leaves<L, false>(me, pb, P, p, node, inv_a, us);
}

// Every combination that extends S (l members, list P) by P.idx[p] and then by
// later entries.
void descend(Worker& me, const Problem& pb, const Level& P, std::size_t l, std::size_t p, const Node& s) {
    Node node;
    double inv_a, us;
    if (!extend(P, l, p, s, pb.tol, node, inv_a, us)) return;
    if (static_cast<int>(l) + 2 == pb.d) {
        score_leaves_of<0>(me, pb, P, l, p, node, inv_a, us);
        return;
    }
    const double* grow = pb.G + static_cast<std::size_t>(P.idx[p]) * pb.ld;
    project(me, P, l, p, p + 1, grow, inv_a, us);
    Level& C = me.levels[l + 1];
    build_child(me, pb, P, l, p + 1, C);
    const std::size_t more = static_cast<std::size_t>(pb.d) - l - 2;  // members still to add after the next
    for (std::size_t q = 0; q + more < C.size; ++q) descend(me, pb, C, l + 1, q, node);
}

// One task: every combination whose first two members are i and j (j = kNone:
// whose first member is i, for d = 2).
void run_task(Worker& me, const Problem& pb, const Level& root, std::size_t i, std::size_t j) {
    const Node empty;
    if (j == kNone) {
        descend(me, pb, root, 0, i, empty);
        return;
    }
    const double gij = pb.G[i * pb.ld + j];
    if (!(gij * gij < pb.lim2)) return;
    Node first;
    double inv_a, us;
    if (!extend(root, 0, i, empty, pb.tol, first, inv_a, us)) return;
    // The list of {i} from j on (each entry is what the full list holds).
    project(me, root, 0, i, j, pb.G + i * pb.ld, inv_a, us);
    Level& L1 = me.levels[1];
    build_child(me, pb, root, 0, j, L1);
    descend(me, pb, L1, 1, 0, first);
}

void check_dim(int d) {
    if (d < 1 || d > kMaxSubsetDim)
        throw std::invalid_argument("a combination has 1 to " + std::to_string(kMaxSubsetDim) + " members, not " +
                                    std::to_string(d));
}

}  // namespace

namespace detail {

// Every combination of d members of m candidates from G (row-major, leading
// dimension ld, entries G[i][k], i < k) and b; fills best, the counters and
// cancelled.
SubsetSearchResult score_subsets(const double* G, std::size_t ld, const double* b, std::size_t m, int d,
                                 const SearchOptions& opt, Progress* progress) {
    check_search_options(opt);
    check_dim(d);
    const double lim = pair_limit(opt);
    const Problem pb{G, ld, m, d, lim * lim, opt.singular_tol};
    const std::size_t i_first = std::min(m, opt.first), i_last = std::min(m, opt.last);
    SubsetSearchResult res;
    res.dim = d;
    res.n_planned = count_combinations(m, d, i_first, i_last);

    std::vector<Worker> workers;
    workers.reserve(static_cast<std::size_t>(omp_get_max_threads()));
    for (int t = 0; t < omp_get_max_threads(); ++t) workers.emplace_back(opt.keep, m, d);

    if (d == 1) {
        Worker& me = workers[0];
        for (std::size_t i = i_first; i < i_last; ++i) {
            const double r2 = b[i] * b[i];
            if (!(1.0 > opt.singular_tol)) continue;
            ++me.scored;
            Subset s;
            s.r2 = r2, s.dim = 1, s.members[0] = static_cast<std::uint32_t>(i);
            me.top.push(s);
        }
        res.n_combinations = res.n_planned;
    } else {
        Level root;
        root.allocate(0, m);
        root.size = m;
        root.contiguous = true;
        for (std::size_t k = 0; k < m; ++k) root.idx[k] = static_cast<std::uint32_t>(k), root.q[k] = 1.0, root.c[k] = b[k];
        // (a combination costs about d^2 flops: a chunk of a few thousand is not worth a team)
        const bool cancelled = detail::run_prefix_tasks(
            m, d, i_first, i_last, 20'000'000, static_cast<long long>(d) * d, res.n_combinations, res.n_planned,
            progress, [&](int thread, std::size_t i, std::size_t j) {
                run_task(workers[static_cast<std::size_t>(thread)], pb, root, i, j);
            });
        res.cancelled = cancelled && res.n_combinations < res.n_planned;
    }
    TopK<Subset> all(opt.keep);
    for (const Worker& w : workers) {
        all.merge(w.top);
        res.n_scored += w.scored;
    }
    res.best = all.sorted();
    return res;
}

}  // namespace detail

SubsetSearchResult search_combinations(const StandardizedSet& set, int d, const SearchOptions& opt, Progress* progress) {
    check_dim(d);
    detail::check_search_options(opt);
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t ld = set.padded_size(), T = opt.tile;
    SubsetSearchResult res;
    std::uint64_t flops = 0;
    if (d == 1) {
        res = detail::score_subsets(nullptr, 0, set.target_correlations().data(), set.size(), d, opt, progress);
    } else {
        // Only the tiles on and above the diagonal: the walk reads G[i][k], i < k.
        std::vector<double> G(ld * ld);
        flops = detail::fill_gram(set, set, true, T, detail::sample_block(opt, T), G.data(), ld);
        res = detail::score_subsets(G.data(), ld, set.target_correlations().data(), set.size(), d, opt, progress);
        res.peak_bytes = G.size() * sizeof(double);
    }
    res.gram_flops = flops;
    res.peak_bytes += set.memory_bytes();
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

SubsetSearchResult search_combinations_streamed(const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                                const double* target, int d, const SearchOptions& opt,
                                                std::size_t memory_budget_bytes, Progress* progress) {
    check_dim(d);
    const auto t0 = std::chrono::steady_clock::now();
    const std::size_t K = indices.size();
    detail::StreamedCorrelations corr =
        detail::streamed_correlations(source, indices, target, opt, memory_budget_bytes, std::max(d, 3), progress);
    SubsetSearchResult res;
    if (!corr.cancelled) {
        res = detail::score_subsets(corr.G.data(), corr.ld, corr.b.data(), K, d, opt, progress);
    } else {
        res.dim = d;
        res.n_planned = count_combinations(K, d, opt.first, opt.last);
        res.cancelled = true;
    }
    res.block_size = corr.block;
    res.gram_flops = corr.flops;
    res.peak_bytes = corr.peak_bytes;
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

}  // namespace formulasearch
