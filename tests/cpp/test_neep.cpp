// SPDX-License-Identifier: MIT
// NEEP from C++ without Python: an irreversible 3-state cycle embedded as
// tokens, whose EP per step is known exactly; training must approach it, and
// 1 and 2 threads must give identical weights.
#include <cmath>
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "stochinfer/neep.hpp"
#include "stochinfer/nn/mlp.hpp"
#include "stochinfer/rng.hpp"

using namespace stochinfer;

int main() {
  // Cycle 0 -> 1 -> 2 -> 0 with probability p forward, 1 - p backward: uniform
  // stationary law, EP per step (2p - 1) ln(p / (1 - p)).
  const double p = 0.7;
  const double exact = (2 * p - 1) * std::log(p / (1 - p));
  const std::int64_t L = 200000;
  std::vector<int> tokens(L);
  int s = 0;
  for (std::int64_t t = 0; t < L; ++t) {
    tokens[t] = s;
    s = (s + (uniform_at(42, RngPurpose::user, 0, t) < p ? 1 : 2)) % 3;
  }
  StateArray data{tokens.data(), StateType::int32, 1, L, 1};
  const std::vector<Segment> train{{0, 0, L / 2}}, test{{0, L / 2, L}};

  MlpSpec spec;
  spec.n_tokens = 3;
  spec.embed_dim = 8;
  spec.hidden = 16;
  spec.n_layers = 1;
  spec.activation = Activation::silu;
  AdamConfig adam;
  adam.lr = 3e-3;

  std::vector<float> weights[2];
  for (int threads = 1; threads <= 2; ++threads) {
    NeepModel<float> net(spec, 1, threads);
    const auto st = net.train(data, train, 400, 512, adam, 7);
    CHECK(st.steps_done == 400);
    weights[threads - 1].assign(net.params(), net.params() + net.n_params());
    std::vector<double> ds(L / 2 - 1);
    CHECK(net.delta_s(data, test, ds.data()));
    double mean = 0;
    for (double d : ds) mean += d;
    mean /= double(ds.size());
    // 10^5 steps, per-step ΔS = ±0.85: standard error of the mean ≈ 0.0025; 4 SE
    CHECK(std::fabs(mean - exact) < 0.01);
  }
  CHECK(weights[0] == weights[1]);

  {  // (C++ review, session 34) negative n_steps and a NaN or zero input transform were accepted
    MlpSpec cont;
    cont.state_dim = 2;
    cont.hidden = 8;
    cont.n_layers = 1;
    NeepModel<float> net(cont, 1, 1);
    using stochinfer_test::throws_invalid_argument;
    CHECK(throws_invalid_argument([&] { net.set_input_transform({0.0, std::nan("")}, {1.0, 1.0}); }));
    CHECK(throws_invalid_argument([&] { net.set_input_transform({0.0, 0.0}, {1.0, 0.0}); }));
    CHECK(throws_invalid_argument([&] { net.set_input_transform({0.0, 0.0}, {1.0, INFINITY}); }));
    net.set_input_transform({0.5, -0.5}, {2.0, -1.0});
    NeepModel<float> tok(spec, 1, 1);
    CHECK(throws_invalid_argument([&] { tok.train(data, train, -1, 16, adam, 7); }));
    CHECK(tok.train(data, train, 0, 16, adam, 7).steps_done == 0);
  }

  // the size check's workspace (Python refuses a model before building it) is what reserve allocates
  for (const Activation act : {Activation::silu, Activation::elu}) {
    for (const int tokens : {0, 3}) {
      MlpSpec w;
      w.state_dim = tokens ? 1 : 5;
      w.n_tokens = tokens;
      w.embed_dim = tokens ? 8 : 0;
      w.hidden = 24;
      w.n_layers = 3;
      w.activation = act;
      nn::Mlp<float> mlp(w);
      nn::Mlp<float>::Workspace ws;
      const int cols = 70;
      mlp.reserve(ws, cols);
      std::size_t held = std::size_t(ws.x0.size() + ws.out.size() + ws.g0.size() + ws.g1.size()) + ws.tokens.size();
      for (const auto& m : ws.pre) held += std::size_t(m.size());
      for (const auto& m : ws.act) held += std::size_t(m.size());
      CHECK(held == nn::Mlp<float>::workspace_values(w, cols));
    }
  }
  return stochinfer_test::report();
}
