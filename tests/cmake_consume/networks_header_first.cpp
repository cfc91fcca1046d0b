// SPDX-License-Identifier: MIT
// The other include order (review, session 24): a network header, then the simulation loops
// (an inline namespace with its own `detail`), then more network headers. `detail::NnIsaCheck`
// in langevin_net.hpp was ambiguous here and the unit did not compile.
#include <stochinfer/neep.hpp>
#include <stochinfer/simulate_cpu.hpp>
#include <stochinfer/langevin_net.hpp>
#include <stochinfer/rneep.hpp>
#include <stochinfer/cneep.hpp>
#include <stochinfer/classifier.hpp>
#include <stochinfer/inferred_langevin.hpp>

bool networks_header_first() {
  stochinfer::MlpSpec spec;
  spec.state_dim = 1;
  stochinfer::NeepModel<double> net(spec, 2, 1);
  return stochinfer::nn_isa_supported() && net.n_params() > 0;
}
