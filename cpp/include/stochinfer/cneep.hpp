// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "stochinfer/neep.hpp"
#include "stochinfer/nn/types.hpp"
#include "stochinfer/nn_isa.hpp"

namespace stochinfer {

/// NEEP on movies (CNEEP, methods.md §2): ΔS = h(x) − h(flip(x)) for a window x of
/// seq_len consecutive frames stacked as channels, flip reversing their order, h the
/// convolutional network of CnnSpec. Movies are a StateArray with n_traj = movies,
/// length = frames and dim = height × width pixels (row-major), of type uint8,
/// float32 or float64; pixels enter the network as (value − shift) · scale. Training,
/// keys and thread invariance as NeepModel (windows of seq_len frames instead of pairs).
template <class T>
class CneepModel {
 public:
  CneepModel(const CnnSpec& spec, std::uint64_t init_seed, int n_threads = 0);
  ~CneepModel();
  CneepModel(CneepModel&&) noexcept;
  CneepModel& operator=(CneepModel&&) noexcept;

  const CnnSpec& spec() const;
  std::size_t n_params() const;
  T* params();
  const T* params() const;
  T* adam_m();
  T* adam_v();
  std::int64_t& adam_step();
  std::int64_t& batch_draws();
  /// Held by every method that uses the model's state (one call at a time); hold it while
  /// using the pointers and references above when other threads may call the model.
  CallMutex& call_mutex() const;
  int map_height() const;  ///< size of the dissipation map (the last block's feature map)
  int map_width() const;

  void set_pixel_transform(double shift, double scale);

  NeepTrainStats train(const StateArray& movies, const std::vector<Segment>& segments, std::int64_t n_steps,
                       int batch, const OptimizerConfig& optimizer, std::uint64_t sample_seed,
                       const std::atomic<bool>* cancel = nullptr);

  /// Windows of the segments evaluated in order with the given stride (seq_len − 1:
  /// consecutive windows share their end frames).
  std::int64_t n_delta_s(const StateArray& movies, const std::vector<Segment>& segments, std::int64_t stride) const;
  /// ΔS of every window into out; with map non-null also its dissipation map
  /// (map_height × map_width values per window). Returns false when cancelled.
  bool delta_s(const StateArray& movies, const std::vector<Segment>& segments, std::int64_t stride, double* out,
               double* map = nullptr, const std::atomic<bool>* cancel = nullptr);

  /// Mean loss over every window (stride 1) and its gradient; no update.
  double loss_and_grad(const StateArray& movies, const std::vector<Segment>& segments, T* grad);

  /// h for explicit network inputs x: (n, seq_len, height, width) row-major, no pixel transform.
  void forward_rows(const T* x, std::int64_t n, T* out);

 private:
  NnIsaCheck isa_check_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template class CneepModel<float>;
extern template class CneepModel<double>;

}  // namespace stochinfer
