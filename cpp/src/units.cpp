#include "formulasearch/units.hpp"

#include <cstdlib>
#include <numeric>
#include <stdexcept>

namespace formulasearch {

namespace {
constexpr int kLimit = 6 * 24;  // |exponent| <= 24: beyond that a feature is nonsense
}

Unit Unit::from_sixths(const std::array<int, kDims>& sixths) {
    Unit u;
    for (int d = 0; d < kDims; ++d) {
        if (std::abs(sixths[d]) > kLimit) throw std::invalid_argument("unit exponent out of range");
        u.e_[d] = static_cast<std::int16_t>(sixths[d]);
    }
    return u;
}

bool Unit::dimensionless() const {
    for (auto x : e_)
        if (x != 0) return false;
    return true;
}

bool Unit::multiply(const Unit& other, int sign, Unit& out) const {
    for (int d = 0; d < kDims; ++d) {
        const int v = e_[d] + sign * other.e_[d];
        if (std::abs(v) > kLimit) return false;
        out.e_[d] = static_cast<std::int16_t>(v);
    }
    return true;
}

bool Unit::power(int num, int den, Unit& out) const {
    for (int d = 0; d < kDims; ++d) {
        const int scaled = e_[d] * num;
        if (scaled % den != 0 || std::abs(scaled / den) > kLimit) return false;  // not a whole sixth
        out.e_[d] = static_cast<std::int16_t>(scaled / den);
    }
    return true;
}

std::string Unit::to_string(const std::vector<std::string>& base) const {
    std::string s;
    for (int d = 0; d < kDims; ++d) {
        if (e_[d] == 0) continue;
        if (static_cast<std::size_t>(d) >= base.size()) throw std::invalid_argument("unit has no name for a base dimension");
        if (!s.empty()) s += ' ';
        s += base[static_cast<std::size_t>(d)];
        const int g = std::gcd(std::abs(static_cast<int>(e_[d])), kScale);
        const int num = e_[d] / g, den = kScale / g;
        if (num == 1 && den == 1) continue;
        s += "^" + std::to_string(num) + (den == 1 ? "" : "/" + std::to_string(den));
    }
    return s;
}

}  // namespace formulasearch
