// SPDX-License-Identifier: MIT
#pragma once
#include "stochinfer/nn/dense.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// Lookup table for discrete tokens: token k -> column k of E (dim x n_tokens).
/// Inputs hold `stride` tokens per sample; `slot` picks which one is embedded.
struct Embedding {
  int n_tokens = 0, dim = 0;

  std::size_t n_params() const { return static_cast<std::size_t>(n_tokens) * dim; }

  /// Writes the embedding of tokens[i*stride + slot] into rows [slot*dim, (slot+1)*dim) of column i of y.
  template <class T>
  void forward(const T* p, const int* tokens, int stride, int slot, int n, MatMap<T>& y) const {
    ConstMatMap<T> E(p, dim, n_tokens);
    for (int i = 0; i < n; ++i) y.col(i).segment(slot * dim, dim) = E.col(tokens[std::size_t(i) * stride + slot]);
  }

  /// Adds the matching rows of dy into the gradient columns of the tokens used.
  template <class T>
  void backward_add(const int* tokens, int stride, int slot, int n, const ConstMatMap<T>& dy, T* g) const {
    MatMap<T> dE(g, dim, n_tokens);
    for (int i = 0; i < n; ++i) dE.col(tokens[std::size_t(i) * stride + slot]) += dy.col(i).segment(slot * dim, dim);
  }
};

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
