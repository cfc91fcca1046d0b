// SPDX-License-Identifier: MIT
// CneepModel<double>: the whole-network gradient (convolutions, ReLU, max pooling,
// head, antisymmetric loss) against central finite differences; the dissipation
// map sums to ΔS; training on 1 and 3 threads gives identical weights.
#include <cmath>
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "stochinfer/cneep.hpp"
#include "stochinfer/rng.hpp"

using stochinfer::CneepModel;

int main() {
  stochinfer::CnnSpec spec;
  spec.seq_len = 3;
  spec.height = 12;
  spec.width = 16;
  spec.n_layer = 3;  // conv-pool, conv-conv-pool, conv-conv: every layer kind, twice
  spec.n_channel = 3;
  const std::int64_t n_movies = 2, n_frames = 6, P = 12 * 16;
  std::vector<double> pix(std::size_t(n_movies * n_frames * P));
  for (std::size_t i = 0; i < pix.size(); ++i)
    pix[i] = stochinfer::normal_at(3, stochinfer::RngPurpose::user, 0, i);
  stochinfer::StateArray movies{pix.data(), stochinfer::StateType::float64, n_movies, n_frames, P};
  std::vector<stochinfer::Segment> segs{{0, 0, n_frames}, {1, 1, n_frames}};

  CneepModel<double> model(spec, 7, 2);
  model.set_pixel_transform(0.1, 1.3);
  const std::size_t np = model.n_params();
  std::vector<double> grad(np);
  model.loss_and_grad(movies, segs, grad.data());
  double* p = model.params();
  int bad = 0;
  double worst = 0;
  for (std::size_t j = 0; j < np; ++j) {
    const double keep = p[j], h = 1e-6 * std::max(1.0, std::fabs(keep));
    std::vector<double> scratch(np);
    p[j] = keep + h;
    const double up = model.loss_and_grad(movies, segs, scratch.data());
    p[j] = keep - h;
    const double down = model.loss_and_grad(movies, segs, scratch.data());
    p[j] = keep;
    const double fd = (up - down) / (2 * h);
    const double err = std::fabs(fd - grad[j]) / std::max(1e-4, std::fabs(fd) + std::fabs(grad[j]));
    worst = std::max(worst, err);
    if (err > 1e-5) ++bad;
  }
  std::printf("gradient: %zu parameters, worst relative error %.2e\n", np, worst);
  CHECK(bad == 0);

  // the dissipation map sums to ΔS (stride 2 = seq_len − 1: windows sharing end frames)
  const std::int64_t n = model.n_delta_s(movies, segs, 2);
  CHECK(n == 2 + 2);  // frames 0..5: starts 0, 2; frames 1..5: starts 1, 3
  std::vector<double> ds(n), map(std::size_t(n) * model.map_height() * model.map_width());
  CHECK(model.map_height() == 1 && model.map_width() == 2);  // 12 x 16 -> 6 x 8 -> 3 x 4 -> 1 x 2
  CHECK(model.delta_s(movies, segs, 2, ds.data(), map.data()));
  for (std::int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int q = 0; q < model.map_height() * model.map_width(); ++q) s += map[std::size_t(i) * 2 + q];
    CHECK(std::fabs(s - ds[i]) < 1e-12 * (1 + std::fabs(ds[i])));
  }

  // thread invariance of training
  stochinfer::AdamConfig adam;
  adam.lr = 1e-3;
  CneepModel<float> a(spec, 1, 1), b(spec, 1, 3);
  std::vector<float> pf(pix.begin(), pix.end());
  stochinfer::StateArray mf{pf.data(), stochinfer::StateType::float32, n_movies, n_frames, P};
  a.train(mf, segs, 5, 40, adam, 9);
  b.train(mf, segs, 5, 40, adam, 9);
  bool same = true;
  for (std::size_t j = 0; j < a.n_params(); ++j) same = same && a.params()[j] == b.params()[j];
  CHECK(same);
  return stochinfer_test::report();
}
