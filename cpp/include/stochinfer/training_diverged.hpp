// SPDX-License-Identifier: MIT
#pragma once
#include <stdexcept>
#include <string>

namespace stochinfer {

/// Thrown when training produces non-finite losses (the learning rate is too large
/// for the data). A distinct type so that callers, and the Python bindings
/// (FloatingPointError), can tell it from bad arguments.
class TrainingDiverged : public std::runtime_error {
 public:
  explicit TrainingDiverged(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace stochinfer
