// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>

#include "stochinfer/config.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {

/// Brownian Carnot cycle protocol (methods.md §5.8), period tau, time t in any
/// cycle (reduced modulo tau). Shared by the simulator and the ground truth.
struct CarnotProtocol {
  double tau = 100.0;    ///< cycle period
  double k_max = 40.0;   ///< stiffness at mid-cycle, k_M
  double t_cold = 10.0;  ///< cold bath temperature T0

  STOCHINFER_HD double phase(double t) const {
    double s = std::fmod(t, tau);
    return s < 0 ? s + tau : s;
  }
  /// k(t): k_M/9 -> k_M/3 (tau/4) -> k_M (tau/2), quadratic ramp, mirrored.
  STOCHINFER_HD double stiffness(double t) const {
    double s = phase(t);
    s = s <= 0.5 * tau ? s : tau - s;
    return k_max / 9.0 + (32.0 * k_max / (9.0 * tau * tau)) * s * s;
  }
  /// T(t): cold isotherm, adiabat-like T ~ sqrt(k), hot isotherm (sqrt(3) T0), back.
  STOCHINFER_HD double temperature(double t) const {
    const double s = phase(t);
    const double k_quarter = k_max / 3.0;
    const double t_hot = 1.7320508075688772 * t_cold;
    if (s < 0.25 * tau) return t_cold;
    if (s < 0.5 * tau) return t_cold * std::sqrt(stiffness(t) / k_quarter);
    if (s < 0.75 * tau) return t_hot;
    return t_hot * std::sqrt(stiffness(t) / k_quarter);
  }
  /// dk/dt, for the work integral W = int (1/2) x^2 dk.
  STOCHINFER_HD double stiffness_rate(double t) const {
    const double s = phase(t);
    const double c = 64.0 * k_max / (9.0 * tau * tau);
    return s <= 0.5 * tau ? c * s : -c * (tau - s);
  }
};

}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
