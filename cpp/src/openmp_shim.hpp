// OpenMP's thread queries, or single-thread stand-ins when the core is built
// without OpenMP (the kernels then run serially and give the same results).
#pragma once

#ifdef _OPENMP
#include <omp.h>
#else
inline int omp_get_max_threads() { return 1; }
inline int omp_get_thread_num() { return 0; }
#endif
