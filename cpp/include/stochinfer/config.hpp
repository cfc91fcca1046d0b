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

#define STOCHINFER_VERSION_MAJOR 0
#define STOCHINFER_VERSION_MINOR 1
#define STOCHINFER_VERSION_PATCH 0
#define STOCHINFER_VERSION "0.1.0"
