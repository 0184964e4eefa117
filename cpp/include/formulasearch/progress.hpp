// The one callback interface between long-running kernels and their caller:
// progress reports and cooperative cancellation.
#pragma once

#include <cstdint>
#include <stdexcept>

namespace formulasearch {

class Progress {
public:
    virtual ~Progress() = default;
    // Called on the calling thread only, between chunks of its work (other
    // threads may be busy meanwhile). Return false to stop early; the kernel
    // then returns what it has, marked as cancelled.
    virtual bool update(const char* stage, std::uint64_t done, std::uint64_t total) = 0;
};

// Thrown by work that cannot return a partial result when asked to stop.
struct Cancelled : std::runtime_error {
    Cancelled() : std::runtime_error("cancelled") {}
};

inline bool keep_going(Progress* p, const char* stage, std::uint64_t done, std::uint64_t total) {
    return p == nullptr || p->update(stage, done, total);
}

}  // namespace formulasearch
