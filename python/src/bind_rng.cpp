// SPDX-License-Identifier: MIT
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <limits>
#include <string>

#include "stochinfer/rng.hpp"

namespace py = pybind11;
using namespace stochinfer;

namespace {
RngPurpose parse_purpose(const std::string& s) {
  if (s == "integrator_noise") return RngPurpose::integrator_noise;
  if (s == "initial_state") return RngPurpose::initial_state;
  if (s == "markov_jump") return RngPurpose::markov_jump;
  if (s == "user") return RngPurpose::user;
  if (s == "initial_uniform") return RngPurpose::initial_uniform;
  if (s == "diffusion_base_sample") return RngPurpose::diffusion_base_sample;
  throw py::value_error(
      "purpose: integrator_noise, initial_state, initial_uniform, markov_jump, user or diffusion_base_sample");
}

// Sizes of a normals/uniforms request: streams are read in int-sized runs, and the
// stream key holds 56 bits of trajectory index.
void check_stream_request(std::uint64_t traj_offset, std::int64_t n_traj, std::int64_t n_components) {
  if (n_traj < 1 || n_components < 1) throw py::value_error("n_traj and n_components must be >= 1");
  if (n_components > std::numeric_limits<int>::max()) throw py::value_error("n_components must be < 2**31");
  if (traj_offset >= (std::uint64_t{1} << 56) || std::uint64_t(n_traj) > (std::uint64_t{1} << 56) - traj_offset)
    throw py::value_error("traj_offset + n_traj must be <= 2**56 (the stream key's trajectory field)");
}
}  // namespace

void bind_rng(py::module_& m) {
  m.def(
      "philox4x32_10",
      [](std::uint32_t c0, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3, std::uint32_t k0,
         std::uint32_t k1) {
        std::uint32_t c[4] = {c0, c1, c2, c3};
        philox4x32_10(c, k0, k1);
        return py::make_tuple(c[0], c[1], c[2], c[3]);
      },
      "Raw Philox4x32-10 block (for known-answer tests).");
  m.def(
      "normals",
      [](std::uint64_t seed, const std::string& purpose, std::uint64_t traj_offset,
         std::int64_t n_traj, std::uint64_t step, std::int64_t n_components) {
        check_stream_request(traj_offset, n_traj, n_components);
        const RngPurpose p = parse_purpose(purpose);
        py::array_t<float> out({n_traj, n_components});
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          for (std::int64_t i = 0; i < n_traj; ++i) {
            NormalStream<std::uint32_t> s = normal_stream(seed, p, traj_offset + i);
            s.seek(step * static_cast<std::uint64_t>(n_components));
            s.read(o + i * n_components, static_cast<int>(n_components));
          }
        }
        return out;
      },
      py::arg("seed"), py::arg("purpose"), py::arg("traj_offset"), py::arg("n_traj"),
      py::arg("step"), py::arg("n_components"),
      "Standard normals (float32) of trajectories traj_offset .. traj_offset + n_traj - 1: "
      "numbers step*n_components .. (step+1)*n_components - 1 of each stream, i.e. what an "
      "integrator with n_components noise components reads at integration step `step`.");
  m.def(
      "uniforms",
      [](std::uint64_t seed, const std::string& purpose, std::uint64_t traj_offset,
         std::int64_t n_traj, std::uint64_t step, std::int64_t n_components) {
        check_stream_request(traj_offset, n_traj, n_components);
        const RngPurpose p = parse_purpose(purpose);
        py::array_t<float> out({n_traj, n_components});
        float* o = out.mutable_data();
        for (std::int64_t i = 0; i < n_traj; ++i)
          for (std::int64_t k = 0; k < n_components; ++k)
            o[i * n_components + k] =
                uniform_at(seed, p, traj_offset + i, step * static_cast<std::uint64_t>(n_components) + k);
        return out;
      },
      py::arg("seed"), py::arg("purpose"), py::arg("traj_offset"), py::arg("n_traj"),
      py::arg("step"), py::arg("n_components"));
}
