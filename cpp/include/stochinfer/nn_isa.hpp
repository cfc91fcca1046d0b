// SPDX-License-Identifier: MIT
#pragma once

namespace stochinfer {

/// True when this CPU can run the instruction set the network code was built for.
bool nn_isa_supported();
/// The instruction set the network code was built for ("avx512", "avx2", "baseline";
/// CMake option STOCHINFER_NN_ISA, default: the build host's widest).
const char* nn_isa();

/// The first member of every class whose code is built for nn_isa() (NeepModel,
/// RneepModel, LangevinNet, InferredLangevin). Its constructor is compiled for the
/// baseline instruction set (src/nn/isa.cpp) and throws std::runtime_error, naming the
/// rebuild, before any wider instruction runs on a CPU that lacks it (a library built on
/// an AVX-512 login node and run on older compute nodes).
/// Not in a `detail` namespace: the code headers' inline ISA namespaces have their own `detail`,
/// which made `detail::NnIsaCheck` ambiguous (or reopened the wrong one) in some include orders.
struct NnIsaCheck {
  NnIsaCheck();
};

}  // namespace stochinfer
