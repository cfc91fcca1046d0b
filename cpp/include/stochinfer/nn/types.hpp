// SPDX-License-Identifier: MIT
#pragma once
#include <string>

/// Plain settings shared by the network code and its callers; no ISA-specific
/// code lives here, so it sits outside the instruction-set namespace.
namespace stochinfer {

/// Element-wise nonlinearities. ELU uses alpha = 1; softplus is log(1 + e^z).
enum class Activation : int { identity = 0, relu = 1, elu = 2, tanh = 3, softplus = 4, silu = 5 };

/// Throws std::invalid_argument listing the valid names.
Activation activation_from_name(const std::string& name);
const char* activation_name(Activation a);

/// A scalar network over a tuple of n_states states: each state is either a
/// vector of state_dim reals or (n_tokens > 0) a token embedded in embed_dim
/// reals; the encodings are concatenated and passed through n_layers hidden
/// Dense + activation layers of width `hidden` and a final Dense(hidden, 1).
struct MlpSpec {
  int state_dim = 1;
  int n_tokens = 0;  ///< 0: continuous states
  int embed_dim = 0;
  int n_states = 2;
  int hidden = 256;
  int n_layers = 3;
  Activation activation = Activation::relu;

  int state_width() const { return n_tokens > 0 ? embed_dim : state_dim; }
  int input_width() const { return n_states * state_width(); }
  void validate() const;  ///< throws std::invalid_argument naming the bad field
};

/// Adam (Kingma & Ba) with PyTorch's exact update order. weight_decay is an L2
/// term added to the gradient (torch.optim.Adam) or, with decoupled = true, a
/// multiplicative shrink of the weights (torch.optim.AdamW).
struct AdamConfig {
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled = false;
  void validate() const;
};

}  // namespace stochinfer
