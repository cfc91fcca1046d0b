// SPDX-License-Identifier: MIT
#include "stochinfer/nn/types.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

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

void CnnSpec::validate() const {
  if (seq_len < 2) throw std::invalid_argument("seq_len must be >= 2");
  if (n_layer < 1 || n_layer > 6) throw std::invalid_argument("n_layer must be in [1, 6]");
  if (n_channel < 1 || n_channel > 1024) throw std::invalid_argument("n_channel must be in [1, 1024]");
  if (height < 1 || width < 1) throw std::invalid_argument("height and width must be >= 1");
  // feature maps are indexed with int: the input and the widest map must stay below 2^31 values
  const std::int64_t in = std::int64_t(seq_len) * height * width;
  const std::int64_t widest = (std::int64_t(n_channel) << (n_layer > 1 ? n_layer - 1 : 0)) *
                              ((std::int64_t(height) + 1) / 2) * ((std::int64_t(width) + 1) / 2);
  if (in >= (std::int64_t(1) << 31) || widest >= (std::int64_t(1) << 31))
    throw std::invalid_argument("frames, seq_len or n_channel too large: a feature map would exceed 2^31 values");
  // spatial size after block 1 (stride-2 conv, pool) and each pooled later block
  int h = (height - 1) / 2 + 1, w = (width - 1) / 2 + 1;
  for (int b = 0; b < (n_layer > 1 ? n_layer - 1 : 1); ++b) {  // block 1 and every later block but the last
    h /= 2;
    w /= 2;
  }
  if (h < 1 || w < 1)
    throw std::invalid_argument("frames of " + std::to_string(height) + " x " + std::to_string(width) +
                                " pixels are too small for " + std::to_string(n_layer) +
                                " blocks: each pools by 2 (use fewer layers or larger frames)");
}

void MlpSpec::validate() const {
  if (n_tokens < 0) throw std::invalid_argument("n_tokens must be >= 0");
  if (n_tokens == 0 && state_dim < 1) throw std::invalid_argument("state_dim must be >= 1");
  if (n_tokens > 0 && embed_dim < 1) throw std::invalid_argument("embed_dim must be >= 1 for token inputs");
  if (n_states < 1) throw std::invalid_argument("n_states must be >= 1");
  if (hidden < 1) throw std::invalid_argument("hidden must be >= 1");
  if (n_layers < 1) throw std::invalid_argument("n_layers must be >= 1");
  if (out_dim < 1) throw std::invalid_argument("out_dim must be >= 1");
  if (std::string(activation_name(activation)) == "?")  // the layers' switch would leave it linear
    throw std::invalid_argument("activation: not a known Activation value");
}

void SgdConfig::validate() const {
  if (!(lr > 0) || !std::isfinite(lr)) throw std::invalid_argument("lr must be a finite number > 0");
  if (!(momentum >= 0 && momentum < 1)) throw std::invalid_argument("momentum must be in [0, 1)");
  if (!(dampening >= 0 && dampening <= 1)) throw std::invalid_argument("dampening must be in [0, 1]");
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
    throw std::invalid_argument("weight_decay must be a finite number >= 0");
  if (nesterov && (momentum <= 0 || dampening != 0))
    throw std::invalid_argument("nesterov needs momentum > 0 and dampening = 0");
}

void ClassLossSpec::validate() const {
  if ((kind == ClassLoss::gce || kind == ClassLoss::tgce) && !(q > 0 && q <= 1))
    throw std::invalid_argument("gce q must be in (0, 1]");
  if (kind == ClassLoss::tgce && !(tgce_k > 0 && tgce_k < 1)) throw std::invalid_argument("tgce k must be in (0, 1)");
  if (kind == ClassLoss::sce && !(alpha >= 0 && beta >= 0 && alpha + beta > 0 && std::isfinite(alpha + beta)))
    throw std::invalid_argument("sce alpha and beta must be finite, >= 0 and not both 0");
  if (kind == ClassLoss::elr && !(elr_beta >= 0 && elr_beta < 1 && elr_lambda >= 0 && std::isfinite(elr_lambda)))
    throw std::invalid_argument("elr needs elr_beta in [0, 1) and a finite elr_lambda >= 0");
}

