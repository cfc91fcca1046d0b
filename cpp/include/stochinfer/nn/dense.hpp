// SPDX-License-Identifier: MIT
#pragma once
#include <Eigen/Core>

#include "stochinfer/config.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <class T>
using MatMap = Eigen::Map<Mat<T>>;
template <class T>
using ConstMatMap = Eigen::Map<const Mat<T>>;

/// Fully connected layer y = W x + b on a batch stored column-wise (one sample
/// per column). Parameters are a slice of the network's flat buffer: W (out x in,
/// column-major, i.e. PyTorch's weight transposed in memory) then b (out).
struct Dense {
  int in = 0, out = 0;

  std::size_t n_params() const { return static_cast<std::size_t>(out) * in + out; }

  template <class T>
  void forward(const T* p, const ConstMatMap<T>& x, MatMap<T>& y) const {
    ConstMatMap<T> W(p, out, in);
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> b(p + std::size_t(out) * in, out);
    y.noalias() = W * x;
    y.colwise() += b;
  }

  /// Writes (not adds) dL/dW, dL/db into g (same layout as p); dx = Wᵀ dy when dx
  /// is non-null (the first layer skips it: nothing upstream needs it).
  template <class T>
  void backward(const T* p, const ConstMatMap<T>& x, const ConstMatMap<T>& dy, MatMap<T>* dx, T* g) const {
    MatMap<T> dW(g, out, in);
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> db(g + std::size_t(out) * in, out);
    dW.noalias() = dy * x.transpose();
    // column by column: a fixed summation order whatever the buffer's alignment
    // (Eigen's vectorised row sums peel by address, which differs per thread buffer)
    db.setZero();
    for (Eigen::Index c = 0; c < dy.cols(); ++c) db += dy.col(c);
    if (dx) {
      ConstMatMap<T> W(p, out, in);
      dx->noalias() = W.transpose() * dy;
    }
  }
};

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
