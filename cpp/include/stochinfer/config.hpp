// SPDX-License-Identifier: MIT
#pragma once

/// STOCHINFER_HD marks functions compiled for both host and device: physics
/// (drift, noise, RNG transforms) is written once and shared by the CPU loops
/// and the CUDA kernels.
#if defined(__CUDACC__)
#define STOCHINFER_HD __host__ __device__ __forceinline__
#else
#define STOCHINFER_HD inline
#endif

/// Code headers (simd, rng, models, integrators, simulate_cpu, simulate.hpp's inline
/// functions) live in an inline
/// namespace named after the instruction set they are compiled for, so the AVX2
/// and baseline instantiations of the same templates get different symbols and
/// the linker cannot merge one into the other. Users never spell it.
#ifndef STOCHINFER_ISA_NAMESPACE
#define STOCHINFER_ISA_NAMESPACE isa_baseline
#endif

#define STOCHINFER_VERSION_MAJOR 0
#define STOCHINFER_VERSION_MINOR 1
#define STOCHINFER_VERSION_PATCH 0
#define STOCHINFER_VERSION "0.1.0"
