// OpenMP's thread queries, or single-thread stand-ins when the core is built
// without OpenMP (the kernels then run serially and give the same results).
#pragma once

#ifdef _OPENMP
#include <omp.h>
#else
inline int omp_get_max_threads() { return 1; }
inline int omp_get_thread_num() { return 0; }
#endif

namespace formulasearch::detail {
// Below this many values of work a loop runs on the calling thread alone: a
// parallel region waits at its barrier for every thread, and on a busy machine
// a thread that is not scheduled costs a time slice (milliseconds) for
// microseconds of work. The results do not depend on the thread count.
constexpr long long kParallelMinWork = 1 << 16;
}  // namespace formulasearch::detail
