// SPDX-License-Identifier: MIT
// CUDA backend of the built-in models. The physics (models, integrators, Philox,
// Box-Muller) is the same STOCHINFER_HD code the CPU runs, instantiated here with
// the scalar value type V = T: one thread advances one trajectory.
//
// Host side: initial states are computed on the host with the CPU's own
// detail::initial_state (the same normals; to rounding the CPU's numbers, as the
// AVX2 CPU build may contract multiply-adds), the device state is kept
// as [component][trajectory] between launches, and time is processed in chunks
// of recording intervals sized to take ~100 ms each, so `cancel` is polled
// between launches and records stream to the host chunk by chunk: chunk k writes
// device buffer k % 2, and while chunk k + 1 runs, a second stream copies chunk k
// in pieces through two pinned 32 MiB staging buffers (kept for the next call:
// pinning costs as much as copying) that host threads move into `out`.
// If the state and two records per trajectory do not fit in free device memory,
// trajectories are processed in sequential batches (valid: the streams are keyed
// by the global trajectory index).

// Host instantiations of the shared templates get their own symbols (see config.hpp).
#define STOCHINFER_ISA_NAMESPACE isa_cuda
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "stochinfer/builtin.hpp"
#include "stochinfer/detail/run_on_threads.hpp"
#include "stochinfer/detail/with_builtin.hpp"
#include "stochinfer/integrators/integrator_step.hpp"
#include "stochinfer/rng.hpp"
#include "stochinfer/simulate.hpp"
#include "stochinfer/simulate_cpu.hpp"  // detail::initial_state (host), shared with the CPU

namespace stochinfer {
namespace {

// ---------------------------------------------------------------- error handling

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // clear a non-sticky error so later calls are not poisoned
    throw std::runtime_error(std::string("CUDA error: ") + cudaGetErrorString(e) + " (in " + what + ")");
  }
}
#define STOCHINFER_CUDA_CHECK(call) cuda_check((call), #call)

// ---------------------------------------------------------------- RAII handles

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes) {
    if (bytes) STOCHINFER_CUDA_CHECK(cudaMalloc(&p_, bytes));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~DeviceBuffer() {
    if (p_) cudaFree(p_);
  }
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_ = nullptr;
};

constexpr std::size_t kStageBytes = 32u << 20;  ///< one host staging buffer

/// Page-locked staging buffers of kStageBytes, kept for the next call: pinning host
/// memory costs about as much as copying it (per-call buffers of one record of every
/// trajectory took 0.5 s of a 0.7 s call with 10^7 trajectories on an H100 machine).
class PinnedPool {
 public:
  static PinnedPool& instance() {
    static PinnedPool* pool = new PinnedPool;  // never destroyed: the CUDA runtime may be gone at exit
    return *pool;
  }
  void* acquire() {
    for (;;) {
      void* p = nullptr;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (free_.empty()) break;
        p = free_.back();
        free_.pop_back();
      }
      // a device reset (by another library in the process) frees pinned memory: drop such buffers
      cudaPointerAttributes attr{};
      if (cudaPointerGetAttributes(&attr, p) == cudaSuccess && attr.type == cudaMemoryTypeHost) return p;
      (void)cudaGetLastError();
    }
    void* p = nullptr;
    if (cudaHostAlloc(&p, kStageBytes, cudaHostAllocPortable) != cudaSuccess) {  // pinned for every context
      (void)cudaGetLastError();
      return nullptr;
    }
    return p;
  }
  void release(void* p) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (free_.size() < kKept) {
        free_.push_back(p);
        return;
      }
    }
    cudaFreeHost(p);  // outside the lock: it may wait for the device
  }

 private:
  static constexpr std::size_t kKept = 2;  ///< one call's pair (concurrent calls allocate their own)
  std::mutex mutex_;
  std::vector<void*> free_;
};

/// One staging buffer of kStageBytes from the pool; ordinary memory where pinning
/// fails (slower copies; the events order them all the same).
class HostStaging {
 public:
  explicit HostStaging(bool wanted) {
    if (!wanted) return;
    p_ = PinnedPool::instance().acquire();
    pinned_ = p_ != nullptr;
    if (!pinned_) {
      fallback_.resize(kStageBytes);
      p_ = fallback_.data();
    }
  }
  HostStaging(const HostStaging&) = delete;
  HostStaging& operator=(const HostStaging&) = delete;
  ~HostStaging() {
    if (pinned_) PinnedPool::instance().release(p_);
  }
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
  bool pinned_ = false;
  std::vector<unsigned char> fallback_;
};

