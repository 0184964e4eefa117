// Cancelling through the progress callback: every search and screening reports
// the combinations (or candidates) it evaluated, which is what its last
// progress report said, and all of the planned ones when it runs to the end.
#include <omp.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "matrix_source.hpp"
#include "formulasearch/classification.hpp"
#include "formulasearch/combination_search.hpp"
#include "formulasearch/screening.hpp"
#include "formulasearch/streamed_search.hpp"

using namespace formulasearch;
using fs_test::MatrixSource;

namespace {

// Says stop at the `stop_at`-th report of stage `stage` (any stage if empty).
class StopAt final : public Progress {
public:
    explicit StopAt(std::uint64_t stop_at, std::string stage = "") : stop_at_(stop_at), stage_(std::move(stage)) {}
    bool update(const char* stage, std::uint64_t done, std::uint64_t total) override {
        last_stage = stage, last_done = done, last_total = total;
        if (!stage_.empty() && stage_ != stage) return true;
        return ++calls < stop_at_;
    }
    std::string last_stage;
    std::uint64_t last_done = 0, last_total = 0, calls = 0;

private:
    std::uint64_t stop_at_;
    std::string stage_;
};

constexpr std::uint64_t kNever = ~std::uint64_t{0};

std::vector<double> random_values(std::size_t m, std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> g;
    std::vector<double> v(m * n);
    for (auto& x : v) x = g(rng);
    return v;
}

// Some i with count_combinations(m, 3, 0, i) == done: the triples of whole rows.
bool whole_rows_of_triples(std::size_t m, std::uint64_t done) {
    for (std::size_t i = 0; i <= m; ++i)
        if (count_combinations(m, 3, 0, i) == done) return true;
    return false;
}

}  // namespace

