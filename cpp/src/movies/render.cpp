// SPDX-License-Identifier: MIT
#include "stochinfer/movies/render.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include "stochinfer/detail/run_on_threads.hpp"
#include "stochinfer/movies/spot.hpp"
#include "stochinfer/rng.hpp"
#include "../nn_isa_code.hpp"

namespace stochinfer {
namespace movies {

namespace {

// Uniform in (0, 1) from the top 24 bits of one Philox word, in double: never 1, which
// a 31-bit float conversion reaches through rounding and which inversion would turn
// into the largest count it allows.
double shot_uniform(std::uint64_t seed, std::uint64_t movie, std::uint64_t key) {
  std::uint32_t c[4];
  philox_block<std::uint32_t>(seed, RngPurpose::shot_noise, static_cast<std::uint32_t>(movie),
                              static_cast<std::uint32_t>(movie >> 32), key / 4, c);
  return (double(c[key % 4] >> 8) + 0.5) * 5.9604644775390625e-08;  // 2^-24, in double: (2^24 − ½)/2^24 < 1
}

// Poisson(lambda) counts from one uniform (inversion, exact below kPoissonExactBelow) or
// one normal of an independent stream (normal approximation above it).
double poisson_count(double lambda, double u, float z) {
  if (lambda <= 0) return 0.0;
  if (lambda >= kPoissonExactBelow) return std::max(0.0, std::floor(lambda + std::sqrt(lambda) * double(z) + 0.5));
  double p = std::exp(-lambda), cdf = p, k = 0;
  const double target = u;
  // the cap only guards against a uniform above the CDF's rounding limit
  while (cdf < target && k < lambda + 40.0 * std::sqrt(lambda) + 40.0) {
    k += 1;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

struct FrameRenderer {
  const RenderConfig& cfg;
  int oh, ow;
  int row0, col0;            // crop origin, full-resolution pixels
  std::int64_t grid_width;   // width of the downsampled uncropped frame: the noise key's row stride
  double scale;              // 1 / (peak · f²)
  std::vector<double> gy, gx, centre, image;

  explicit FrameRenderer(const RenderConfig& c)
      : cfg(c), oh(c.out_height()), ow(c.out_width()), row0(c.crop_row), col0(c.crop_col),
        grid_width(c.width / c.downsample),
        scale(1.0 / (spot_peak(c.spot_std) * double(c.downsample) * double(c.downsample))),
        gy(std::size_t(c.n_spots) * oh), gx(std::size_t(c.n_spots) * ow), centre(std::size_t(c.n_spots) * 2),
        image(std::size_t(oh) * ow) {}

  // Frame from cfg.blur consecutive states x[0 … blur·dim): their mean intensity, then noise.
  template <class Out>
  void render(const double* x, std::uint64_t movie, std::uint64_t frame, Out* out) {
    std::fill(image.begin(), image.end(), 0.0);
    const double weight = scale / double(cfg.blur);
    for (int b = 0; b < cfg.blur; ++b) add_spots(x + std::size_t(b) * cfg.dim, weight);
    add_noise_and_store(movie, frame, out);
  }

  // image += weight · (pixel-integrated spots of state x)
  void add_spots(const double* x, double weight) {
    const int f = cfg.downsample;
    for (int s = 0; s < cfg.n_spots; ++s)
      for (int a = 0; a < 2; ++a) {
        const double* J = cfg.jacobian.data() + (std::size_t(s) * 2 + a) * cfg.dim;
        double c = cfg.base[std::size_t(s) * 2 + a];
        for (int d = 0; d < cfg.dim; ++d) c += J[d] * x[d];
        centre[std::size_t(s) * 2 + a] = c;
      }
    // separable spot: block masses along rows and columns, then outer products
    for (int s = 0; s < cfg.n_spots; ++s) {
      for (int r = 0; r < oh; ++r)
        gy[std::size_t(s) * oh + r] = spot_block_mass(row0 + r * f, f, centre[2 * s], cfg.spot_std);
      for (int q = 0; q < ow; ++q)
        gx[std::size_t(s) * ow + q] = spot_block_mass(col0 + q * f, f, centre[2 * s + 1], cfg.spot_std);
    }
    for (int s = 0; s < cfg.n_spots; ++s)
      for (int r = 0; r < oh; ++r) {
        const double wy = gy[std::size_t(s) * oh + r] * weight;
        double* row = image.data() + std::size_t(r) * ow;
        const double* px = gx.data() + std::size_t(s) * ow;
        for (int q = 0; q < ow; ++q) row[q] += wy * px[q];
      }
  }

  template <class Out>
  void add_noise_and_store(std::uint64_t movie, std::uint64_t frame, Out* out) {
    const int f = cfg.downsample;
    const std::int64_t frame_key = std::int64_t(frame) * std::int64_t(cfg.height / f) * grid_width;
    for (int r = 0; r < oh; ++r)
      for (int q = 0; q < ow; ++q) {
        double v = image[std::size_t(r) * ow + q];
        const std::uint64_t key =
            std::uint64_t(frame_key + (std::int64_t(row0 / f + r) * grid_width + col0 / f + q));
        if (cfg.photons > 0) {
          const double lambda = cfg.photons * std::max(v, 0.0);
          v = (lambda < kPoissonExactBelow
                   ? poisson_count(lambda, shot_uniform(cfg.seed, movie, key), 0.0f)
                   : poisson_count(lambda, 0.5, normal_at(cfg.seed, RngPurpose::shot_noise_normal, movie, key))) /
              cfg.photons;
        }
        if (cfg.read_noise > 0) v += cfg.read_noise * double(normal_at(cfg.seed, RngPurpose::read_noise, movie, key));
        if constexpr (std::is_same<Out, unsigned char>::value)
          out[std::size_t(r) * ow + q] = quantize_u8(v);
        else
          out[std::size_t(r) * ow + q] = static_cast<Out>(v);
      }
  }
};

template <class Out>
SimulationStatus render_typed(const RenderConfig& cfg, const double* states, std::int64_t n_movies,
                              std::int64_t n_frames, const std::int64_t* pairs, std::int64_t n_pairs, Out* out,
                              int n_threads, const std::atomic<bool>* cancel) {
  const std::int64_t n_out = pairs ? n_pairs : n_movies * n_frames;
  for (std::int64_t k = 0; pairs && k < n_pairs; ++k)
    if (pairs[2 * k] < 0 || pairs[2 * k] >= n_movies || pairs[2 * k + 1] < 0 || pairs[2 * k + 1] >= n_frames)
      throw std::invalid_argument("pairs must name existing (movie, frame) pairs");
  const std::size_t frame_size = std::size_t(cfg.out_height()) * cfg.out_width();
  int nthreads = n_threads > 0 ? n_threads : static_cast<int>(std::thread::hardware_concurrency());
  nthreads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(nthreads, (n_out + 63) / 64)));
  constexpr std::int64_t chunk = 64;  // frames per counter fetch
  std::atomic<std::int64_t> next{0};
  std::atomic<bool> stopped{false};
  auto worker = [&]() {  // a failure on a helper thread (bad_alloc of its buffers) is rethrown by the caller
    FrameRenderer fr(cfg);
    for (;;) {
      const std::int64_t begin = next.fetch_add(chunk);
      if (begin >= n_out || stopped) return;
      if (cancel && cancel->load(std::memory_order_relaxed)) {
        stopped = true;
        return;
      }
      for (std::int64_t k = begin; k < std::min(begin + chunk, n_out); ++k) {
        const std::int64_t m = pairs ? pairs[2 * k] : k / n_frames;
        const std::int64_t t = pairs ? pairs[2 * k + 1] : k % n_frames;
        fr.render(states + ((m * n_frames + t) * cfg.blur) * cfg.dim, cfg.movie_offset + std::uint64_t(m),
                  std::uint64_t(t), out + k * frame_size);
      }
    }
  };
  host_threads::run_on_threads_rethrowing(nthreads, stopped, worker);
  return stopped ? SimulationStatus::cancelled : SimulationStatus::completed;
}

}  // namespace

}  // namespace movies

SimulationStatus nn_isa_code::render_frames(const movies::RenderConfig& cfg, const double* states,
                                            std::int64_t n_movies, std::int64_t n_frames, const std::int64_t* pairs,
                                            std::int64_t n_pairs, void* out, int n_threads,
                                            const std::atomic<bool>* cancel) {
  using namespace movies;
  cfg.validate();
  if (n_movies < 0 || n_frames < 0 || n_pairs < 0) throw std::invalid_argument("sizes must be >= 0");
  if (cfg.quantize)
    return render_typed(cfg, states, n_movies, n_frames, pairs, n_pairs, static_cast<unsigned char*>(out), n_threads,
                        cancel);
  return render_typed(cfg, states, n_movies, n_frames, pairs, n_pairs, static_cast<float*>(out), n_threads, cancel);
}

}  // namespace stochinfer
