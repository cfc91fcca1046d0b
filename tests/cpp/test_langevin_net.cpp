// SPDX-License-Identifier: MIT
// Langevin drift network from C++ without Python: regression of increments
// y = -2 x dt + sqrt(2 dt) xi recovers the drift -2x; Bayesian and ensemble
// networks; 1 and 2 threads give identical weights; per-member validation rows;
// one network shared by several threads.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "check.hpp"
#include "stochinfer/langevin_net.hpp"
#include "stochinfer/nn/bayes_mlp.hpp"
#include "stochinfer/rng.hpp"

using namespace stochinfer;

int main() {
  const std::int64_t n = 20000;
  const double dt = 0.01;
  std::vector<double> x(n), y(n);
  for (std::int64_t i = 0; i < n; ++i) {
    x[i] = normal_at(1, RngPurpose::user, 0, i);
    y[i] = -2.0 * x[i] * dt + std::sqrt(2 * dt) * normal_at(1, RngPurpose::user, 1, i);
  }
  RegressionData<double> data{x.data(), y.data(), n};
  std::vector<std::vector<std::int64_t>> rows(1);
  for (std::int64_t i = 0; i < n; ++i) rows[0].push_back(i);

  BayesMlpSpec net;
  net.in_dim = 1;
  net.out_dim = 1;
  net.hidden = 16;
  net.n_layers = 3;
  HeadSpec head;
  head.d = 1;
  head.scale = {2.0};
  head.pred_scale = dt;
  LangevinTrainConfig cfg;
  cfg.batch = 256;
  cfg.kl_weight = 0.01 / (n / 256);
  AdamConfig adam;
  adam.lr = 3e-3;
  cfg.optimizer = adam;

  for (int n_bayes : {2, 0}) {
    net.n_bayes = n_bayes;
    const int members = n_bayes ? 1 : 3;
    std::vector<double> weights[2];
    for (int threads = 1; threads <= 2; ++threads) {
      LangevinNet<double> model(net, head, members, 3, threads);
      const auto st = model.train(data, rows, 1500, cfg);
      CHECK(st.steps_done == 1500);
      weights[threads - 1].assign(model.params(), model.params() + model.n_params());
      const double pts[3] = {-1.0, 0.0, 1.0};
      const int S = n_bayes ? 50 : 0;
      std::vector<double> out(std::size_t(members) * (S ? S : 1) * 3);
      CHECK(model.predict(pts, 3, S, 0, out.data()));
      const int U = members * (S ? S : 1);
      for (int i = 0; i < 3; ++i) {
        double mean = 0;
        for (int u = 0; u < U; ++u) mean += out[std::size_t(u) * 3 + i];
        mean /= U;
        // slope standard error ≈ √(2/dt) / √n = 0.1: 0.5 is 5 SE
        CHECK(std::fabs(mean + 2.0 * pts[i]) < 0.5);
      }
    }
    CHECK(weights[0] == weights[1]);
    if (members > 1) {
      // nll per member on its own rows (out-of-bag validation; any lengths) equals that member's score on
      // them alone
      LangevinNet<double> model(net, head, members, 3, 2);
      model.train(data, rows, 200, cfg);
      std::vector<std::vector<std::int64_t>> own(members);
      for (int e = 0; e < members; ++e)
        for (std::int64_t i = e; i < n; i += 7 + e) own[e].push_back(i);
      own[2].resize(100);  // lengths differ: member 2 scores on far fewer rows
      const auto per_member = model.nll(data, own, 0, 0);
      for (int e = 0; e < members; ++e) CHECK(per_member[e] == model.nll(data, {own[e]}, 0, 0)[e]);
      CHECK(stochinfer_test::throws_invalid_argument([&] { model.nll(data, {{0, n}}, 0, 0); }));
    }
  }
  {
    // Predictions cache the posterior's weights; a checkpoint written through a kept pointer
    // after a prediction is seen once invalidate_posterior() (or set_params) says so.
    LangevinNet<double> model(net, head, 1, 42, 1);
    double* p = model.params();
    const std::vector<double> fresh(model.params(), model.params() + model.n_params());
    std::vector<double> other(fresh.size(), 0.1);
    const double x0 = 0.5;
    double y_fresh = 0, y_other = 0, y = 0;
    model.predict(&x0, 1, 0, 0, &y_fresh);
    model.set_params(other.data());
    model.predict(&x0, 1, 0, 0, &y_other);
    CHECK(y_other != y_fresh);
    std::copy(fresh.begin(), fresh.end(), p);  // through the pointer kept from before
    model.invalidate_posterior();
    model.predict(&x0, 1, 0, 0, &y);
    CHECK(y == y_fresh);
  }
  {
    // one network called from several threads at once: each call runs alone (call_mutex), so every
    // result equals the call made alone (the shared pool and posterior cache raced before)
    BayesMlpSpec bayes = net;
    bayes.n_bayes = 2;
    LangevinNet<double> model(bayes, head, 1, 7, 2);
    model.train(data, rows, 50, cfg);
    std::vector<double> pts(4000);
    for (std::size_t i = 0; i < pts.size(); ++i) pts[i] = normal_at(2, RngPurpose::user, 0, i);
    const int S = 20;
    std::vector<double> want(pts.size() * S);
    model.predict(pts.data(), std::int64_t(pts.size()), S, 9, want.data());
    std::vector<std::vector<double>> got(8, std::vector<double>(want.size()));
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        for (int r = 0; r < 3; ++r) {
          model.predict(pts.data(), std::int64_t(pts.size()), S, 9, got[t].data());
          if (t % 2) model.invalidate_posterior();  // forces the others to redraw the cached samples
        }
      });
    for (auto& th : threads) th.join();
    for (const auto& g : got) CHECK(g == want);
  }
  {
    // posterior_summary stops when cancelled (Ctrl-C from Python): nothing is computed after the flag
    const std::int64_t S = 5, n = 10000;
    std::vector<double> samples(S * n, 1.0), mean(n, -1.0), sd(n), lo(n), hi(n);
    std::atomic<bool> cancel{true};
    CHECK(!posterior_summary(samples.data(), S, n, 1, 0.025, 0.975, mean.data(), sd.data(), lo.data(), hi.data(), 2,
                             &cancel));
    CHECK(std::all_of(mean.begin(), mean.end(), [](double v) { return v == -1.0; }));
    cancel = false;
    CHECK(posterior_summary(samples.data(), S, n, 1, 0.025, 0.975, mean.data(), sd.data(), lo.data(), hi.data(), 2,
                            &cancel));
    CHECK(std::all_of(mean.begin(), mean.end(), [](double v) { return v == 1.0; }));
  }
  {
    // an Activation cast from an out-of-range integer is refused (the layers' switch left it linear)
    BayesMlpSpec bad = net;
    bad.activation = static_cast<Activation>(42);
    CHECK(stochinfer_test::throws_invalid_argument([&] { bad.validate(); }));
  }

  // the size check's workspace (Python refuses a network before building it): the network's
  // part is what reserve allocates; the rest is the worker's labels, dout, dacc and gd
  for (const int bayes : {0, 2}) {
    BayesMlpSpec w;
    w.in_dim = 3;
    w.out_dim = 6;
    w.hidden = 24;
    w.n_layers = 4;
    w.n_bayes = bayes;
    nn::BayesMlp<float> mlp(w);
    nn::BayesMlp<float>::Workspace ws;
    const int cols = 70;
    mlp.reserve(ws, cols);
    std::size_t held = std::size_t(ws.x0.size() + ws.out.size() + ws.g0.size() + ws.g1.size());
    for (const auto& m : ws.act) held += std::size_t(m.size());
    CHECK(held == nn::BayesMlp<float>::workspace_values(w, cols));
    const std::size_t dense = 3 * 24 + 24 + 2 * (24 * 24 + 24) + 24 * 6 + 6;
    CHECK(mlp.n_dense() == dense);
    CHECK(LangevinNet<float>::workspace_values(w) ==
          nn::BayesMlp<float>::workspace_values(w, 256) + 256 * (2 * 6 + 24) + dense);
  }
  return stochinfer_test::report();
}
