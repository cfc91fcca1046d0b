// SPDX-License-Identifier: MIT
#pragma once
#include <cstddef>

#include <Eigen/Core>

#include "stochinfer/nn/dense.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// 2-D convolution (cross-correlation, as PyTorch's Conv2d) on a batch stored one
/// sample per column. A sample's feature map (C, H, W) is stored channel-fastest:
/// element (c, y, x) at c + C (x + W y), so the C_in values under one kernel tap
/// are contiguous and the im2col matrix is built from contiguous runs. Parameters:
/// W (c_out × k k c_in, column-major; column ci + c_in (kx + k ky)) then b (c_out).
/// PyTorch's weight w[o, ci, ky, kx] is W(o, ci + c_in (kx + k ky)).
struct Conv2d {
  int c_in = 0, c_out = 0, h_in = 0, w_in = 0, k = 1, stride = 1, pad = 0;

  int h_out() const { return (h_in + 2 * pad - k) / stride + 1; }
  int w_out() const { return (w_in + 2 * pad - k) / stride + 1; }
  int patch() const { return k * k * c_in; }
  int in_size() const { return c_in * h_in * w_in; }
  int out_size() const { return c_out * h_out() * w_out(); }
  std::size_t n_params() const { return std::size_t(c_out) * patch() + c_out; }

  /// cols (patch × n·h_out·w_out): column (s, oy, ox) holds sample s's inputs under
  /// the kernel placed at output (oy, ox); zero where the kernel covers padding.
  template <class T>
  void im2col(const T* x, int n, T* cols) const {
    const int ho = h_out(), wo = w_out(), P = patch();
    for (int s = 0; s < n; ++s) {
      const T* xs = x + std::size_t(s) * in_size();
      for (int oy = 0; oy < ho; ++oy)
        for (int ox = 0; ox < wo; ++ox) {
          T* col = cols + (std::size_t(s) * ho * wo + std::size_t(oy) * wo + ox) * P;
          for (int ky = 0; ky < k; ++ky) {
            const int iy = oy * stride - pad + ky;
            for (int kx = 0; kx < k; ++kx) {
              const int ix = ox * stride - pad + kx;
              T* dst = col + std::size_t(kx + k * ky) * c_in;
              if (iy < 0 || iy >= h_in || ix < 0 || ix >= w_in) {
                for (int c = 0; c < c_in; ++c) dst[c] = T(0);
              } else {
                const T* src = xs + std::size_t(ix + w_in * iy) * c_in;
                for (int c = 0; c < c_in; ++c) dst[c] = src[c];
              }
            }
          }
        }
    }
  }

  /// dx += the columns scattered back to the positions im2col read them from.
  template <class T>
  void col2im_add(const T* cols, int n, T* dx) const {
    const int ho = h_out(), wo = w_out(), P = patch();
    for (int s = 0; s < n; ++s) {
      T* ds = dx + std::size_t(s) * in_size();
      for (int oy = 0; oy < ho; ++oy)
        for (int ox = 0; ox < wo; ++ox) {
          const T* col = cols + (std::size_t(s) * ho * wo + std::size_t(oy) * wo + ox) * P;
          for (int ky = 0; ky < k; ++ky) {
            const int iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= h_in) continue;
            for (int kx = 0; kx < k; ++kx) {
              const int ix = ox * stride - pad + kx;
              if (ix < 0 || ix >= w_in) continue;
              const T* src = col + std::size_t(kx + k * ky) * c_in;
              T* dst = ds + std::size_t(ix + w_in * iy) * c_in;
              for (int c = 0; c < c_in; ++c) dst[c] += src[c];
            }
          }
        }
    }
  }

  /// y (out_size × n) from x (in_size × n); cols (patch × n·h_out·w_out) is kept
  /// for backward. One GEMM for the whole batch: y's column-major storage is
  /// (c_out, position, sample), i.e. each sample's map channel-fastest.
  template <class T>
  void forward(const T* p, const T* x, int n, T* cols, T* y) const {
    im2col(x, n, cols);
    const Eigen::Index m = Eigen::Index(n) * h_out() * w_out();
    ConstMatMap<T> W(p, c_out, patch());
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> b(p + std::size_t(c_out) * patch(), c_out);
    ConstMatMap<T> C(cols, patch(), m);
    MatMap<T> Y(y, c_out, m);
    Y.noalias() = W * C;
    Y.colwise() += b;
  }

  /// Writes dL/dW, dL/db into g; when dx is non-null, dx = dL/dx (dcols: scratch of
  /// cols' size).
  template <class T>
  void backward(const T* p, const T* cols, const T* dy, int n, T* dx, T* dcols, T* g) const {
    const Eigen::Index m = Eigen::Index(n) * h_out() * w_out();
    ConstMatMap<T> C(cols, patch(), m);
    ConstMatMap<T> dY(dy, c_out, m);
    MatMap<T> dW(g, c_out, patch());
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> db(g + std::size_t(c_out) * patch(), c_out);
    dW.noalias() = dY * C.transpose();
    db.setZero();
    for (Eigen::Index c = 0; c < m; ++c) db += dY.col(c);  // fixed order (see Dense::backward)
    if (dx) {
      ConstMatMap<T> W(p, c_out, patch());
      MatMap<T> dC(dcols, patch(), m);
      dC.noalias() = W.transpose() * dY;
      for (std::size_t i = 0; i < std::size_t(n) * in_size(); ++i) dx[i] = T(0);
      col2im_add(dcols, n, dx);
    }
  }
};

/// 2 × 2 max pooling with stride 2 (PyTorch's MaxPool2d(2): odd trailing rows and
/// columns are dropped), same channel-fastest layout; the winning input of each
/// output is recorded for backward (ties: the first in row-major order, as PyTorch).
struct MaxPool2 {
  int c = 0, h_in = 0, w_in = 0;

  int h_out() const { return h_in / 2; }
  int w_out() const { return w_in / 2; }
  int in_size() const { return c * h_in * w_in; }
  int out_size() const { return c * h_out() * w_out(); }

  template <class T>
  void forward(const T* x, int n, T* y, int* arg) const {
    const int ho = h_out(), wo = w_out();
    for (int s = 0; s < n; ++s) {
      const T* xs = x + std::size_t(s) * in_size();
      T* ys = y + std::size_t(s) * out_size();
      int* as = arg + std::size_t(s) * out_size();
      for (int oy = 0; oy < ho; ++oy)
        for (int ox = 0; ox < wo; ++ox)
          for (int ch = 0; ch < c; ++ch) {
            int best = ch + c * (2 * ox + w_in * 2 * oy);
            for (int dy = 0; dy < 2; ++dy)
              for (int dx = 0; dx < 2; ++dx) {
                const int i = ch + c * (2 * ox + dx + w_in * (2 * oy + dy));
                if (xs[i] > xs[best]) best = i;
              }
            const int o = ch + c * (ox + wo * oy);
            ys[o] = xs[best];
            as[o] = best;
          }
    }
  }

  /// dx = dL/dx: each output's gradient goes to its recorded input.
  template <class T>
  void backward(const T* dy, const int* arg, int n, T* dx) const {
    for (std::size_t i = 0; i < std::size_t(n) * in_size(); ++i) dx[i] = T(0);
    for (int s = 0; s < n; ++s) {
      const T* ds = dy + std::size_t(s) * out_size();
      const int* as = arg + std::size_t(s) * out_size();
      T* xs = dx + std::size_t(s) * in_size();
      for (int o = 0; o < out_size(); ++o) xs[as[o]] += ds[o];
    }
  }
};

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