int main() {
    const std::size_t n = 40;
    const std::vector<double> y = random_values(1, n, 1);

    // In-memory pairs, no |r| limit (every pair evaluated is scored) and a
    // top list that keeps them all: the result is exactly the pairs of the
    // tile pairs completed, counted independently here from their members.
    {
        const std::size_t m = 300, T = 16;
        const std::vector<double> v = random_values(m, n, 2);
        const StandardizedSet set(v.data(), m, n, y.data());
        SearchOptions opt;
        opt.max_pair_corr = 1.0;
        opt.tile = T;
        opt.keep = m * m;
        const std::uint64_t planned = count_combinations(m, 2, 0, m);
        StopAt never(kNever);
        const SearchResult whole = search_pairs(set, opt, &never);
        CHECK(!whole.cancelled && whole.n_combinations == planned && never.last_done == planned);
        const std::size_t n_tiles = (m + T - 1) / T;
        // Position of tile pair (I, J >= I) in the kernel's row-major order.
        auto rank = [&](std::size_t I, std::size_t J) { return I * n_tiles - I * (I - 1) / 2 + (J - I); };
        for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            StopAt stop(2);  // two batches of 32 tile pairs per thread
            const SearchResult r = search_pairs(set, opt, &stop);
            const std::size_t done_tiles = 2 * 32 * static_cast<std::size_t>(threads);
            std::uint64_t expected = 0;
            for (std::size_t i = 0; i < m; ++i)
                for (std::size_t j = i + 1; j < m; ++j) expected += rank(i / T, j / T) < done_tiles;
            CHECK(r.cancelled);
            CHECK(r.n_combinations > 0 && r.n_combinations < planned);
            CHECK(r.n_combinations == expected && r.n_combinations == stop.last_done && stop.last_total == planned);
            CHECK(r.n_scored == r.n_combinations && r.best.size() == r.n_combinations);
            for (const Combination& c : r.best) CHECK(rank(c.members[0] / T, c.members[1] / T) < done_tiles);
        }
        // Asked to stop at the last report, when nothing is left: all were evaluated.
        omp_set_num_threads(3);
        StopAt last(2);  // 2 x 96 tile pairs >= the 190 there are
        const SearchResult r = search_pairs(set, opt, &last);
        CHECK(last.calls == 2 && r.n_combinations == planned);
        omp_set_num_threads(2);
    }

    // In-memory triples: rows of the first member in chunks (a few rows each
    // for m = 2000), the count is the triples of the rows completed.
    {
        const std::size_t m = 2000, small = 60;
        const std::vector<double> v = random_values(m, n, 3);
        const StandardizedSet set(v.data(), m, n, y.data());
        SearchOptions opt;
        opt.max_pair_corr = 1.0;
        StopAt stop(1);
        const SearchResult r = search_triples(set, opt, &stop);
        const std::uint64_t planned = count_combinations(m, 3, 0, m);
        CHECK(r.cancelled && r.n_combinations > 0 && r.n_combinations < planned);
        CHECK(r.n_combinations == stop.last_done && stop.last_total == planned);
        CHECK(whole_rows_of_triples(m, r.n_combinations));
        CHECK(r.n_scored == r.n_combinations);
        const StandardizedSet few(v.data(), small, n, y.data());
        StopAt never(kNever);
        const SearchResult all = search_triples(few, opt, &never);
        CHECK(!all.cancelled && all.n_combinations == count_combinations(small, 3, 0, small));
        CHECK(never.last_done == all.n_combinations);
    }

    // Streamed pairs: counted per block pair visited (row block 0 with the
    // column blocks from the last one down).
    {
        const std::size_t m = 300;
        const MatrixSource source(random_values(m, n, 4), m, n);
        std::vector<std::uint64_t> indices(m);
        for (std::size_t i = 0; i < m; ++i) indices[i] = i;
        SearchOptions opt;
        opt.max_pair_corr = 1.0;
        opt.tile = 16;
        const std::size_t budget = 64 << 10;
        const std::size_t block = streamed_block_size(2, m, n, budget, opt);
        const std::size_t n_blocks = (m + block - 1) / block;
        CHECK(n_blocks >= 4);
        StopAt stop(3);
        const SearchResult r = search_pairs_streamed(source, indices, y.data(), opt, budget, &stop);
        const std::size_t last_size = m - (n_blocks - 1) * block;
        CHECK(r.cancelled && r.block_size == block && r.dim == 2);
        CHECK(r.n_combinations == block * last_size + 2 * block * block);
        CHECK(r.n_combinations == stop.last_done && r.n_scored == r.n_combinations);
        StopAt never(kNever);
        const SearchResult all = search_pairs_streamed(source, indices, y.data(), opt, budget, &never);
        CHECK(!all.cancelled && all.n_combinations == count_combinations(m, 2, 0, m) && never.last_done == all.n_combinations);
    }

    // Streamed triples: stopped while computing the correlations, no triple
    // was scored; stopped while scoring, the triples of the rows completed.
    {
        const std::size_t m = 2000;
        const MatrixSource source(random_values(m, n, 5), m, n);
        std::vector<std::uint64_t> indices(m);
        for (std::size_t i = 0; i < m; ++i) indices[i] = i;
        SearchOptions opt;
        opt.max_pair_corr = 1.0;
        const std::size_t budget = m * m * sizeof(double) + (1u << 20);  // the correlations and two blocks < m
        CHECK(streamed_block_size(3, m, n, budget, opt) < m);  // so stopping at the first block pair leaves work
        StopAt early(1, "correlations");
        const SearchResult none = search_triples_streamed(source, indices, y.data(), opt, budget, &early);
        CHECK(none.cancelled && none.n_combinations == 0 && none.n_scored == 0 && none.best.empty() && none.dim == 3);
        StopAt late(1, "triples");
        const SearchResult r = search_triples_streamed(source, indices, y.data(), opt, budget, &late);
        CHECK(r.cancelled && r.n_combinations > 0 && r.n_combinations < count_combinations(m, 3, 0, m));
        CHECK(r.n_combinations == late.last_done && whole_rows_of_triples(m, r.n_combinations));
    }

    // Class pairs: rows of the first member in chunks of 32.
    {
        const std::size_t m = 100, ns = 30;
        std::vector<int> lab(ns);
        for (std::size_t s = 0; s < ns; ++s) lab[s] = static_cast<int>(s % 2);
        const ClassLabels labels(lab, 2);
        const std::vector<double> v = random_values(m, ns, 6);
        ClassifyOptions opt;
        opt.keep = 5;
        for (SeparationScore score : {SeparationScore::Overlap, SeparationScore::Logistic, SeparationScore::Accuracy}) {
            opt.score = score;
            StopAt stop(1);
            const ClassSearchResult r = search_class_pairs(v.data(), m, labels, opt, &stop);
            std::uint64_t first_rows = 0;
            for (std::size_t i = 0; i < 32; ++i) first_rows += m - 1 - i;
            CHECK(r.cancelled && r.n_combinations == first_rows && r.n_combinations == stop.last_done);
            CHECK(r.n_scored == r.n_combinations);
            StopAt never(kNever);
            const ClassSearchResult all = search_class_pairs(v.data(), m, labels, opt, &never);
            CHECK(!all.cancelled && all.n_combinations == m * (m - 1) / 2 && never.last_done == all.n_combinations);
        }
    }

    // Screenings: the candidates of the blocks examined.
    {
        const std::size_t m = 1000, ns = 30;
        const MatrixSource source(random_values(m, ns, 7), m, ns);
        const std::vector<double> target = random_values(1, ns, 8);
        std::vector<int> lab(ns);
        for (std::size_t s = 0; s < ns; ++s) lab[s] = static_cast<int>(s % 2);
        const ClassLabels labels(lab, 2);
        ScreenOptions opt;
        opt.block = 100;
        opt.variance_filter = 0;
        ClassifyOptions copt;
        copt.screen = opt;
        StopAt stop(3), cstop(3);
        const ScreenResult r = screen(source, target, opt, &stop);
        const ClassScreenResult c = screen_classes(source, labels, copt, &cstop);
        for (const ScreenCounts* counts : {static_cast<const ScreenCounts*>(&r), static_cast<const ScreenCounts*>(&c)}) {
            CHECK(counts->cancelled && counts->n_screened == 300 && counts->n_candidates == 300);
            CHECK(counts->n_kept == 300);
        }
        CHECK(stop.last_done == 300 && cstop.last_done == 300);
        StopAt never(kNever);
        const ScreenResult all = screen(source, target, opt, &never);
        CHECK(!all.cancelled && all.n_screened == m && all.n_candidates == m && never.last_done == m);
    }
    return fs_test::report("test_cancellation");
}
