// Internal: the schedule of the exact d-combination walks (subset_search.cpp,
// multitask.cpp): which prefixes each task walks, in what chunks, on which thread.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "formulasearch/progress.hpp"
#include "formulasearch/subset_search.hpp"  // binomial
#include "openmp_shim.hpp"

namespace formulasearch::detail {

// A task of d = 2 has no second member.
constexpr std::size_t kNoSecond = static_cast<std::size_t>(-1);

// Every d-combination (d >= 2) of m members whose first member lies in
// [i_first, i_last), as tasks: the first member i (d = 2, j = kNoSecond) or
// the first two (i, j), in lexicographic order, in chunks of about `chunk`
// combinations between progress reports ("combinations": n_combinations of
// n_planned); inside a chunk, dynamically over the threads: run(thread, i, j).
// Neither the tasks nor what they find depend on the thread count; a chunk
// worth less than kParallelMinWork (at `cost` per combination) runs on the
// calling thread. Returns true when the progress callback stopped the walk.
template <class Run>
bool run_prefix_tasks(std::size_t m, int d, std::size_t i_first, std::size_t i_last, std::uint64_t chunk,
                      long long cost, std::uint64_t& n_combinations, std::uint64_t n_planned, Progress* progress,
                      Run run) {
    constexpr std::size_t kMaxTasks = 1 << 16;
    std::vector<std::pair<std::size_t, std::size_t>> tasks;
    std::size_t ci = i_first, cj = d == 2 ? kNoSecond : i_first + 1;
    bool cancelled = false;
    while (ci < i_last && !cancelled) {
        tasks.clear();
        std::uint64_t work = 0;
        while (ci < i_last && work < chunk && tasks.size() < kMaxTasks) {
            if (d == 2) {
                tasks.emplace_back(ci, kNoSecond);
                work += m - 1 - ci;
                ++ci;
                continue;
            }
            if (cj >= m) {  // row i has no second member left
                cj = ++ci + 1;
                continue;
            }
            tasks.emplace_back(ci, cj);
            work += binomial(m - 1 - cj, d - 2);
            if (++cj >= m) cj = ++ci + 1;
        }
        const auto n_tasks = static_cast<long long>(tasks.size());
#pragma omp parallel if (static_cast<long long>(work) * cost > kParallelMinWork)
        {
            const int thread = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
            for (long long q = 0; q < n_tasks; ++q)
                run(thread, tasks[static_cast<std::size_t>(q)].first, tasks[static_cast<std::size_t>(q)].second);
        }
        n_combinations += work;
        cancelled = !keep_going(progress, "combinations", n_combinations, n_planned);
    }
    return cancelled;
}

}  // namespace formulasearch::detail
