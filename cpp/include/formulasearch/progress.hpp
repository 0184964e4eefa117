// The one callback interface between long-running kernels and their caller:
// progress reports and cooperative cancellation.
#pragma once

#include <cstdint>

namespace formulasearch {

class Progress {
public:
    virtual ~Progress() = default;
    // Called on the calling thread between chunks of work, never inside a
    // parallel region. Return false to stop early; the kernel then returns what
    // it has, marked as cancelled.
    virtual bool update(const char* stage, std::uint64_t done, std::uint64_t total) = 0;
};

inline bool keep_going(Progress* p, const char* stage, std::uint64_t done, std::uint64_t total) {
    return p == nullptr || p->update(stage, done, total);
}

}  // namespace formulasearch
