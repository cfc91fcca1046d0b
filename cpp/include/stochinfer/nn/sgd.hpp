// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>

#include "stochinfer/config.hpp"
#include "stochinfer/nn/types.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// One SGD update of params p[0..n) with gradient g (torch.optim.SGD's order; see
/// SgdConfig); buf is the momentum buffer and `step` the 1-based count of this
/// update (the first update starts the buffer at g).
template <class T>
void sgd_update(const SgdConfig& c, long step, T* p, const T* g, T* buf, std::size_t n) {
  const T lr = T(c.lr), mu = T(c.momentum), wd = T(c.weight_decay), keep = T(1.0 - c.dampening);
  const bool first = step <= 1;
  for (std::size_t i = 0; i < n; ++i) {
    T gi = g[i] + wd * p[i];
    if (c.momentum > 0) {
      buf[i] = first ? gi : mu * buf[i] + keep * gi;
      gi = c.nesterov ? gi + mu * buf[i] : buf[i];
    }
    p[i] -= lr * gi;
  }
}

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