class Stream {
 public:
  Stream() { STOCHINFER_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() {
    cudaStreamSynchronize(s_);
    cudaStreamDestroy(s_);
  }
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

/// Declared after the buffers a stream uses: on every exit (cancel, exception)
/// waits for the queued work before those buffers are freed.
class SyncOnExit {
 public:
  explicit SyncOnExit(cudaStream_t s) : s_(s) {}
  SyncOnExit(const SyncOnExit&) = delete;
  SyncOnExit& operator=(const SyncOnExit&) = delete;
  ~SyncOnExit() { cudaStreamSynchronize(s_); }

 private:
  cudaStream_t s_;
};

class Event {
 public:
  Event() { STOCHINFER_CUDA_CHECK(cudaEventCreate(&e_)); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() { cudaEventDestroy(e_); }
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

// ---------------------------------------------------------------- host helpers

/// fn(begin, end) over [0, n) on up to `threads` host threads.
template <class Fn>
void parallel_for(std::int64_t n, int threads, std::int64_t min_per_thread, Fn&& fn) {
  const std::int64_t t = std::max<std::int64_t>(
      1, std::min<std::int64_t>(threads, (n + min_per_thread - 1) / std::max<std::int64_t>(1, min_per_thread)));
  if (t <= 1) {
    fn(std::int64_t(0), n);
    return;
  }
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  std::atomic<std::int64_t> next{0};
  const std::int64_t per = (n + t - 1) / t;
  auto worker = [&]() {  // the t slices, taken in turn by however many threads started
    for (std::int64_t k; (k = next.fetch_add(1)) < t;) {
      const std::int64_t b = k * per, e = std::min(n, b + per);
      if (b >= e) return;
      try {
        fn(b, e);
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
      }
    }
  };
  host_threads::run_on_threads(static_cast<int>(t), worker);
  if (error) std::rethrow_exception(error);
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// ---------------------------------------------------------------- the kernel

/// Size member of a model functor (`d` or `n`), if it has one.
template <class M, class = void>
struct has_d : std::false_type {};
template <class M>
struct has_d<M, std::void_t<decltype(std::declval<M&>().d)>> : std::true_type {};
template <class M, class = void>
struct has_n : std::false_type {};
template <class M>
struct has_n<M, std::void_t<decltype(std::declval<M&>().n)>> : std::true_type {};
template <class M>
constexpr bool kSized = has_d<M>::value || has_n<M>::value;

/// With S > 0, makes the model's size a compile-time constant inside the kernel:
/// every loop over components then unrolls and the state lives in registers.
template <int S, class M>
__device__ __forceinline__ void fix_size(M& m) {
  if constexpr (S > 0) {
    if constexpr (has_d<M>::value)
      m.d = S;
    else if constexpr (has_n<M>::value)
      m.n = S;
  }
}

template <class T>
struct ChunkArgs {
  T* state;                   ///< [dim][nb], advanced in place
  T* rec;                     ///< [nb][nrc][dim]: records r_lo .. r_lo + nrc - 1
  std::int64_t nb;            ///< trajectories in this batch
  std::uint64_t traj0;        ///< traj_offset + global index of the batch's first trajectory
  std::uint64_t seed;
  std::int64_t n_begin;       ///< recording intervals [n_begin, n_end), counted from the start of burn-in
  std::int64_t n_end;
  std::int64_t n_first_rec;   ///< interval after which record r_lo is taken (>= n_begin when nrc > 0)
  std::int64_t record_every;
  std::int64_t nrc;
  std::int64_t burn_in;
  int substeps;
  Integrator integrator;
  double t0;
  double dt;
  T h;       ///< dt / substeps
  T sqrt_h;  ///< sqrt(dt / substeps)
};

constexpr int kBlock = 128;

/// Advances every trajectory of the batch through one chunk of recording
/// intervals; the same loop as detail::simulate_lanes with W = 1.
template <class Model, int S, int CAP>
__global__ void __launch_bounds__(kBlock) advance_chunk(Model m, ChunkArgs<typename Model::scalar> a) {
  using T = typename Model::scalar;
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= a.nb) return;
  fix_size<S>(m);
  constexpr int kXi = (CAP + 3) / 4 * 4;
  constexpr int kWork = Model::kUnderdamped ? CAP : 6 * CAP;
  T x[CAP];
  T xi[kXi];
  T work[kWork];
  const int d = m.dim();
  const int nd = m.noise_dim();
  for (int k = 0; k < d; ++k) x[k] = a.state[k * a.nb + i];

  std::uint64_t g = static_cast<std::uint64_t>(a.n_begin) * static_cast<std::uint64_t>(a.substeps);
  NormalStream<std::uint32_t> noise =
      normal_stream(a.seed, RngPurpose::integrator_noise, a.traj0 + static_cast<std::uint64_t>(i));
  noise.seek(g * static_cast<std::uint64_t>(nd));  // resume where the previous chunk stopped
  std::int64_t next_rec = a.nrc > 0 ? a.n_first_rec : a.n_end;
  T* row = a.rec + i * a.nrc * d;
  for (std::int64_t n = a.n_begin; n < a.n_end; ++n) {
    for (int s = 0; s < a.substeps; ++s, ++g) {
      noise.read(xi, nd);
      const double t = a.t0 + (static_cast<double>(g) / a.substeps - static_cast<double>(a.burn_in)) * a.dt;
      integrator_step(a.integrator, m, x, t, a.h, a.sqrt_h, xi, work);
    }
    if (n == next_rec) {
      for (int k = 0; k < d; ++k) row[k] = x[k];
      row += d;
      next_rec += a.record_every;
    }
  }
  for (int k = 0; k < d; ++k) a.state[k * a.nb + i] = x[k];
}

/// Trivial kernel: cuda_available() checks that this build's device code loads.
__global__ void probe_kernel() {}

template <class Model>
using ChunkKernel = void (*)(Model, ChunkArgs<typename Model::scalar>);

constexpr int kMaxSize = 256;   ///< largest model size (CUDA backend)
constexpr int kUnsizedCap = 8;  ///< state capacity for fixed-size models (Hodgkin-Huxley 4, Carnot 2)

/// Kernel for the model's size: exact sizes 1..8 (registers), capacities 16..256 beyond.
template <class Model>
ChunkKernel<Model> pick_kernel(int size) {
  if constexpr (!kSized<Model>) {
    (void)size;
    return &advance_chunk<Model, 0, kUnsizedCap>;
  } else {
    constexpr int m = Model::kUnderdamped ? 2 : 1;  // state = (x, v) for underdamped models
    switch (size) {
      case 1: return &advance_chunk<Model, 1, m * 1>;
      case 2: return &advance_chunk<Model, 2, m * 2>;
      case 3: return &advance_chunk<Model, 3, m * 3>;
      case 4: return &advance_chunk<Model, 4, m * 4>;
      case 5: return &advance_chunk<Model, 5, m * 5>;
      case 6: return &advance_chunk<Model, 6, m * 6>;
      case 7: return &advance_chunk<Model, 7, m * 7>;
      case 8: return &advance_chunk<Model, 8, m * 8>;
      default: break;
    }
    if (size <= 16) return &advance_chunk<Model, 0, m * 16>;
    if (size <= 32) return &advance_chunk<Model, 0, m * 32>;
    if (size <= 64) return &advance_chunk<Model, 0, m * 64>;
    if (size <= 128) return &advance_chunk<Model, 0, m * 128>;
    if (size <= kMaxSize) return &advance_chunk<Model, 0, m * kMaxSize>;
    return nullptr;
  }
}

// ---------------------------------------------------------------- the host driver

constexpr double kChunkTargetMs = 100.0;               ///< wall time of one launch
/// Cap of each of the two device record buffers, unless one record of the batch is larger
constexpr std::size_t kMaxChunkRecordBytes = 256u << 20;
constexpr std::size_t kDeviceMemoryReserve = 256u << 20;  ///< left free for the runtime

void require_device() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    (void)cudaGetLastError();
    throw std::runtime_error(std::string("CUDA backend: no usable CUDA device (") +
                             (e != cudaSuccess ? cudaGetErrorString(e) : "no device found") +
                             "); use the CPU backend (Python: backend='cpu'; C++: simulate_builtin)");
  }
}

template <class Model>
SimulationStatus run_model(const BuiltinModel& bm, const Model& mh, const SimulationConfig& c,
                           typename Model::scalar* out) {
  using T = typename Model::scalar;
  // the checks of simulate_cpu, in the same order and words
  validate(c);
  validate_integrator(Model::kUnderdamped, c.integrator);
  const ChunkKernel<Model> kernel = pick_kernel<Model>(bm.size);
  if (!kernel)
    throw std::invalid_argument("model: the CUDA backend supports sizes up to " + std::to_string(kMaxSize) +
                                ", got " + std::to_string(bm.size) +
                                "; use the CPU backend (Python: backend='cpu'; C++: simulate_builtin)");
  const int d = mh.dim();
  validate_initial_states(c, d);
  if (!kSized<Model> && d > kUnsizedCap) throw std::logic_error("CUDA backend: state capacity too small");
  require_device();

  const int host_threads =
      c.n_threads > 0 ? c.n_threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const std::int64_t nrec = n_records(c);
  const std::int64_t re = c.record_every;
  const bool rec0_on_host = c.burn_in == 0;  // record 0 is the initial state
  const std::int64_t r_first = rec0_on_host ? 1 : 0;
  const std::int64_t dev_recs = nrec - r_first;  // records the device produces per trajectory
  // record r is taken after interval burn_in - 1 + r * record_every; later steps are never seen
  const std::int64_t n_total = dev_recs > 0 ? c.burn_in + (nrec - 1) * re : 0;
  const std::size_t row = static_cast<std::size_t>(d) * sizeof(T);

  // kernels on `compute`; records leave the device on `copier`, overlapping the next kernel
  Stream compute, copier;
  const cudaStream_t st = compute.get(), cs = copier.get();

  // ---- device memory plan: batch of nb trajectories, up to r_cap records per chunk
  std::int64_t nb = c.n_traj, r_cap = 0;
  const std::vector<T> hp(bm.params.begin(), bm.params.end());
  DeviceBuffer d_params;
  if (n_total > 0) {
    cudaFuncAttributes attr{};
    STOCHINFER_CUDA_CHECK(cudaFuncGetAttributes(&attr, reinterpret_cast<const void*>(kernel)));
    int dev = 0, sms = 0, threads_per_sm = 0;
    STOCHINFER_CUDA_CHECK(cudaGetDevice(&dev));
    STOCHINFER_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    STOCHINFER_CUDA_CHECK(cudaDeviceGetAttribute(&threads_per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, dev));
    std::size_t free_b = 0, total_b = 0;
    STOCHINFER_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    const double local = static_cast<double>(attr.localSizeBytes) * sms * threads_per_sm;
    const double usable = std::max(0.0, 0.9 * static_cast<double>(free_b) - local -
                                            static_cast<double>(kDeviceMemoryReserve));
    const double per_traj = 3.0 * static_cast<double>(row);  // state + one record in each of two buffers
    const std::int64_t fit = static_cast<std::int64_t>(usable / per_traj);
    if (fit < 1) throw std::runtime_error("CUDA backend: not enough free device memory");
    if (fit < nb) {
      const std::int64_t batches = (c.n_traj + fit - 1) / fit;
      nb = (c.n_traj + batches - 1) / batches;
    }
    const double rec_budget =
        std::min(0.5 * (usable - static_cast<double>(nb) * row), static_cast<double>(kMaxChunkRecordBytes));
    r_cap = std::max<std::int64_t>(
        1, std::min({dev_recs, static_cast<std::int64_t>(rec_budget / (static_cast<double>(nb) * row)),
                     static_cast<std::int64_t>(kStageBytes / row)}));
    d_params = DeviceBuffer(hp.size() * sizeof(T));
  }
  Model md = mh;
  md.p = d_params.as<T>();

  const bool records_on_device = n_total > 0 && dev_recs > 0;
  const std::size_t rec_bytes = records_on_device ? static_cast<std::size_t>(nb * r_cap) * row : 0;
  DeviceBuffer d_state(n_total > 0 ? static_cast<std::size_t>(nb) * row : 0);
  DeviceBuffer d_rec[2] = {DeviceBuffer(rec_bytes), DeviceBuffer(rec_bytes)};  // chunk k writes d_rec[k & 1]
  HostStaging stage0(records_on_device), stage1(records_on_device);  // piece j of a chunk goes through stage[j & 1]
  HostStaging* const stage[2] = {&stage0, &stage1};
  // uninitialised: every element is written before it is read
  std::unique_ptr<T[]> soa(n_total > 0 ? new T[static_cast<std::size_t>(nb) * d] : nullptr);
  struct Slot {
    Event start, stop;
    std::int64_t len = 0, r_lo = 0, nrc = 0;
  } slots[2];
  Event piece_copied[2];
  SyncOnExit sync_compute(st), sync_copier(cs);  // declared after every buffer the streams use
  if (!hp.empty() && n_total > 0)
    STOCHINFER_CUDA_CHECK(
        cudaMemcpyAsync(d_params.as<T>(), hp.data(), hp.size() * sizeof(T), cudaMemcpyHostToDevice, st));

  auto cancelled = [&]() { return c.cancel && c.cancel->load(std::memory_order_relaxed); };
  const T h = static_cast<T>(c.dt / c.substeps);
  const T sqrt_h = static_cast<T>(std::sqrt(c.dt / c.substeps));
  std::int64_t len = 1;  // chunk length in intervals, adapted to kChunkTargetMs
  bool timed = false;    // len has been adapted at least once (later batches keep it)

  for (std::int64_t first = 0; first < c.n_traj; first += nb) {
    const std::int64_t cnt = std::min(nb, c.n_traj - first);
    if (cancelled()) return SimulationStatus::cancelled;

    // initial states: the CPU's own code, lane width 1
    parallel_for(cnt, host_threads, 4096, [&](std::int64_t b, std::int64_t e) {
      std::vector<T> x(static_cast<std::size_t>(d));
      for (std::int64_t i = b; i < e; ++i) {
        const std::uint64_t traj = c.traj_offset + static_cast<std::uint64_t>(first + i);
        detail::initial_state<Model, T, std::uint32_t>(mh, c, first + i, static_cast<std::uint32_t>(traj),
                                                       static_cast<std::uint32_t>(traj >> 32), x.data());
        if (rec0_on_host) std::memcpy(out + (first + i) * nrec * d, x.data(), row);
        for (int k = 0; k < d && n_total > 0; ++k) soa[k * cnt + i] = x[k];
      }
    });
    if (n_total == 0) continue;
    // `soa` is next overwritten after this batch's last chunk has finished, hence after this copy
    STOCHINFER_CUDA_CHECK(cudaMemcpyAsync(d_state.as<T>(), soa.get(), static_cast<std::size_t>(cnt) * row,
                                          cudaMemcpyHostToDevice, st));

    ChunkArgs<T> a{};
    a.state = d_state.as<T>();
    a.nb = cnt;
    a.traj0 = c.traj_offset + static_cast<std::uint64_t>(first);
    a.seed = c.seed;
    a.record_every = re;
    a.burn_in = c.burn_in;
    a.substeps = c.substeps;
    a.integrator = c.integrator;
    a.t0 = c.t0;
    a.dt = c.dt;
    a.h = h;
    a.sqrt_h = sqrt_h;
    const unsigned grid = static_cast<unsigned>((cnt + kBlock - 1) / kBlock);

    // Copies the records of a finished chunk from `src` ([cnt][nrc][d]) into `out` in pieces
    // of whole trajectories through the two staging buffers: the device copies piece j + 1
    // while the host moves piece j.
    auto drain = [&](const T* src, std::int64_t r_lo, std::int64_t nrc) {
      const std::size_t traj_bytes = static_cast<std::size_t>(nrc) * row;
      const std::int64_t per_piece = std::max<std::int64_t>(1, static_cast<std::int64_t>(kStageBytes / traj_bytes));
      const std::int64_t pieces = ceil_div(cnt, per_piece);
      auto queue = [&](std::int64_t j) {
        const std::int64_t b = j * per_piece, e = std::min(cnt, b + per_piece);
        const std::size_t bytes = static_cast<std::size_t>(e - b) * traj_bytes;
        STOCHINFER_CUDA_CHECK(
            cudaMemcpyAsync(stage[j & 1]->get(), src + b * nrc * d, bytes, cudaMemcpyDeviceToHost, cs));
        STOCHINFER_CUDA_CHECK(cudaEventRecord(piece_copied[j & 1].get(), cs));
      };
      queue(0);
      if (pieces > 1) queue(1);
      for (std::int64_t j = 0; j < pieces; ++j) {
        STOCHINFER_CUDA_CHECK(cudaEventSynchronize(piece_copied[j & 1].get()));
        const std::int64_t b = j * per_piece, e = std::min(cnt, b + per_piece);
        const T* piece = static_cast<const T*>(stage[j & 1]->get());
        parallel_for(e - b, host_threads, std::max<std::int64_t>(1, (4 << 20) / static_cast<std::int64_t>(traj_bytes)),
                     [&](std::int64_t pb, std::int64_t pe) {
                       for (std::int64_t i = pb; i < pe; ++i)
                         std::memcpy(out + ((first + b + i) * nrec + r_lo) * d, piece + i * nrc * d, traj_bytes);
                     });
        if (j + 2 < pieces) queue(j + 2);  // into the buffer just emptied
      }
    };

    // Waits for chunk `s` (written to `rec`), adapts the chunk length to its kernel time and
    // moves its records into `out`; the chunk queued after it runs meanwhile.
    auto finish = [&](Slot& s, const DeviceBuffer& rec) {
      STOCHINFER_CUDA_CHECK(cudaEventSynchronize(s.stop.get()));
      float ms = 0.f;
      STOCHINFER_CUDA_CHECK(cudaEventElapsedTime(&ms, s.start.get(), s.stop.get()));
      const double scale = kChunkTargetMs / std::max(0.05, static_cast<double>(ms));
      len = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::min(16.0, scale) * static_cast<double>(s.len)));
      timed = true;
      if (s.nrc > 0) drain(rec.as<T>(), s.r_lo, s.nrc);
      s.nrc = 0;
    };

    int k = 0;
    bool pending = false;
    for (std::int64_t n = 0; n < n_total; ++k) {
      if (cancelled()) return SimulationStatus::cancelled;  // ~SyncOnExit waits for queued work
      // chunk k - 2, the last user of d_rec[k & 1], was drained (all its copies waited for)
      // in the previous iteration, before this launch
      Slot& s = slots[k & 1];
      std::int64_t n_end = std::min(n_total, n + len);
      // records r_lo .. r_lo + nrc - 1 fall in [n, n_end), at most r_cap of them
      const std::int64_t r_lo = std::max(r_first, ceil_div(n - c.burn_in + 1, re));
      const std::int64_t n_lo = c.burn_in - 1 + r_lo * re;
      std::int64_t nrc = n_lo < n_end ? (n_end - 1 - n_lo) / re + 1 : 0;
      if (nrc > r_cap) {
        nrc = r_cap;
        n_end = n_lo + (r_cap - 1) * re + 1;
      }
      a.rec = d_rec[k & 1].as<T>();
      a.n_begin = n;
      a.n_end = n_end;
      a.n_first_rec = n_lo;
      a.nrc = nrc;
      s.len = n_end - n;
      s.r_lo = r_lo;
      s.nrc = nrc;
      STOCHINFER_CUDA_CHECK(cudaEventRecord(s.start.get(), st));
      kernel<<<grid, kBlock, 0, st>>>(md, a);
      STOCHINFER_CUDA_CHECK(cudaGetLastError());
      STOCHINFER_CUDA_CHECK(cudaEventRecord(s.stop.get(), st));
      n = n_end;
      const std::int64_t queued_len = s.len;
      if (pending) {
        finish(slots[(k - 1) & 1], d_rec[(k - 1) & 1]);  // overlaps the chunk just queued
      } else if (!timed) {
        len = queued_len * 4;  // no timing yet: ramp up
      }
      pending = true;
    }
    if (pending) finish(slots[(k - 1) & 1], d_rec[(k - 1) & 1]);
  }
  return SimulationStatus::completed;
}

template <class T>
SimulationStatus simulate_cuda(const BuiltinModel& model, const SimulationConfig& c, T* out) {
  validate(model);
  const std::vector<T> hp(model.params.begin(), model.params.end());
  return detail::with_builtin<T>(model, hp.data(), [&](const auto& m) { return run_model(model, m, c, out); });
}

}  // namespace

bool cuda_available() {
  try {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n <= 0) {
      (void)cudaGetLastError();
      return false;
    }
    cudaFuncAttributes attr{};  // this build's device code loads on the current device
    if (cudaFuncGetAttributes(&attr, reinterpret_cast<const void*>(&probe_kernel)) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    return true;
  } catch (...) {
    return false;
  }
}

SimulationStatus simulate_builtin_cuda(const BuiltinModel& model, const SimulationConfig& config, float* out) {
  return simulate_cuda(model, config, out);
}
SimulationStatus simulate_builtin_cuda(const BuiltinModel& model, const SimulationConfig& config, double* out) {
  return simulate_cuda(model, config, out);
}

}  // namespace stochinfer
