// SPDX-License-Identifier: MIT
// A consumer that uses Eigen itself beside the network classes, compiled with its own (default)
// flags, and includes the public headers with the simulation loops before the networks.
// Found by review (session 24): Eigen's allocator follows the -m flags, and the library's network
// code is built with wider ones, so a matrix allocated by one copy of an Eigen template and freed by
// the other corrupted the heap (SIGSEGV in ~NeepModel); and with simulate_cpu.hpp first,
// `detail::NnIsaCheck` was ambiguous (or landed in the ISA namespace's detail, an undefined symbol).
#include <stochinfer/simulate_cpu.hpp>  // an inline ISA namespace with its own `detail`, first
#include <stochinfer/neep.hpp>
#include <stochinfer/langevin_net.hpp>
#include <stochinfer/rneep.hpp>
#include <stochinfer/cneep.hpp>
#include <stochinfer/classifier.hpp>
#include <stochinfer/inferred_langevin.hpp>
#include <stochinfer/first_passage.hpp>
#include <stochinfer/movies/render.hpp>

#include <Eigen/Dense>

#include <cmath>
#include <cstdio>
#include <vector>

bool networks_header_first();  // networks_header_first.cpp: the other include order

int main() {
  if (!networks_header_first()) return 1;
  std::vector<Eigen::MatrixXf> mats;
  mats.assign(4, Eigen::MatrixXf::Ones(8, 8));  // this unit's instantiation of the Eigen/std templates
  for (int k = 0; k < 3; ++k) {
    stochinfer::MlpSpec spec;
    spec.state_dim = 2;
    stochinfer::NeepModel<float> net(spec, 1, 1);  // the library's instantiations, other flags
    mats.assign(4 + k, Eigen::MatrixXf::Ones(8 + k, 8));
  }
  stochinfer::FirstPassageConfig fp;
  fp.n_walkers = 64;
  fp.max_steps = 100000;
  std::vector<double> times(64);
  stochinfer::first_passage_times(fp, times.data(), 1);
  double sum = 0.0;
  for (const auto& m : mats) sum += m.sum();
  std::printf("eigen beside networks: sum %.0f, first passage %s\n", sum, std::isfinite(times[0]) ? "ok" : "censored");
  return 0;
}
