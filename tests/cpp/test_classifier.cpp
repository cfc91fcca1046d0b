// SPDX-License-Identifier: MIT
// ClassifierModel<double> without Python: every loss's whole-network gradient
// against central finite differences; SGD with momentum on a one-row training set
// against the update written out; training on 1 and 3 threads gives identical weights.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "check.hpp"
#include "stochinfer/classifier.hpp"
#include "stochinfer/rng.hpp"

using stochinfer::ClassifierModel;

int main() {
  const std::int64_t n = 30, d = 4;
  const int k = 3;
  std::vector<double> x(std::size_t(n * d));
  std::vector<int> y(n);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = stochinfer::normal_at(5, stochinfer::RngPurpose::user, 0, i);
  for (std::int64_t i = 0; i < n; ++i) y[i] = int(i % k);
  stochinfer::LabelledTable table{{x.data(), stochinfer::StateType::float64, n, 1, d}, y.data()};
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 2; i < n; ++i) rows.push_back(i);

  stochinfer::MlpSpec spec;
  spec.state_dim = int(d);
  spec.n_states = 1;
  spec.hidden = 6;
  spec.n_layers = 2;
  spec.out_dim = k;
  spec.activation = stochinfer::Activation::tanh;
  for (auto kind : {stochinfer::ClassLoss::cross_entropy, stochinfer::ClassLoss::mae, stochinfer::ClassLoss::gce,
                    stochinfer::ClassLoss::sce, stochinfer::ClassLoss::elr, stochinfer::ClassLoss::tgce}) {
    ClassifierModel<double> model(spec, stochinfer::ClassLossSpec{kind, 0.5, 0.4, 0.7, 2.5, 0.6, 0.3}, 11, 2);
    if (kind == stochinfer::ClassLoss::tgce) {  // pruned rows: weight 0 on every third
      auto& w = model.row_weights();
      w.assign(n, 1.0);
      for (std::int64_t i = 0; i < n; i += 3) w[i] = 0.0;
    }
    if (kind == stochinfer::ClassLoss::elr) {  // running targets: rows of a probability simplex, held constant
      auto& t = model.elr_targets();
      t.resize(std::size_t(n) * k);
      for (std::int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int c = 0; c < k; ++c) s += t[i * k + c] = stochinfer::uniform_at(8, stochinfer::RngPurpose::user, 1, i * k + c);
        for (int c = 0; c < k; ++c) t[i * k + c] /= s;
      }
    }
    const std::size_t np = model.n_params();
    std::vector<double> grad(np), scratch(np);
    model.loss_and_grad(table, rows, grad.data());
    double* p = model.params();
    double worst = 0;
    for (std::size_t j = 0; j < np; ++j) {
      const double keep = p[j], h = 1e-6;
      p[j] = keep + h;
      const double up = model.loss_and_grad(table, rows, scratch.data());
      p[j] = keep - h;
      const double down = model.loss_and_grad(table, rows, scratch.data());
      p[j] = keep;
      worst = std::max(worst, std::fabs((up - down) / (2 * h) - grad[j]) / (1e-8 + 1e-6 * std::fabs(grad[j])));
    }
    std::printf("loss %d: %zu parameters, worst error / (1e-8 + 1e-6 |g|) = %.2f\n", int(kind), np, worst);
    CHECK(worst < 1);
  }

  // SGD with momentum 0.9 and weight decay on one row: buf = g, then 0.9 buf + g
  ClassifierModel<double> one(spec, {}, 2, 1);
  const std::size_t np = one.n_params();
  std::vector<double> p(one.params(), one.params() + np), buf(np), g(np);
  const std::vector<std::int64_t> row{4};
  stochinfer::SgdConfig sgd;
  sgd.lr = 0.1;
  sgd.weight_decay = 0.01;
  double worst = 0;
  for (int t = 1; t <= 3; ++t) {
    one.loss_and_grad(table, row, g.data());
    one.train(table, row, 1, 5, sgd, 3);
    for (std::size_t j = 0; j < np; ++j) {
      const double gj = g[j] + 0.01 * p[j];
      buf[j] = t == 1 ? gj : 0.9 * buf[j] + gj;
      p[j] -= 0.1 * buf[j];
      worst = std::max(worst, std::fabs(p[j] - one.params()[j]));
    }
  }
  std::printf("sgd: worst parameter difference %.2e\n", worst);
  CHECK(worst < 1e-13);

  ClassifierModel<float> a(spec, {}, 1, 1), b(spec, {}, 1, 3);
  std::vector<float> xf(x.begin(), x.end());
  stochinfer::LabelledTable tf{{xf.data(), stochinfer::StateType::float32, n, 1, d}, y.data()};
  // batch 9000 = 3 chunks of 4096 rows (drawn with replacement from 28): the chunks
  // run on different threads of b
  a.train(tf, rows, 7, 9000, sgd, 9);
  b.train(tf, rows, 7, 9000, sgd, 9);
  bool same = true;
  for (std::size_t j = 0; j < a.n_params(); ++j) same = same && a.params()[j] == b.params()[j];
  CHECK(same);
  return stochinfer_test::report();
}
