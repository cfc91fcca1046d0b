// SPDX-License-Identifier: MIT
// Views of the caller's numpy arrays as the core's StateArray (states, tokens,
// movie frames) and segment lists: shared by the network estimators' bindings.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <vector>

#include "stochinfer/neep.hpp"

namespace stochinfer::python {

namespace py = pybind11;

/// A view of a C-contiguous float32/float64 (n_traj, L, d) or int32 (n_traj, L)
/// array; the Python layer keeps the array alive and unchanged during the call.
inline stochinfer::StateArray state_array(const py::array& a) {
  if (!(a.flags() & py::array::c_style)) throw py::value_error("data must be C-contiguous");
  stochinfer::StateArray s;
  s.data = a.data();
  if (py::isinstance<py::array_t<std::int32_t>>(a)) {
    if (a.ndim() != 2) throw py::value_error("token data must have shape (n_traj, L)");
    s.type = stochinfer::StateType::int32;
    s.dim = 1;
  } else {
    if (a.ndim() != 3) throw py::value_error("data must have shape (n_traj, L, dim)");
    if (py::isinstance<py::array_t<float>>(a))
      s.type = stochinfer::StateType::float32;
    else if (py::isinstance<py::array_t<double>>(a))
      s.type = stochinfer::StateType::float64;
    else
      throw py::type_error("data must be float32, float64 or int32 tokens");
    s.dim = a.shape(2);
  }
  s.n_traj = a.shape(0);
  s.length = a.shape(1);
  return s;
}

inline std::vector<stochinfer::Segment> segments(const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& seg) {
  if (seg.ndim() != 2 || seg.shape(1) != 3) throw py::value_error("segments must have shape (k, 3): traj, begin, end");
  std::vector<stochinfer::Segment> out(seg.shape(0));
  auto r = seg.unchecked<2>();
  for (py::ssize_t k = 0; k < seg.shape(0); ++k) out[k] = stochinfer::Segment{r(k, 0), r(k, 1), r(k, 2)};
  return out;
}

/// A view of C-contiguous movie frames (n_movies, n_frames, height, width), uint8,
/// float32 or float64: n_traj = movies, length = frames, dim = height × width.
inline stochinfer::StateArray movie_array(const py::array& a) {
  if (!(a.flags() & py::array::c_style)) throw py::value_error("movies must be C-contiguous");
  if (a.ndim() != 4) throw py::value_error("movies must have shape (n_movies, n_frames, height, width)");
  stochinfer::StateArray s;
  s.data = a.data();
  if (py::isinstance<py::array_t<std::uint8_t>>(a))
    s.type = stochinfer::StateType::uint8;
  else if (py::isinstance<py::array_t<float>>(a))
    s.type = stochinfer::StateType::float32;
  else if (py::isinstance<py::array_t<double>>(a))
    s.type = stochinfer::StateType::float64;
  else
    throw py::type_error("movies must be uint8, float32 or float64");
  s.n_traj = a.shape(0);
  s.length = a.shape(1);
  s.dim = a.shape(2) * a.shape(3);
  return s;
}

}  // namespace stochinfer::python
