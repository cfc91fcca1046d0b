// SPDX-License-Identifier: MIT
#pragma once
// Free functions compiled for nn_isa() (first_passage.cpp, movies/render.cpp: their scalar
// Box–Muller needs FMA to be fast). The public first_passage_times and render_frames are
// defined in nn/isa.cpp, built for the baseline instruction set: they check the CPU before
// calling these, so an older node gets an exception naming the rebuild, not SIGILL.
#include "stochinfer/first_passage.hpp"
#include "stochinfer/movies/render.hpp"

namespace stochinfer {
namespace nn_isa_code {
SimulationStatus first_passage_times(const FirstPassageConfig& cfg, double* times, int n_threads,
                                     const std::atomic<bool>* cancel);
SimulationStatus render_frames(const movies::RenderConfig& cfg, const double* states, std::int64_t n_movies,
                               std::int64_t n_frames, const std::int64_t* pairs, std::int64_t n_pairs, void* out,
                               int n_threads, const std::atomic<bool>* cancel);
}  // namespace nn_isa_code
}  // namespace stochinfer
