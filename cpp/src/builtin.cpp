// SPDX-License-Identifier: MIT
#include "stochinfer/builtin.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace stochinfer {

namespace dispatch_generic {
SimulationStatus run(const BuiltinModel&, const SimulationConfig&, float*);
SimulationStatus run(const BuiltinModel&, const SimulationConfig&, double*);
}  // namespace dispatch_generic
#ifdef STOCHINFER_HAVE_AVX2
namespace dispatch_avx2 {
SimulationStatus run(const BuiltinModel&, const SimulationConfig&, float*);
SimulationStatus run(const BuiltinModel&, const SimulationConfig&, double*);
}  // namespace dispatch_avx2
#endif

namespace {
struct ModelInfo {
  const char* name;
  bool underdamped;
  int fixed_size;  // 0: any size >= 1
  int n_params;    // -1: depends on size (see expected_params)
};
constexpr ModelInfo kModels[] = {
    {"linear_ou", false, 0, -1},     {"bead_spring", false, 0, -1},
    {"nonlinear", false, 0, -1},     {"inhomogeneous", false, 0, -1},
    {"hodgkin_huxley", false, 4, 9}, {"van_der_pol", true, 0, 4},
    {"brownian_carnot", true, 1, 4},
};

const ModelInfo& info(const BuiltinModel& m) {
  for (const auto& i : kModels)
    if (m.name == i.name) return i;
  throw std::invalid_argument("model: unknown built-in model '" + m.name + "'");
}

std::size_t expected_params(const BuiltinModel& m) {
  const std::size_t d = static_cast<std::size_t>(m.size);
  if (m.name == "linear_ou") return 2 * d * d;
  if (m.name == "bead_spring") return 1 + d;
  if (m.name == "nonlinear") return 1 + 2 * d * d;
  if (m.name == "inhomogeneous") return 2 + d * d;
  return static_cast<std::size_t>(info(m).n_params);
}

bool use_avx2() {
#ifdef STOCHINFER_HAVE_AVX2
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
#else
  return false;
#endif
}

template <class T>
SimulationStatus dispatch(const BuiltinModel& m, const SimulationConfig& c, T* out) {
  validate(m);
#ifdef STOCHINFER_HAVE_AVX2
  if (use_avx2()) return dispatch_avx2::run(m, c, out);
#endif
  return dispatch_generic::run(m, c, out);
}
}  // namespace

bool is_underdamped(const BuiltinModel& m) { return info(m).underdamped; }

int state_dim(const BuiltinModel& m) {
  const ModelInfo& i = info(m);
  const int size = i.fixed_size ? (m.name == "hodgkin_huxley" ? 4 : 1) : m.size;
  return i.underdamped ? 2 * size : size;
}

void validate(const BuiltinModel& m) {
  const ModelInfo& i = info(m);
  if (i.fixed_size && m.size != i.fixed_size)
    throw std::invalid_argument("model: '" + m.name + "' has size " + std::to_string(i.fixed_size));
  if (m.size < 1) throw std::invalid_argument("model: size must be >= 1");
  if (m.params.size() != expected_params(m))
    throw std::invalid_argument("model: '" + m.name + "' of size " + std::to_string(m.size) +
                                " takes " + std::to_string(expected_params(m)) + " parameters, got " +
                                std::to_string(m.params.size()));
  for (double v : m.params)
    if (!(v == v) || v - v != 0.0) throw std::invalid_argument("model: parameters must be finite");
}

SimulationStatus simulate_builtin(const BuiltinModel& m, const SimulationConfig& c, float* out) {
  validate(m);
  for (double v : m.params)  // a parameter beyond float's range would integrate as inf
    if (std::fabs(v) > double(std::numeric_limits<float>::max()))
      throw std::invalid_argument("model: parameters must be within float's range (|p| <= 3.4e38) for a float "
                                  "simulation; simulate in double");
  return dispatch(m, c, out);
}
SimulationStatus simulate_builtin(const BuiltinModel& m, const SimulationConfig& c, double* out) {
  return dispatch(m, c, out);
}

const char* cpu_isa() { return use_avx2() ? "avx2" : "generic"; }

}  // namespace stochinfer
