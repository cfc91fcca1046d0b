// SPDX-License-Identifier: MIT
// Built with baseline flags: it must run on any x86-64 to say whether the
// network code (built for STOCHINFER_NN_ISA_NAME) can.
#include <cstring>
#include <stdexcept>
#include <string>

#include "stochinfer/nn_isa.hpp"
#include "../nn_isa_code.hpp"

#ifndef STOCHINFER_NN_ISA_NAME
#define STOCHINFER_NN_ISA_NAME "baseline"
#endif

namespace stochinfer {

const char* nn_isa() { return STOCHINFER_NN_ISA_NAME; }

bool nn_isa_supported() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (std::strcmp(STOCHINFER_NN_ISA_NAME, "avx512") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  if (std::strcmp(STOCHINFER_NN_ISA_NAME, "avx2") == 0)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return true;
}

SimulationStatus first_passage_times(const FirstPassageConfig& cfg, double* times, int n_threads,
                                     const std::atomic<bool>* cancel) {
  NnIsaCheck check;
  return nn_isa_code::first_passage_times(cfg, times, n_threads, cancel);
}

SimulationStatus movies::render_frames(const RenderConfig& cfg, const double* states, std::int64_t n_movies,
                                       std::int64_t n_frames, const std::int64_t* pairs, std::int64_t n_pairs,
                                       void* out, int n_threads, const std::atomic<bool>* cancel) {
  NnIsaCheck check;
  return nn_isa_code::render_frames(cfg, states, n_movies, n_frames, pairs, n_pairs, out, n_threads, cancel);
}

NnIsaCheck::NnIsaCheck() {
  if (!nn_isa_supported())
    throw std::runtime_error(std::string("stochinfer's network code was built for ") + nn_isa() +
                             " instructions, which this CPU lacks; rebuild with -DSTOCHINFER_NN_ISA=avx2 or baseline "
                             "(Python: pip install . -Ccmake.define.STOCHINFER_NN_ISA=baseline)");
}

}  // namespace stochinfer
