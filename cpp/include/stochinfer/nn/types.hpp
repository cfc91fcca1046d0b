// SPDX-License-Identifier: MIT
#pragma once
#include <string>
#include <variant>
#include <vector>

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
/// Dense + activation layers of width `hidden` and a final Dense(hidden, out_dim)
/// (out_dim = 1: NEEP's scalar h; a classifier's class logits).
struct MlpSpec {
  int state_dim = 1;
  int n_tokens = 0;  ///< 0: continuous states
  int embed_dim = 0;
  int n_states = 2;
  int hidden = 256;
  int n_layers = 3;
  Activation activation = Activation::relu;
  int out_dim = 1;

  int state_width() const { return n_tokens > 0 ? embed_dim : state_dim; }
  int input_width() const { return n_states * state_width(); }
  void validate() const;  ///< throws std::invalid_argument naming the bad field
};

/// The CNEEP convolutional network (methods.md §2.2) on seq_len frames of
/// height × width pixels: block 1 Conv(seq_len → n_channel, k5, s2, p2) + ReLU +
/// MaxPool(2); block b = 2 … n_layer (i = b − 2) Conv(c → c, k3, p1) + ReLU +
/// Conv(c → 2c, k3, p1) + ReLU with c = n_channel·2^i, MaxPool(2) after every
/// block but the last (block 1 always pools); a position-specific Linear(·, 1) head.
struct CnnSpec {
  int seq_len = 2;
  int height = 0, width = 0;
  int n_layer = 2;
  int n_channel = 32;
  void validate() const;  ///< throws std::invalid_argument naming the bad field (including frames too small)
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

/// Stochastic gradient descent with momentum, in torch.optim.SGD's exact form:
/// g += weight_decay·p; buf = g on the first update, else momentum·buf +
/// (1 − dampening)·g; p −= lr·(nesterov ? g + momentum·buf : buf). The momentum
/// buffer is part of the optimiser state a checkpoint holds.
struct SgdConfig {
  double lr = 1e-2;
  double momentum = 0.9;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  void validate() const;
};

/// The optimiser a network's train() runs: Adam/AdamW or SGD with momentum.
using OptimizerConfig = std::variant<AdamConfig, SgdConfig>;

/// Classification losses on softmax probabilities p of the logits, for a label y
/// (methods.md §4.3): cross_entropy −log p_y; mae 2 − 2p_y; gce (1 − p_y^q)/q
/// (generalised cross-entropy); sce alpha·(−log p_y) + beta·(−log 1e-4)(1 − p_y)
/// (symmetric cross-entropy: the reverse term with log 0 clipped to log 1e-4);
/// elr −log p_y + elr_lambda·log(1 − ⟨t, clamp(p)⟩) (early-learning regularisation, Liu
/// et al. 2020: t is the sample's running target, t ← elr_beta·t + (1 − elr_beta)·p̂ with p̂
/// the clamped, renormalised, detached prediction, updated each time the sample is
/// trained on; clamp to [1e-4, 1 − 1e-4]); tgce w·((1 − p_y^q)/q − (1 − k^q)/q)
/// (truncated GCE, Zhang & Sabuncu 2018: w a per-row weight in {0, 1}, set by
/// pruning: 1 where p_y > k).
enum class ClassLoss : int { cross_entropy = 0, mae = 1, gce = 2, sce = 3, elr = 4, tgce = 5 };

struct ClassLossSpec {
  ClassLoss kind = ClassLoss::cross_entropy;
  double q = 0.7;       ///< gce, tgce
  double alpha = 0.1;   ///< sce: weight of cross-entropy
  double beta = 1.0;    ///< sce: weight of reverse cross-entropy
  double elr_lambda = 3.0;  ///< elr: weight of the regulariser
  double elr_beta = 0.7;    ///< elr: momentum of the running targets
  double tgce_k = 0.5;      ///< tgce: the truncation threshold on p_y
  void validate() const;
};
ClassLoss class_loss_from_name(const std::string& name);  ///< throws listing the valid names

/// A vector-valued regression network (methods.md §3.2): n_layers Dense layers
/// (the last maps to out_dim, no activation), `activation` after the others; the
/// last n_bayes layers are Bayes-by-Backprop layers with mean-field Gaussian
/// weights N(mu, softplus(rho)^2), prior N(0, prior_std^2). in_dim may be 0: a
/// network without input is a (Bayesian) constant vector (homogeneous diffusion).
struct BayesMlpSpec {
  int in_dim = 1;
  int out_dim = 1;
  int hidden = 256;
  int n_layers = 4;
  int n_bayes = 2;
  Activation activation = Activation::elu;
  double prior_std = 0.1;
  double rho_init = -5.0;  ///< softplus(-5) = 0.0067
  void validate() const;   ///< throws std::invalid_argument naming the bad field
};

/// How network outputs become a field and a prediction of the regression label
/// (methods.md §3.3). affine: field u = raw * scale + mean (drift, out_dim = d).
/// cholesky: u likewise, filling a lower-triangular L row by row ((0,0), (1,0),
/// (1,1), (2,0), ...) with softplus(u) + diag_eps on the diagonal; the field is
/// D = L Lᵀ as its d(d+1)/2 lower-triangular entries (positive definite by
/// construction). In both cases prediction = pred_scale * field and the loss of
/// a label y is ½‖y - prediction‖².
enum class HeadKind : int { affine = 0, cholesky = 1 };

struct HeadSpec {
  HeadKind kind = HeadKind::affine;
  int d = 1;
  std::vector<double> mean, scale;  ///< out_dim entries each; empty = 0 and 1
  double pred_scale = 1.0;
  double diag_eps = 1e-6;
  int out_dim() const { return kind == HeadKind::cholesky ? d * (d + 1) / 2 : d; }
  void validate() const;
};

/// KL term of the ELBO: differentiated (true ELBO) or added as a constant, as
/// the published reference code does (methods.md §3.2).
enum class KlGradient : int { elbo = 0, detached = 1 };

}  // namespace stochinfer
