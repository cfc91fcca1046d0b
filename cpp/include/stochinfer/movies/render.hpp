// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "stochinfer/simulate.hpp"

namespace stochinfer {
namespace movies {

/// How the hidden state becomes a movie frame (methods.md §5.9.1): spot s sits at
/// (row, col) = base[s] + J[s] · x pixels, an isotropic Gaussian of std spot_std
/// integrated over each pixel and divided by the pixel-centred peak; spots add.
/// Optional, in this order: the mean of non-overlapping downsample × downsample
/// blocks, a crop (full-resolution pixels, multiples of downsample), shot noise
/// (Poisson counts with `photons` at peak intensity 1, divided by photons), read
/// noise (Gaussian, std read_noise in peak units), 8-bit quantisation
/// clip(floor(255 I + ½), 0, 255). Noise is keyed by (seed, movie_offset + movie, frame,
/// pixel of the downsampled uncropped frame): a crop sees the same noise as the full
/// frame, and a movie rendered in another call with its offset the same noise.
/// Motion blur (blur > 1): frame k averages the spot intensities of the blur hidden
/// states k·blur … k·blur + blur − 1 (a camera exposing through the whole frame
/// interval), before the optional steps above; its noise is keyed by frame k.
struct RenderConfig {
  int height = 0, width = 0;  ///< full-resolution frame, pixels
  int n_spots = 0;
  int dim = 0;                   ///< state dimension
  std::vector<double> base;      ///< n_spots × 2 (row, col), pixels
  std::vector<double> jacobian;  ///< n_spots × 2 × dim, pixels per unit of state
  double spot_std = 1.0;         ///< pixels, > 0
  int blur = 1;                  ///< hidden states averaged per frame (1: a snapshot)
  int downsample = 1;
  int crop_row = 0, crop_col = 0;        ///< full-resolution pixels
  int crop_height = -1, crop_width = -1;  ///< -1: to the frame's edge
  double photons = 0;     ///< shot noise: expected counts at intensity 1 (0: none)
  double read_noise = 0;  ///< Gaussian noise std in peak units (0: none)
  bool quantize = true;   ///< uint8 output; false: float intensities
  std::uint64_t seed = 0;
  std::uint64_t movie_offset = 0;  ///< movie m of this call is movie movie_offset + m of the noise key

  void validate() const;  ///< throws std::invalid_argument naming the bad field
  int out_height() const;
  int out_width() const;
};

/// Shot noise above this mean count uses the normal approximation N(λ, λ)
/// (skewness 1/√λ < 0.045); below it, exact inversion of one uniform.
constexpr double kPoissonExactBelow = 500.0;

/// Renders frames of states (n_movies, n_frames · cfg.blur, dim), C order, into out
/// (n_out, out_height, out_width): every frame in order when pairs is null
/// (n_out = n_movies · n_frames), else the (movie, frame) pairs pairs[2k], pairs[2k + 1]
/// (frame indices count frames, not states).
/// out is uint8 when cfg.quantize, else float. Thread-count independent.
SimulationStatus render_frames(const RenderConfig& cfg, const double* states, std::int64_t n_movies,
                               std::int64_t n_frames, const std::int64_t* pairs, std::int64_t n_pairs, void* out,
                               int n_threads = 0, const std::atomic<bool>* cancel = nullptr);

}  // namespace movies
}  // namespace stochinfer
