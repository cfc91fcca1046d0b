// SPDX-License-Identifier: MIT
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <vector>

#include "interrupt.hpp"
#include "stochinfer/movies/render.hpp"

namespace py = pybind11;

void bind_movies(py::module_& m) {
  m.attr("POISSON_EXACT_BELOW") = stochinfer::movies::kPoissonExactBelow;
  m.def(
      "render_frames",
      [](py::array_t<double, py::array::c_style | py::array::forcecast> states, int height, int width,
         std::vector<double> base, std::vector<double> jacobian, double spot_std, int downsample,
         std::vector<int> crop, double photons, double read_noise, bool quantize, std::uint64_t seed,
         std::optional<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>> pairs, int n_threads,
         std::uint64_t movie_offset, int blur) {
        if (states.ndim() != 3) throw py::value_error("states must be (n_movies, n_frames * blur, dim)");
        if (blur < 1 || states.shape(1) % blur != 0)
          throw py::value_error("blur must be >= 1 and divide the states per movie");
        if (crop.size() != 4) throw py::value_error("crop must be (row, col, height, width)");
        stochinfer::movies::RenderConfig c;
        c.height = height;
        c.width = width;
        c.dim = static_cast<int>(states.shape(2));
        c.n_spots = static_cast<int>(base.size() / 2);
        c.base = std::move(base);
        c.jacobian = std::move(jacobian);
        c.spot_std = spot_std;
        c.blur = blur;
        c.downsample = downsample;
        c.crop_row = crop[0];
        c.crop_col = crop[1];
        c.crop_height = crop[2];
        c.crop_width = crop[3];
        c.photons = photons;
        c.read_noise = read_noise;
        c.quantize = quantize;
        c.seed = seed;
        c.movie_offset = movie_offset;
        try {
          c.validate();
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        const std::int64_t n_movies = states.shape(0), n_frames = states.shape(1) / blur;
        const std::int64_t* pp = nullptr;
        std::int64_t n_pairs = 0;
        if (pairs) {
          if (pairs->ndim() != 2 || pairs->shape(1) != 2) throw py::value_error("pairs must be (n, 2)");
          pp = pairs->data();
          n_pairs = pairs->shape(0);
        }
        const std::int64_t n_out = pp ? n_pairs : n_movies * n_frames;
        std::vector<py::ssize_t> shape{n_out, c.out_height(), c.out_width()};
        py::array out = quantize ? py::array(py::dtype::of<std::uint8_t>(), shape)
                                 : py::array(py::dtype::of<float>(), shape);
        void* o = out.mutable_data();
        const double* s = states.data();
        std::atomic<bool> cancel{false};
        try {
          stochinfer::python::run_interruptible(
              [&]() { return stochinfer::movies::render_frames(c, s, n_movies, n_frames, pp, n_pairs, o, n_threads,
                                                               &cancel); },
              cancel);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        return out;
      },
      py::arg("states"), py::arg("height"), py::arg("width"), py::arg("base"), py::arg("jacobian"),
      py::arg("spot_std"), py::arg("downsample"), py::arg("crop"), py::arg("photons"), py::arg("read_noise"),
      py::arg("quantize"), py::arg("seed"), py::arg("pairs") = py::none(), py::arg("n_threads") = 0,
      py::arg("movie_offset") = 0, py::arg("blur") = 1,
      "Frames of spot movies from hidden states (n_movies, n_frames * blur, dim): (n_out, H', W'), uint8 or "
      "float32; each frame averages blur consecutive states (motion blur).");
}
