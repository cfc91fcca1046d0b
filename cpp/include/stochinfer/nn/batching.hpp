// SPDX-License-Identifier: MIT
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "stochinfer/neep.hpp"
#include "stochinfer/nn/flush_denormals.hpp"
#include "stochinfer/parallel.hpp"
#include "stochinfer/rng.hpp"

namespace stochinfer {
inline namespace STOCHINFER_ISA_NAMESPACE {
namespace nn {

/// `batch` indices drawn uniformly with replacement from [0, total), keyed by
/// (seed, step, i): put(i, index) receives the i-th.
template <class Put>
void draw_uniform_indices(std::uint64_t seed, std::int64_t step, int batch, std::uint64_t total, Put put) {
  if (total == 0) throw std::invalid_argument("no training items (windows, transitions or rows) to draw from");
  for (int i = 0; i < batch; i += 2) {
    std::uint32_t c[4];
    philox_block<std::uint32_t>(seed, RngPurpose::minibatch, static_cast<std::uint32_t>(step),
                                static_cast<std::uint32_t>(std::uint64_t(step) >> 32), std::uint64_t(i / 2), c);
    for (int h = 0; h < 2 && i + h < batch; ++h)
      put(i + h, static_cast<std::int64_t>(((std::uint64_t(c[2 * h + 1]) << 32) | c[2 * h]) % total));
  }
}

/// Windows of `span` consecutive points inside segments (span = 2: transitions).
/// Training draws window starts uniformly with stride 1; evaluation walks them
/// in order with a given stride (span - 1 makes consecutive windows share endpoints).
class WindowIndex {
 public:
  WindowIndex(const StateArray& a, const std::vector<Segment>& segs, int span, std::int64_t stride)
      : segs_(segs), span_(span), stride_(stride), cum_(segs.size() + 1, 0) {
    if (span < 2) throw std::invalid_argument("window length must be >= 2");
    for (std::size_t k = 0; k < segs.size(); ++k) {
      const Segment& s = segs[k];
      if (s.traj < 0 || s.traj >= a.n_traj || s.begin < 0 || s.end > a.length || s.end - s.begin < span)
        throw std::invalid_argument("segment (" + std::to_string(s.traj) + ", " + std::to_string(s.begin) + ", " +
                                    std::to_string(s.end) + ") is outside the data or shorter than " +
                                    std::to_string(span) + " points");
      cum_[k + 1] = cum_[k] + (s.end - s.begin - span) / stride + 1;
    }
  }

  std::int64_t size() const { return cum_.back(); }

  /// (trajectory, start) of windows [lo, lo + n) in order.
  void at(std::int64_t lo, int n, std::int64_t* trj, std::int64_t* start) const {
    std::size_t k = std::upper_bound(cum_.begin(), cum_.end(), lo) - cum_.begin() - 1;
    for (int i = 0; i < n; ++i) {
      while (lo + i >= cum_[k + 1]) ++k;
      trj[i] = segs_[k].traj;
      start[i] = segs_[k].begin + (lo + i - cum_[k]) * stride_;
    }
  }

  /// `batch` windows drawn uniformly with replacement, keyed by (seed, step, i).
  void sample(std::uint64_t seed, std::int64_t step, int batch, std::int64_t* trj, std::int64_t* start) const {
    draw_uniform_indices(seed, step, batch, static_cast<std::uint64_t>(size()),
                         [&](int i, std::int64_t u) { at(u, 1, trj + i, start + i); });
  }

 private:
  std::vector<Segment> segs_;
  int span_;
  std::int64_t stride_;
  std::vector<std::int64_t> cum_;
};

/// Rows of a table (a classifier's samples), as train_loop and evaluate_loop walk
/// windows: item k is row rows[k]; `start` is always 0.
class RowIndex {
 public:
  RowIndex(std::vector<std::int64_t> rows, std::int64_t n_rows) : rows_(std::move(rows)) {
    for (std::int64_t r : rows_)
      if (r < 0 || r >= n_rows)
        throw std::invalid_argument("row " + std::to_string(r) + " is outside the data (" + std::to_string(n_rows) +
                                    " rows)");
  }

  std::int64_t size() const { return static_cast<std::int64_t>(rows_.size()); }

  void at(std::int64_t lo, int n, std::int64_t* row, std::int64_t* start) const {
    for (int i = 0; i < n; ++i) {
      row[i] = rows_[lo + i];
      start[i] = 0;
    }
  }

  void sample(std::uint64_t seed, std::int64_t step, int batch, std::int64_t* row, std::int64_t* start) const {
    draw_uniform_indices(seed, step, batch, static_cast<std::uint64_t>(size()), [&](int i, std::int64_t u) {
      row[i] = rows_[u];
      start[i] = 0;
    });
  }

 private:
  std::vector<std::int64_t> rows_;
};

/// fn(lo, hi) over consecutive slices of [0, n) on the pool's threads, or in one
/// call below 2^17 elements (where waking the workers costs more than the pass);
/// for element-wise work, whose result does not depend on the split.
template <class Fn>
void for_each_slice(ThreadPool& pool, std::size_t n, Fn fn) {
  constexpr std::size_t kSlice = 1 << 15, kSerialBelow = 1 << 17;
  if (n < kSerialBelow || pool.size() == 1) {
    FlushDenormals ftz;  // the same mode as the workers below: results must not depend on the thread count
    fn(std::size_t(0), n);
    return;
  }
  const int n_slices = static_cast<int>((n + kSlice - 1) / kSlice);
  pool.parallel_for(n_slices, [&](int k, int) {
    FlushDenormals ftz_worker;  // as the calling thread (Adam's second moments underflow)
    fn(std::size_t(k) * kSlice, std::min(n, std::size_t(k + 1) * kSlice));
  });
}

/// Gradient of a mean loss over n_items split into chunks of `chunk`: chunk c adds
/// into group c % 16 (the group's first chunk writes), groups are summed in order,
/// so the result does not depend on how many threads ran the chunks.
/// chunk_grad(c, w, g) computes chunk c on worker w, writes its gradient into g
/// and returns its loss sum. Everything runs with subnormals flushed (FlushDenormals).
template <class T>
class GroupedGradient {
 public:
  static constexpr int kGroups = 16;

  template <class ChunkGrad>
  double run(ThreadPool& pool, std::int64_t n_items, int chunk, std::size_t n_params, T* grad, ChunkGrad chunk_grad) {
    if (n_items < 1 || chunk < 1) throw std::invalid_argument("a gradient needs at least one item (batch >= 1)");
    const std::int64_t n_chunks = (n_items + chunk - 1) / chunk;
    const int n_groups = static_cast<int>(std::min<std::int64_t>(kGroups, n_chunks));
    if (group_.size() < std::size_t(n_groups)) group_.resize(n_groups);
    if (scratch_.size() < std::size_t(pool.size())) scratch_.resize(pool.size());
    std::vector<double> loss(n_groups, 0.0);
    pool.parallel_for(n_groups, [&](int grp, int w) {
      // chunks and their sums under one floating-point mode on every thread: a subnormal
      // partial sum kept on one worker and flushed on another made gradients thread-dependent
      FlushDenormals ftz_worker;
      auto& acc = group_[grp];
      acc.resize(n_params);
      auto& tmp = scratch_[w];
      tmp.resize(n_params);
      for (std::int64_t c = grp; c < n_chunks; c += n_groups) {
        const bool first = c == grp;
        loss[grp] += chunk_grad(c, w, first ? acc.data() : tmp.data());
        if (!first)
          for (std::size_t j = 0; j < n_params; ++j) acc[j] += tmp[j];
      }
    });
    // groups summed in order per parameter; parameter slices in parallel (large networks:
    // a serial pass over every parameter costs as much as a small network's whole step)
    double total = 0.0;
    for (int grp = 0; grp < n_groups; ++grp) total += loss[grp];
    for_each_slice(pool, n_params, [&](std::size_t lo, std::size_t hi) {
      std::copy(group_[0].begin() + lo, group_[0].begin() + hi, grad + lo);
      for (int grp = 1; grp < n_groups; ++grp) {
        const T* a = group_[grp].data();
        for (std::size_t j = lo; j < hi; ++j) grad[j] += a[j];
      }
    });
    return total;
  }

 private:
  std::vector<std::vector<T>> group_, scratch_;
};

}  // namespace nn
}  // inline namespace STOCHINFER_ISA_NAMESPACE
}  // namespace stochinfer
