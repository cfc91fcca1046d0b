// SPDX-License-Identifier: MIT
// The configurations' checks of the functions built for nn_isa() (first_passage.cpp,
// movies/render.cpp), compiled here for the baseline instruction set: a caller may run them
// on any CPU before the ISA check of first_passage_times / render_frames (nn/isa.cpp).
#include <cmath>
#include <stdexcept>
#include <string>

#include "stochinfer/first_passage.hpp"
#include "stochinfer/movies/render.hpp"

namespace stochinfer {

void FirstPassageConfig::validate() const {
  const auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(what);
  };
  need(std::isfinite(x0) && x0 > 0, "x0 must be finite and > 0");
  need(std::isfinite(D) && D > 0, "D must be finite and > 0");
  need(std::isfinite(V), "V must be finite");
  need(std::isfinite(rate) && rate >= 0, "rate must be finite and >= 0");
  need(std::isfinite(dt) && dt > 0, "dt must be finite and > 0");
  need(n_walkers >= 1, "n_walkers must be >= 1");
  need(max_steps >= 1, "max_steps must be >= 1");
}

namespace movies {

void RenderConfig::validate() const {
  const auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument(what);
  };
  need(height >= 1 && width >= 1, "height and width must be >= 1");
  need(n_spots >= 0 && dim >= 1, "n_spots must be >= 0 and dim >= 1");
  need(base.size() == std::size_t(n_spots) * 2, "base must hold n_spots x 2 values");
  need(jacobian.size() == std::size_t(n_spots) * 2 * std::size_t(dim), "jacobian must hold n_spots x 2 x dim values");
  for (double v : base) need(std::isfinite(v), "base must be finite");
  for (double v : jacobian) need(std::isfinite(v), "jacobian must be finite");
  need(std::isfinite(spot_std) && spot_std > 0, "spot_std must be finite and > 0");
  need(blur >= 1, "blur must be >= 1");
  need(downsample >= 1, "downsample must be >= 1");
  const int ch = crop_height < 0 ? height - crop_row : crop_height;
  const int cw = crop_width < 0 ? width - crop_col : crop_width;
  need(crop_row >= 0 && crop_col >= 0 && ch >= 1 && cw >= 1 && crop_row + ch <= height && crop_col + cw <= width,
       "crop must lie inside the frame");
  need(crop_row % downsample == 0 && crop_col % downsample == 0 && ch % downsample == 0 && cw % downsample == 0,
       "crop (and the frame, when not cropped) must be a whole number of downsample blocks");
  need(std::isfinite(photons) && photons >= 0, "photons must be finite and >= 0");
  need(std::isfinite(read_noise) && read_noise >= 0, "read_noise must be finite and >= 0");
}

int RenderConfig::out_height() const { return (crop_height < 0 ? height - crop_row : crop_height) / downsample; }
int RenderConfig::out_width() const { return (crop_width < 0 ? width - crop_col : crop_width) / downsample; }

}  // namespace movies
}  // namespace stochinfer
