#include <omp.h>

#include <algorithm>
#include <random>
#include <vector>

#include "check.hpp"
#include "formulasearch/combination_search.hpp"
#include "formulasearch/linear_fit.hpp"
#include "formulasearch/screening.hpp"
#include "formulasearch/top_k.hpp"

using namespace formulasearch;

namespace {

double pearson(const double* a, const double* b, std::size_t n) {
    double ma = 0, mb = 0;
    for (std::size_t s = 0; s < n; ++s) ma += a[s], mb += b[s];
    ma /= n, mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t s = 0; s < n; ++s) sab += (a[s] - ma) * (b[s] - mb), saa += (a[s] - ma) * (a[s] - ma), sbb += (b[s] - mb) * (b[s] - mb);
    return sab / std::sqrt(saa * sbb);
}

}  // namespace

int main() {
    // Random candidates, some correlated, and a target planted on two of them.
    const std::size_t m = 70, n = 25;
    std::mt19937 rng(11);
    std::normal_distribution<double> g;
    std::vector<double> v(m * n), y(n);
    for (auto& x : v) x = g(rng);
    for (std::size_t i = 1; i < m; i += 7)
        for (std::size_t s = 0; s < n; ++s) v[i * n + s] = v[(i - 1) * n + s] + 0.2 * g(rng);
    for (std::size_t s = 0; s < n; ++s) y[s] = 1.0 + 2.0 * v[5 * n + s] - 1.5 * v[40 * n + s] + 0.3 * g(rng);
    StandardizedSet set(v.data(), m, n, y.data());
    SearchOptions opt;
    opt.keep = 15;
    opt.tile = 16;

    // Brute force: QR fit of every valid pair / triple.
    auto valid = [&](std::vector<std::size_t> idx) {
        for (std::size_t a = 0; a < idx.size(); ++a)
            for (std::size_t b = a + 1; b < idx.size(); ++b)
                if (std::fabs(pearson(&v[idx[a] * n], &v[idx[b] * n], n)) >= opt.max_pair_corr) return false;
        return true;
    };
    std::vector<std::pair<double, std::vector<std::size_t>>> pairs, triples;
    std::vector<double> feat(3 * n);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = i + 1; j < m; ++j) {
            if (!valid({i, j})) continue;
            std::copy_n(&v[i * n], n, feat.begin());
            std::copy_n(&v[j * n], n, feat.begin() + n);
            pairs.push_back({fit_linear(feat.data(), 2, n, y.data()).rmse, {i, j}});
            for (std::size_t k = j + 1; k < m; ++k) {
                if (!valid({i, j, k})) continue;
                std::copy_n(&v[k * n], n, feat.begin() + 2 * n);
                triples.push_back({fit_linear(feat.data(), 3, n, y.data()).rmse, {i, j, k}});
            }
        }
    std::sort(pairs.begin(), pairs.end());
    std::sort(triples.begin(), triples.end());

    SearchResult p2 = search_pairs(set, opt), p3 = search_triples(set, opt);
    CHECK(p2.best.size() == opt.keep && p3.best.size() == opt.keep);
    CHECK(p2.best[0].members[0] == 5 && p2.best[0].members[1] == 40);  // the planted pair
    double sst = 0, ym = 0;
    for (double t : y) ym += t / n;
    for (double t : y) sst += (t - ym) * (t - ym);
    for (std::size_t k = 0; k < opt.keep; ++k) {
        CHECK(p2.best[k].members[0] == pairs[k].second[0] && p2.best[k].members[1] == pairs[k].second[1]);
        CHECK(fs_test::close(std::sqrt(sst * (1 - p2.best[k].r2) / n), pairs[k].first, 1e-9));
        for (int d = 0; d < 3; ++d) CHECK(p3.best[k].members[d] == triples[k].second[d]);
        CHECK(fs_test::close(std::sqrt(sst * (1 - p3.best[k].r2) / n), triples[k].first, 1e-9));
    }

    // The same models, bit for bit, for any thread count and tile size.
    for (int threads : {1, 2, 3}) {
        for (std::size_t tile : {std::size_t(16), std::size_t(32), std::size_t(256)}) {
            omp_set_num_threads(threads);
            SearchOptions o = opt;
            o.tile = tile;
            SearchResult q2 = search_pairs(set, o), q3 = search_triples(set, o);
            for (std::size_t k = 0; k < opt.keep; ++k) {
                CHECK(q2.best[k].members == p2.best[k].members && q2.best[k].r2 == p2.best[k].r2);
                CHECK(q3.best[k].members == p3.best[k].members && q3.best[k].r2 == p3.best[k].r2);
            }
        }
    }

    // Slices of the work (as for distributed tasks) merge to the whole search.
    for (int dim : {2, 3}) {
        TopK<Combination> merged(opt.keep);
        std::uint64_t combos = 0;
        for (std::size_t first = 0; first < m; first += 32) {
            SearchOptions o = opt;
            o.first = first;
            o.last = first + 32;
            SearchResult part = dim == 2 ? search_pairs(set, o) : search_triples(set, o);
            combos += part.n_combinations;
            for (const auto& c : part.best) merged.push(c);
        }
        const SearchResult& whole = dim == 2 ? p2 : p3;
        CHECK(combos == whole.n_combinations);
        auto mb = merged.sorted();
        for (std::size_t k = 0; k < opt.keep; ++k) CHECK(mb[k].members == whole.best[k].members && mb[k].r2 == whole.best[k].r2);
    }
    SearchOptions misaligned = opt;
    misaligned.first = 8;
    CHECK_THROWS(search_pairs(set, misaligned));

    // No valid combination: an empty result, not an error.
    SearchOptions strict = opt;
    strict.max_pair_corr = 1e-6;
    CHECK(search_pairs(set, strict).best.empty());
    CHECK(search_triples(set, strict).best.empty());
    // A top-k fed in batches (push_all) holds what pushing one by one holds, ties included:
    // batches that rebuild the list while it fills, and later ones where few enter.
    {
        std::mt19937 r2(5);
        for (std::size_t k : {1u, 7u, 300u}) {
            TopK<ScoredCandidate> one(k), batched(k);
            std::uint64_t index = 0;
            for (std::size_t batch : {5u, 900u, 40u, 2000u, 1u, 3u, 700u}) {
                std::vector<ScoredCandidate> entries;
                for (std::size_t e = 0; e < batch; ++e, ++index) {
                    const ScoredCandidate c{static_cast<double>(r2() % 500) / 500.0, index};
                    entries.push_back(c);
                    one.push(c);
                }
                std::shuffle(entries.begin(), entries.end(), r2);
                batched.push_all(entries);
                const auto a = one.sorted(), b = batched.sorted();
                CHECK(a.size() == b.size());
                for (std::size_t q = 0; q < a.size() && q < b.size(); ++q) CHECK(a[q].index == b[q].index && a[q].score == b[q].score);
            }
        }
    }
    return fs_test::report("test_search");
}
