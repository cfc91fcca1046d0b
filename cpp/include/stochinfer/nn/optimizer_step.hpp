// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>
#include <variant>

#include "stochinfer/config.hpp"
#include "stochinfer/nn/adam.hpp"
#include "stochinfer/nn/sgd.hpp"
#include "stochinfer/nn/types.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// One optimiser update of p[0..n) by the gradient g, `step` the 1-based count of
/// this update: Adam with moments m and v, or SGD with its momentum buffer in m (v
/// unused), so every network keeps one (m, v) layout whichever it trains with.
template <class T>
void optimizer_step(const AdamConfig& c, long step, T* p, const T* g, T* m, T* v, std::size_t n) {
  adam_update(c, step, p, g, m, v, n);
}
template <class T>
void optimizer_step(const SgdConfig& c, long step, T* p, const T* g, T* m, T* /*v*/, std::size_t n) {
  sgd_update(c, step, p, g, m, n);
}
template <class T>
void optimizer_step(const OptimizerConfig& c, long step, T* p, const T* g, T* m, T* v, std::size_t n) {
  std::visit([&](const auto& o) { optimizer_step(o, step, p, g, m, v, n); }, c);
}

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
