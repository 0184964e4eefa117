// Internal: the least-squares design [1, x_1, ..., x_d] and its pivoted QR,
// shared by the model refit and leave-one-out validation.
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <stdexcept>

namespace formulasearch::detail {

struct DesignQR {
    Eigen::MatrixXd X;  // n x (d + 1), intercept column first
    Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr;
};

// `features`: d x n row-major. Throws on non-finite values or a rank-deficient design.
inline DesignQR design_qr(const double* features, std::size_t d, std::size_t n, const double* y) {
    const auto rows = static_cast<Eigen::Index>(n), cols = static_cast<Eigen::Index>(d + 1);
    DesignQR out;
    out.X.resize(rows, cols);
    out.X.col(0).setOnes();
    for (std::size_t f = 0; f < d; ++f)
        out.X.col(static_cast<Eigen::Index>(f + 1)) = Eigen::Map<const Eigen::VectorXd>(features + f * n, rows);
    if (!out.X.allFinite() || !Eigen::Map<const Eigen::VectorXd>(y, rows).allFinite())
        throw std::invalid_argument("singular fit: non-finite feature or target values");
    out.qr.compute(out.X);
    if (out.qr.rank() < cols) throw std::invalid_argument("singular fit: the features (with an intercept) are linearly dependent");
    return out;
}

}  // namespace formulasearch::detail