ClassLoss class_loss_from_name(const std::string& name) {
  if (name == "cross_entropy" || name == "ce") return ClassLoss::cross_entropy;
  if (name == "mae") return ClassLoss::mae;
  if (name == "gce") return ClassLoss::gce;
  if (name == "sce") return ClassLoss::sce;
  if (name == "elr") return ClassLoss::elr;
  if (name == "tgce") return ClassLoss::tgce;
  throw std::invalid_argument("unknown loss '" + name + "': use cross_entropy, mae, gce, sce, elr or tgce");
}

void AdamConfig::validate() const {
  if (!(lr > 0) || !std::isfinite(lr)) throw std::invalid_argument("lr must be a finite number > 0");
  if (!(beta1 >= 0 && beta1 < 1)) throw std::invalid_argument("beta1 must be in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) throw std::invalid_argument("beta2 must be in [0, 1)");
  if (!(eps > 0)) throw std::invalid_argument("eps must be > 0");
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
    throw std::invalid_argument("weight_decay must be a finite number >= 0");
}

void BayesMlpSpec::validate() const {
  if (in_dim < 0) throw std::invalid_argument("in_dim must be >= 0");
  if (out_dim < 1) throw std::invalid_argument("out_dim must be >= 1");
  if (hidden < 1) throw std::invalid_argument("hidden must be >= 1");
  if (n_layers < 1) throw std::invalid_argument("n_layers must be >= 1");
  if (in_dim == 0 && n_layers != 1)
    throw std::invalid_argument("a network without input (in_dim = 0) is a constant vector: n_layers must be 1");
  if (n_bayes < 0 || n_bayes > n_layers) throw std::invalid_argument("n_bayes must be in [0, n_layers]");
  if (!(prior_std > 0) || !std::isfinite(prior_std)) throw std::invalid_argument("prior_std must be > 0");
  if (!std::isfinite(rho_init)) throw std::invalid_argument("rho_init must be finite");
  if (std::string(activation_name(activation)) == "?")  // the layers' switch would leave it linear
    throw std::invalid_argument("activation: not a known Activation value");
}

void HeadSpec::validate() const {
  if (kind != HeadKind::affine && kind != HeadKind::cholesky) throw std::invalid_argument("unknown head kind");
  if (d < 1) throw std::invalid_argument("d must be >= 1");
  if (d > 4096) throw std::invalid_argument("d must be <= 4096 (the Cholesky head has d(d+1)/2 outputs)");
  const std::size_t m = static_cast<std::size_t>(out_dim());
  if (!mean.empty() && mean.size() != m)
    throw std::invalid_argument("head mean must have " + std::to_string(m) + " entries");
  if (!scale.empty() && scale.size() != m)
    throw std::invalid_argument("head scale must have " + std::to_string(m) + " entries");
  for (double v : mean)
    if (!std::isfinite(v)) throw std::invalid_argument("head mean must be finite");
  for (double v : scale)
    if (!(v > 0) || !std::isfinite(v)) throw std::invalid_argument("head scale entries must be finite and > 0");
  if (!(pred_scale > 0) || !std::isfinite(pred_scale)) throw std::invalid_argument("pred_scale must be > 0");
  if (!(diag_eps >= 0) || !std::isfinite(diag_eps)) throw std::invalid_argument("diag_eps must be >= 0");
}

}  // namespace stochinfer

#include "stochinfer/rneep.hpp"

namespace stochinfer {

void RneepSpec::validate() const {
  if (n_tokens < 1) throw std::invalid_argument("n_tokens must be >= 1");
  if (embed_dim < 1) throw std::invalid_argument("embed_dim must be >= 1");
  if (hidden < 1) throw std::invalid_argument("hidden must be >= 1");
  if (window < 2) throw std::invalid_argument("window must be >= 2 tokens");
  // the tape holds hidden x (sequences x window) columns in int arithmetic
  if (window > (1 << 20)) throw std::invalid_argument("window must be <= 2^20 tokens");
}

}  // namespace stochinfer
