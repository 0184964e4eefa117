#include "formulasearch/linear_fit.hpp"

#include <Eigen/Dense>

#include "design_qr.hpp"
#include <cmath>
#include <stdexcept>

namespace formulasearch {

LinearFit fit_linear(const double* features, std::size_t d, std::size_t n, const double* y) {
    if (n < d + 1) throw std::invalid_argument("fewer samples than parameters");
    const auto rows = static_cast<Eigen::Index>(n), cols = static_cast<Eigen::Index>(d + 1);
    const detail::DesignQR dq = detail::design_qr(features, d, n, y);
    const Eigen::MatrixXd& X = dq.X;
    const auto& qr = dq.qr;
    const Eigen::Map<const Eigen::VectorXd> Y(y, rows);
    const Eigen::VectorXd beta = qr.solve(Y);
    const Eigen::VectorXd resid = Y - X * beta;

    LinearFit fit;
    fit.intercept = beta(0);
    fit.coefficients.assign(beta.data() + 1, beta.data() + cols);
    const double sse = resid.squaredNorm();
    const double sst = (Y.array() - Y.mean()).matrix().squaredNorm();
    fit.rmse = std::sqrt(sse / static_cast<double>(n));
    fit.mae = resid.cwiseAbs().mean();
    fit.maxae = resid.cwiseAbs().maxCoeff();
    fit.r2 = sst > 0 ? 1.0 - sse / sst : 0.0;
    return fit;
}

}  // namespace formulasearch
