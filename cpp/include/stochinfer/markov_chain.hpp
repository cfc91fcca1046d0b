// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstdint>

#include "stochinfer/simulate.hpp"

namespace stochinfer {

/// Samples n_traj paths of a discrete-time Markov chain (e.g. the embedded jump
/// chain of the flashing ratchet). P: n_states x n_states row-stochastic,
/// row-major. The start state of path i is drawn from `initial` (a distribution
/// over states) with uniform_at(seed, initial_uniform, i, 0); jump n uses a
/// 53-bit uniform from Philox block n of the stream (seed, markov_jump, i), so small
/// jump probabilities are resolved. out: n_traj * (n_steps + 1) states.
/// Thread-count independent; throws std::invalid_argument on a bad P.
SimulationStatus sample_markov_chain(const double* P, int n_states, const double* initial,
                                     std::int64_t n_traj, std::int64_t n_steps, std::uint64_t seed,
                                     std::int32_t* out, int n_threads = 0,
                                     const std::atomic<bool>* cancel = nullptr);

}  // namespace stochinfer
