// SPDX-License-Identifier: MIT
#pragma once
#include <cmath>
#include <vector>

#include "stochinfer/nn/dense.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// One-layer GRU with PyTorch's equations, gate order (r, z, n) and zero initial state:
///   r = σ(gi_r + W_hr h + b_hr),  z = σ(gi_z + W_hz h + b_hz),
///   n = tanh(gi_n + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h,
/// where gi = W_i x + b_i is the input projection, supplied by the caller per step
/// (token inputs look it up in a precomputed table instead of a matrix product).
/// Parameters here: W_h (3H x H, column-major) then b_h (3H); W_i, b_i belong to
/// the caller's input projection.
struct Gru {
  int hidden = 0;

  std::size_t n_params() const { return std::size_t(3 * hidden) * hidden + 3 * hidden; }

  /// Stored activations of a batch of S sequences of n steps (column block t = step t).
  template <class T>
  struct Tape {
    Mat<T> r, z, c, ghn, h;  // H x (S n) each: gates, candidate, W_hn h + b_hn, state
    Mat<T> gh;               // 3H x S scratch
    void reserve(int H, int cols, int seq) {
      if (h.rows() != H || h.cols() < cols)
        r.resize(H, cols), z.resize(H, cols), c.resize(H, cols), ghn.resize(H, cols), h.resize(H, cols);
      if (gh.rows() != 3 * H || gh.cols() < seq) gh.resize(3 * H, seq);  // checked on its own: S may grow alone
    }
  };

  /// gi(t) returns the input projection (3H x S) of step t.
  template <class T, class InputProj>
  void forward(const T* p, int S, int n, Tape<T>& tp, InputProj gi) const {
    const int H = hidden;
    ConstMatMap<T> Wh(p, 3 * H, H);
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> bh(p + std::size_t(3 * H) * H, 3 * H);
    for (int t = 0; t < n; ++t) {
      const auto Gi = gi(t);
      MatMap<T> gh(tp.gh.data(), 3 * H, S);
      if (t == 0)
        gh.colwise() = bh;
      else {
        ConstMatMap<T> hp(tp.h.data() + std::size_t(t - 1) * H * S, H, S);
        gh.noalias() = Wh * hp;
        gh.colwise() += bh;
      }
      // whole-block array expressions: Eigen vectorises logistic and tanh
      const std::size_t off = std::size_t(t) * H * S;
      MatMap<T> r(tp.r.data() + off, H, S), z(tp.z.data() + off, H, S), c(tp.c.data() + off, H, S);
      MatMap<T> ghn(tp.ghn.data() + off, H, S), h(tp.h.data() + off, H, S);
      r.array() = (Gi.topRows(H) + gh.topRows(H)).array().logistic();
      z.array() = (Gi.middleRows(H, H) + gh.middleRows(H, H)).array().logistic();
      ghn = gh.bottomRows(H);
      c.array() = (Gi.bottomRows(H).array() + r.array() * ghn.array()).tanh();
      if (t == 0) {
        h.array() = (T(1) - z.array()) * c.array();
      } else {
        ConstMatMap<T> hp(tp.h.data() + off - std::size_t(H) * S, H, S);
        h.array() = (T(1) - z.array()) * c.array() + z.array() * hp.array();
      }
    }
  }

  /// Back-propagation through time. dh_ext(t) returns dL/dh_t from outside the
  /// recurrence (H x S). dgi(t, D) receives dL/d(input projection of step t)
  /// (3H x S). Writes (not adds) the gradient of W_h, b_h into g. dgi_buf and
  /// carry are caller scratch of sizes 3H x S and H x S.
  template <class T, class ExtGrad, class InputGrad>
  void backward(const T* p, int S, int n, Tape<T>& tp, ExtGrad dh_ext, InputGrad dgi, Mat<T>& dgi_buf,
                Mat<T>& carry, T* g) const {
    const int H = hidden;
    ConstMatMap<T> Wh(p, 3 * H, H);
    MatMap<T> dWh(g, 3 * H, H);
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> dbh(g + std::size_t(3 * H) * H, 3 * H);
    dWh.setZero();
    dbh.setZero();
    MatMap<T> dh(carry.data(), H, S);  // dL/dh_t through later steps
    dh.setZero();
    MatMap<T> D(dgi_buf.data(), 3 * H, S);   // gate pre-activation gradients; rows of n: input part
    for (int t = n - 1; t >= 0; --t) {
      const auto ext = dh_ext(t);
      const std::size_t off = std::size_t(t) * H * S;
      ConstMatMap<T> r(tp.r.data() + off, H, S), z(tp.z.data() + off, H, S), c(tp.c.data() + off, H, S);
      ConstMatMap<T> ghn(tp.ghn.data() + off, H, S);
      dh += ext;  // now dL/dh_t
      const auto da_n = (dh.array() * (T(1) - z.array()) * (T(1) - c.array().square())).eval();
      D.bottomRows(H) = da_n.matrix();
      D.topRows(H).array() = da_n * ghn.array() * r.array() * (T(1) - r.array());
      if (t > 0) {
        ConstMatMap<T> hp(tp.h.data() + off - std::size_t(H) * S, H, S);
        D.middleRows(H, H).array() = dh.array() * (hp.array() - c.array()) * z.array() * (T(1) - z.array());
      } else {
        D.middleRows(H, H).array() = -dh.array() * c.array() * z.array() * (T(1) - z.array());
      }
      dh.array() *= z.array();  // direct path h_{t-1} -> h_t
      dgi(t, ConstMatMap<T>(D.data(), 3 * H, S));
      D.bottomRows(H).array() *= r.array();  // recurrent part: d(W_hn h + b_hn) = da_n ⊙ r
      for (Eigen::Index col = 0; col < S; ++col) dbh += D.col(col);
      if (t > 0) {
        ConstMatMap<T> hprev(tp.h.data() + off - std::size_t(H) * S, H, S);
        dWh.noalias() += D * hprev.transpose();
        dh.noalias() += Wh.transpose() * D;
      }
    }
  }
};

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
