// SPDX-License-Identifier: MIT
#include "stochinfer/nn/types.hpp"

#include <cmath>
#include <stdexcept>

namespace stochinfer {

Activation activation_from_name(const std::string& name) {
  if (name == "identity") return Activation::identity;
  if (name == "relu") return Activation::relu;
  if (name == "elu") return Activation::elu;
  if (name == "tanh") return Activation::tanh;
  if (name == "softplus") return Activation::softplus;
  if (name == "silu") return Activation::silu;
  throw std::invalid_argument("activation must be one of identity, relu, elu, tanh, softplus, silu; got '" +
                              name + "'");
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::identity: return "identity";
    case Activation::relu: return "relu";
    case Activation::elu: return "elu";
    case Activation::tanh: return "tanh";
    case Activation::softplus: return "softplus";
    case Activation::silu: return "silu";
  }
  return "?";
}

void MlpSpec::validate() const {
  if (n_tokens < 0) throw std::invalid_argument("n_tokens must be >= 0");
  if (n_tokens == 0 && state_dim < 1) throw std::invalid_argument("state_dim must be >= 1");
  if (n_tokens > 0 && embed_dim < 1) throw std::invalid_argument("embed_dim must be >= 1 for token inputs");
  if (n_states < 1) throw std::invalid_argument("n_states must be >= 1");
  if (hidden < 1) throw std::invalid_argument("hidden must be >= 1");
  if (n_layers < 1) throw std::invalid_argument("n_layers must be >= 1");
  activation_name(activation);
}

void AdamConfig::validate() const {
  if (!(lr > 0) || !std::isfinite(lr)) throw std::invalid_argument("lr must be a finite number > 0");
  if (!(beta1 >= 0 && beta1 < 1)) throw std::invalid_argument("beta1 must be in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) throw std::invalid_argument("beta2 must be in [0, 1)");
  if (!(eps > 0)) throw std::invalid_argument("eps must be > 0");
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
    throw std::invalid_argument("weight_decay must be a finite number >= 0");
}

}  // namespace stochinfer

#include "stochinfer/rneep.hpp"

namespace stochinfer {

void RneepSpec::validate() const {
  if (n_tokens < 1) throw std::invalid_argument("n_tokens must be >= 1");
  if (embed_dim < 1) throw std::invalid_argument("embed_dim must be >= 1");
  if (hidden < 1) throw std::invalid_argument("hidden must be >= 1");
  if (window < 2) throw std::invalid_argument("window must be >= 2 tokens");
}

}  // namespace stochinfer
