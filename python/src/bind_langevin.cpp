// SPDX-License-Identifier: MIT
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <string>
#include <vector>

#include "bind_optimizer_state.hpp"
#include "interrupt.hpp"
#include "lock_model.hpp"
#include "stochinfer/langevin_net.hpp"

namespace py = pybind11;
using stochinfer::python::with_model;

namespace {

template <class T>
using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;
using Rows = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

/// Inputs (n, in_dim) and labels (n, out_dim) checked against the network.
template <class T>
stochinfer::RegressionData<T> regression_data(const stochinfer::LangevinNet<T>& md, const Arr<T>& x,
                                              const Arr<T>& y) {
  const int din = md.net_spec().in_dim, dout = md.net_spec().out_dim;
  if (x.ndim() != 2 || x.shape(1) != din)
    throw py::value_error("x must have shape (n, " + std::to_string(din) + ")");
  if (y.ndim() != 2 || y.shape(1) != dout || y.shape(0) != x.shape(0))
    throw py::value_error("y must have shape (" + std::to_string(x.shape(0)) + ", " + std::to_string(dout) + ")");
  return {x.data(), y.data(), static_cast<std::int64_t>(x.shape(0))};
}

/// rows: (n,) shared by every member or (n_members, n).
std::vector<std::vector<std::int64_t>> member_rows(const Rows& r) {
  if (r.ndim() == 1) return {std::vector<std::int64_t>(r.data(), r.data() + r.shape(0))};
  if (r.ndim() != 2) throw py::value_error("rows must have shape (n,) or (n_members, n)");
  std::vector<std::vector<std::int64_t>> out(r.shape(0));
  for (py::ssize_t e = 0; e < r.shape(0); ++e)
    out[e].assign(r.data() + e * r.shape(1), r.data() + (e + 1) * r.shape(1));
  return out;
}

/// rows for scoring: as member_rows, or a list of 1-D arrays, one per member, of any lengths.
std::vector<std::vector<std::int64_t>> scored_rows(const py::object& rows) {
  const bool listed = py::isinstance<py::list>(rows) || py::isinstance<py::tuple>(rows);
  if (!listed || (py::len(rows) > 0 && py::isinstance<py::int_>(rows[py::int_(0)])))  // an array, or one list of ints
    return member_rows(rows.cast<Rows>());
  std::vector<std::vector<std::int64_t>> out;
  for (const auto& item : rows) {
    const auto r = Rows::ensure(item);
    if (!r || r.ndim() != 1) throw py::value_error("rows: a list must hold one 1-D array of row indices per member");
    out.emplace_back(r.data(), r.data() + r.shape(0));
  }
  if (out.empty()) throw py::value_error("rows: the list is empty");
  return out;
}

/// optimizer: "adam" (decoupled weight decay, AdamW) or "sgd" (momentum; weight decay as
/// torch.optim.SGD's L2 term).
stochinfer::LangevinTrainConfig train_config(int batch, int n_samples, double kl_weight, const std::string& kl,
                                             double lr, double weight_decay, std::uint64_t seed,
                                             const std::string& optimizer = "adam", double momentum = 0.9) {
  stochinfer::LangevinTrainConfig c;
  c.batch = batch;
  c.n_samples = n_samples;
  c.kl_weight = kl_weight;
  if (kl == "elbo")
    c.kl_gradient = stochinfer::KlGradient::elbo;
  else if (kl == "detached")
    c.kl_gradient = stochinfer::KlGradient::detached;
  else
    throw py::value_error("kl_gradient must be 'elbo' or 'detached', got '" + kl + "'");
  if (optimizer == "adam") {
    stochinfer::AdamConfig a;
    a.lr = lr;
    a.weight_decay = weight_decay;
    a.decoupled = true;
    c.optimizer = a;
  } else if (optimizer == "sgd") {
    c.optimizer = stochinfer::SgdConfig{lr, momentum, 0.0, weight_decay, false};
  } else {
    throw py::value_error("optimizer must be 'adam' or 'sgd', got '" + optimizer + "'");
  }
  c.seed = seed;
  return c;
}

stochinfer::BayesMlpSpec bayes_spec(int in_dim, int out_dim, int hidden, int n_layers, int n_bayes) {
  stochinfer::BayesMlpSpec s;
  s.in_dim = in_dim;
  s.out_dim = out_dim;
  s.hidden = hidden;
  s.n_layers = n_layers;
  s.n_bayes = n_bayes;
  return s;
}

template <class T>
void bind_net(py::module_& m, const char* name) {
  using Net = stochinfer::LangevinNet<T>;
  py::class_<Net> cls(m, name, "Langevin drift/diffusion network or deep ensemble (see stochinfer.langevin).");
  cls.def(py::init([](int in_dim, int out_dim, int hidden, int n_layers, int n_bayes, const std::string& activation,
                      double prior_std, double rho_init, const std::string& head, int d, std::vector<double> mean,
                      std::vector<double> scale, double pred_scale, double diag_eps, int n_members,
                      std::uint64_t seed, int n_threads) {
            stochinfer::BayesMlpSpec s = bayes_spec(in_dim, out_dim, hidden, n_layers, n_bayes);
            s.activation = stochinfer::activation_from_name(activation);
            s.prior_std = prior_std;
            s.rho_init = rho_init;
            stochinfer::HeadSpec h;
            if (head == "affine")
              h.kind = stochinfer::HeadKind::affine;
            else if (head == "cholesky")
              h.kind = stochinfer::HeadKind::cholesky;
            else
              throw py::value_error("head must be 'affine' or 'cholesky', got '" + head + "'");
            h.d = d;
            h.mean = std::move(mean);
            h.scale = std::move(scale);
            h.pred_scale = pred_scale;
            h.diag_eps = diag_eps;
            return Net(s, h, n_members, seed, n_threads);
          }),
          py::arg("in_dim"), py::arg("out_dim"), py::arg("hidden"), py::arg("n_layers"), py::arg("n_bayes"),
          py::arg("activation"), py::arg("prior_std"), py::arg("rho_init"), py::arg("head"), py::arg("d"),
          py::arg("mean"), py::arg("scale"), py::arg("pred_scale"), py::arg("diag_eps"), py::arg("n_members"),
          py::arg("seed"), py::arg("n_threads") = 0)
      .def_static(
          "workspace_values",
          [](int in_dim, int out_dim, int hidden, int n_layers, int n_bayes) {
            return Net::workspace_values(bayes_spec(in_dim, out_dim, hidden, n_layers, n_bayes));
          },
          py::arg("in_dim"), py::arg("out_dim"), py::arg("hidden"), py::arg("n_layers"), py::arg("n_bayes"),
          "Values each worker thread's scratch holds for this network.")
      .def_property_readonly("n_params", &Net::n_params)
      .def_property_readonly("n_params_member", &Net::n_params_member)
      .def_property_readonly("n_members", &Net::n_members)
      .def(
          "set_linear_base",
          [](Net& md, const std::vector<double>& coeffs, const std::vector<double>& chol, int degree) {
            with_model(md, [&] { md.set_linear_base(coeffs, chol, degree); });
          },
          py::arg("coeffs"), py::arg("chol") = std::vector<double>{}, py::arg("degree") = 1,
           "Polynomial base field of the affine head: member e adds m(x)·A_e, m(x) the monomials of the "
           "input up to `degree` (1–3; degree 1: [1, x]; order of linear.polynomial_features) and A_e the "
           "n_monomials x out_dim row-major block e of coeffs (field units); [] removes it. chol: optional "
           "lower Cholesky factors (q x q per member, q = n_monomials out_dim) of the covariance of A_e's "
           "entries, sampled in posterior predictions.")
      // copies, converted to Python after the unlock
      .def_property_readonly("linear_base_chol",
                             [](const Net& md) { return with_model(md, [&] { return md.linear_base_chol(); }); })
      .def_property_readonly("linear_base_degree",
                             [](const Net& md) { return with_model(md, [&] { return md.linear_base_degree(); }); })
      .def_property_readonly("linear_base",
                             [](const Net& md) { return with_model(md, [&] { return md.linear_base(); }); })
      .def("reset_optimizer",
           [](Net& md) {
             with_model(md, [&] {
               std::fill(md.adam_m(), md.adam_m() + md.n_params(), T(0));
               std::fill(md.adam_v(), md.adam_v() + md.n_params(), T(0));
               md.adam_step() = 0;
               md.batch_draws() = 0;
             });
           },
           "Zeroes the optimiser state (Adam moments or SGD momentum), the update counter and the minibatch "
           "counter (a refit replays the keys).")
      .def(
          "zero_output_layer", [](Net& md) { with_model(md, [&] { md.zero_output_layer(); }); },
           "Zeroes every member's output layer: the network starts as its linear base.")
      .def(
          "train",
          [](Net& md, const Arr<T>& x, const Arr<T>& y, const Rows& rows, std::int64_t n_steps, int batch,
             int n_samples, double kl_weight, const std::string& kl, double lr, double weight_decay,
             std::uint64_t seed, const std::string& optimizer, double momentum) {
            const auto d = regression_data(md, x, y);
            const auto r = member_rows(rows);
            const auto c = train_config(batch, n_samples, kl_weight, kl, lr, weight_decay, seed, optimizer, momentum);
            std::atomic<bool> cancel{false};
            const auto st =
                stochinfer::python::run_interruptible([&] { return md.train(d, r, n_steps, c, &cancel); }, cancel);
            return py::make_tuple(st.steps_done, st.mean_loss);
          },
          py::arg("x"), py::arg("y"), py::arg("rows"), py::arg("n_steps"), py::arg("batch"), py::arg("n_samples"),
          py::arg("kl_weight"), py::arg("kl_gradient"), py::arg("lr"), py::arg("weight_decay"), py::arg("seed"),
          py::arg("optimizer") = "adam", py::arg("momentum") = 0.9,
          "Optimiser updates (optimizer 'adam' or 'sgd'); returns (steps_done, mean objective).")
      .def(
          "objective_and_grad",
          [](Net& md, const Arr<T>& x, const Arr<T>& y, const Rows& rows, int n_samples, double kl_weight,
             const std::string& kl, std::uint64_t seed, std::int64_t step) {
            const auto d = regression_data(md, x, y);
            const auto r = member_rows(rows);
            const auto c = train_config(1, n_samples, kl_weight, kl, 1e-3, 0.0, seed);
            py::array_t<T> g(static_cast<py::ssize_t>(md.n_params()));
            T* gp = g.mutable_data();
            const double loss = with_model(md, [&] { return md.objective_and_grad(d, r, c, step, gp); });
            return py::make_tuple(loss, g);
          },
          py::arg("x"), py::arg("y"), py::arg("rows"), py::arg("n_samples"), py::arg("kl_weight"),
          py::arg("kl_gradient"), py::arg("seed"), py::arg("step"))
      .def(
          "nll",
          [](Net& md, const Arr<T>& x, const Arr<T>& y, const py::object& rows, int n_samples, std::uint64_t seed) {
            const auto d = regression_data(md, x, y);
            const auto r = scored_rows(rows);
            std::atomic<bool> cancel{false};
            return stochinfer::python::run_interruptible([&] { return md.nll(d, r, n_samples, seed, &cancel); },
                                                         cancel);
          },
          py::arg("x"), py::arg("y"), py::arg("rows"), py::arg("n_samples"), py::arg("seed"),
          "Mean NLL per member over the rows: (n,) for all, or (n_members, n) or a list of n_members 1-D "
          "arrays (any lengths), member e on rows[e] (n_samples = 0: mean weights).")
      .def(
          "kl_mean", [](const Net& md, int member) { return with_model(md, [&] { return md.kl_mean(member); }); },
          py::arg("member") = 0)
      .def(
          "predict",
          [](Net& md, const Arr<T>& x, int n_samples, std::uint64_t seed, bool paired) {
            const int din = md.net_spec().in_dim, mo = md.net_spec().out_dim;
            const bool bayes = md.net_spec().n_bayes > 0;
            const py::ssize_t S = md.n_members() * ((n_samples == 0 || !bayes) ? 1 : n_samples);
            if (!paired && (x.ndim() != 2 || x.shape(1) != din))
              throw py::value_error("x must have shape (n, " + std::to_string(din) + ")");
            if (paired && (x.ndim() != 3 || x.shape(0) != S || x.shape(2) != din))
              throw py::value_error("paired x must have shape (" + std::to_string(S) + ", n, " +
                                    std::to_string(din) + ")");
            const py::ssize_t n = x.shape(x.ndim() - 2);
            py::array_t<T> out({S, n, py::ssize_t(mo)});
            T* o = out.mutable_data();
            std::atomic<bool> cancel{false};
            stochinfer::python::run_interruptible(
                [&] { return md.predict(x.data(), n, n_samples, seed, o, &cancel, paired); }, cancel);
            return out;
          },
          py::arg("x"), py::arg("n_samples"), py::arg("seed"), py::arg("paired") = false,
          "Fields (n_members * samples, n, out_dim) for posterior weight samples (0: mean weights); paired: "
          "x is (n_members * samples, n, in_dim), block u evaluated by sample u only.");
  stochinfer::python::bind_optimizer_state<Net>(cls);
}

template <class T>
void bind_summary(py::module_& m) {
  m.def(
      "posterior_summary",
      [](const Arr<T>& s, double q_lo, double q_hi, int n_threads) {
        if (s.ndim() != 3) throw py::value_error("samples must have shape (n_samples, n, m)");
        py::array_t<double> mean({s.shape(1), s.shape(2)}), sd({s.shape(1), s.shape(2)}),
            lo({s.shape(1), s.shape(2)}), hi({s.shape(1), s.shape(2)});
        double *a = mean.mutable_data(), *b = sd.mutable_data(), *c = lo.mutable_data(), *d = hi.mutable_data();
        std::atomic<bool> cancel{false};
        stochinfer::python::run_interruptible(
            [&] {
              return stochinfer::posterior_summary<T>(s.data(), s.shape(0), s.shape(1), s.shape(2), q_lo, q_hi, a,
                                                      b, c, d, n_threads, &cancel);
            },
            cancel);
        return py::make_tuple(mean, sd, lo, hi);
      },
      py::arg("samples"), py::arg("q_lo"), py::arg("q_hi"), py::arg("n_threads") = 0,
      "Per-point mean, std (ddof 1) and quantiles of samples (n_samples, n, m). Stops on Ctrl-C.");
}

}  // namespace

void bind_langevin(py::module_& m) {
  bind_net<float>(m, "LangevinNet32");
  bind_net<double>(m, "LangevinNet64");
  bind_summary<double>(m);
  bind_summary<float>(m);
}
