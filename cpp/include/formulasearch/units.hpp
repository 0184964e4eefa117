// Physical units (or class labels) of features, as exponents over named base
// dimensions. Exponents are kept in sixths so that sqrt and cbrt stay exact.
// A class label is just one more base dimension: features of different
// classes then cannot be added, as in the paper's rule.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace formulasearch {

class Unit {
public:
    static constexpr int kDims = 8;      // base dimensions at most
    static constexpr int kScale = 6;     // exponents stored times 6

    Unit() = default;
    // Exponent of base dimension d, in sixths (e.g. 6 = power 1, 3 = power 1/2).
    static Unit from_sixths(const std::array<int, kDims>& sixths);

    bool dimensionless() const;
    int sixths(int d) const { return e_[static_cast<std::size_t>(d)]; }
    // false when an exponent would leave the representable range.
    bool multiply(const Unit& other, int sign, Unit& out) const;  // this * other^sign
    bool power(int num, int den, Unit& out) const;                // this^(num/den), den in {1, 2, 3}

    // "eV^2 angstrom^-1/2" over the given base names; "" when dimensionless.
    std::string to_string(const std::vector<std::string>& base) const;

    friend bool operator==(const Unit& a, const Unit& b) { return a.e_ == b.e_; }
    friend bool operator!=(const Unit& a, const Unit& b) { return !(a == b); }

private:
    std::array<std::int16_t, kDims> e_{};
};

}  // namespace formulasearch
