// A minimal check macro for the core's unit tests: prints each failure and
// makes main() return non-zero.
#pragma once

#include <cmath>
#include <iostream>

namespace fs_test {
inline int failures = 0;
inline bool close(double a, double b, double rel) { return std::fabs(a - b) <= rel * std::max(1.0, std::max(std::fabs(a), std::fabs(b))); }
inline int report(const char* name) {
    std::cout << name << ": " << (failures ? "FAILED" : "ok") << " (" << failures << " failures)\n";
    return failures ? 1 : 0;
}
}  // namespace fs_test

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            ++fs_test::failures;                                                        \
            std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK failed: " #cond "\n"; \
        }                                                                               \
    } while (0)

#define CHECK_THROWS(expr)                    \
    do {                                      \
        bool thrown = false;                  \
        try {                                 \
            (void)(expr);                     \
        } catch (const std::exception&) {     \
            thrown = true;                    \
        }                                     \
        CHECK(thrown && "expected a throw"); \
    } while (0)
