#!/usr/bin/env bash
# One call on a lent GPU machine: build the Python module with CUDA, run the CUDA tests,
# time the GPU simulation benchmark against the CPU backend and diffrax on the same GPU.
# Logs and results go to $OUT (the device tool brings them back) or ./gpu_out.
#
#   bash bench/gpu_session.sh                    # from the repository root: tests, bench
#   bash bench/gpu_session.sh tests profile      # any of: tests bench scaling profile baseline suite
#
# baseline: rebuilds with the CUDA source at $BASELINE_CU (default .dev/baseline/simulate_cuda.cu,
# e.g. `git show REV:cuda/simulate_cuda.cu`) and reruns the scaling on it, for an A/B on one machine.
#
# The machine has nvcc, CMake, ninja, pybind11, numpy, JAX and diffrax but no Eigen:
# put an Eigen 3.4 prefix (include/eigen3, share/eigen3/cmake; e.g. cmeel-eigen's
# cmeel.prefix) at .dev/eigen, which .git/info/exclude ignores, and carry it.
# Each step has its own time limit so that a slow step still leaves the others' logs.
set -u
STEPS=${*:-tests bench}
wants() { [[ " $STEPS " == *" $1 "* ]]; }
OUT=${OUT:-$PWD/gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
BUILD=${BUILD:-/tmp/stochinfer_gpu_build}
ARCH=${CUDA_ARCH:-90}
SUMMARY="$OUT/summary.txt"
step() { echo "== $(date +%T) $*" | tee -a "$SUMMARY"; }

step "machine"
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; nproc;
  $PY --version; nvcc --version | tail -2; git rev-parse --short HEAD; } 2>&1 | tee -a "$SUMMARY"

step "build (sm_$ARCH)"
if cmake -S . -B "$BUILD" -G Ninja -DSTOCHINFER_BUILD_PYTHON=ON -DSTOCHINFER_CUDA=ON \
     -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DCMAKE_PREFIX_PATH="$PWD/.dev/eigen" \
     -DPython_EXECUTABLE="$(command -v "$PY")" -Dpybind11_DIR="$($PY -m pybind11 --cmakedir)" \
     > "$OUT/build.log" 2>&1 &&
   timeout "${BUILD_TIMEOUT:-240}" ninja -C "$BUILD" _core >> "$OUT/build.log" 2>&1; then
  cp "$BUILD"/_core*.so python/stochinfer/
  step "build ok"
else
  tail -40 "$OUT/build.log"
  step "build FAILED (build.log)"
  exit 1
fi
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH}
$PY -c "import stochinfer as si; print('cuda_available', si.cuda_available())" 2>&1 | tee -a "$SUMMARY"

if wants tests; then
step "CUDA tests"
STOCHINFER_REQUIRE_CUDA=1 timeout "${TEST_TIMEOUT:-150}" $PY -m pytest -q -p no:cacheprovider \
  tests/test_cuda.py -rfE --durations=8 > "$OUT/test_cuda.log" 2>&1
echo "rc=$?" >> "$OUT/test_cuda.log"
tail -25 "$OUT/test_cuda.log" | tee -a "$SUMMARY"
fi

if wants bench; then

step "GPU benchmark"
timeout "${BENCH_TIMEOUT:-240}" $PY bench/simulate_bench.py --gpu \
  --peers stochinfer_cuda,stochinfer,diffrax --ref stochinfer_cuda \
  --budget "${BENCH_BUDGET:-8}" --repeats 3 --json "$OUT/gpu_bench.json" > "$OUT/bench.log" 2>&1
echo "rc=$?" >> "$OUT/bench.log"
tail -30 "$OUT/bench.log" | tee -a "$SUMMARY"
fi

if wants scaling; then
step "CUDA time scaling"
timeout 120 $PY bench/cuda_scaling.py 2>&1 | tee "$OUT/scaling.txt" | tee -a "$SUMMARY"
fi

if wants profile; then
step "ncu: the launches of N = 5 float32, 10^6 trajectories, 1000 steps"
timeout 150 ncu --kernel-name regex:advance_chunk --launch-count 8 --set full \
  --import-source no $PY -c "import stochinfer as si; [si.simulate(si.models.BeadSpring(n_beads=5), 10**6, 1000, \
0.01, record_every=1000, dtype='float32', initial='zeros', backend='cuda') for _ in range(1)]" > "$OUT/ncu.txt" 2>&1
grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per|Achieved Occupancy|Theoretical Occ|Executed Ipc A|Issue Slots Busy|Local Memory|Stall|Block Limit" \
  "$OUT/ncu.txt" | head -40 | tee -a "$SUMMARY"
step "SASS of the N = 5 float32 kernel"
cuobjdump -sass "$BUILD/CMakeFiles/stochinfer_core.dir/cuda/simulate_cuda.cu.o" 2>&1 |
  awk '/Function : .*BeadSpringIfEELi5ELi5E/{p=1} p&&/Function : / && !/BeadSpringIfEELi5ELi5E/{p=0} p' > "$OUT/sass_bead5_f32.txt"
wc -l "$OUT/sass_bead5_f32.txt" | tee -a "$SUMMARY"
fi
if wants suite; then  # the CPU test suite on the machine's Python and numpy (newer than CI's, often)
step "fast test suite, 8 workers ($($PY -c 'import numpy; print("numpy", numpy.__version__)'))"
timeout "${SUITE_TIMEOUT:-150}" $PY -m pytest -q -p no:cacheprovider -n 8 --ignore tests/test_cpp.py \
  -k "not ctrl_c and not interrupt" > "$OUT/suite.log" 2>&1
echo "rc=$?" >> "$OUT/suite.log"
tail -15 "$OUT/suite.log" | tee -a "$SUMMARY"
fi

if wants baseline; then
BASELINE_CU=${BASELINE_CU:-.dev/baseline/simulate_cuda.cu}
step "baseline: time scaling with $BASELINE_CU"
cp cuda/simulate_cuda.cu /tmp/current_simulate_cuda.cu
cp "$BASELINE_CU" cuda/simulate_cuda.cu
if timeout 240 ninja -C "$BUILD" _core > "$OUT/build_baseline.log" 2>&1; then
  rm -rf /tmp/baseline_pkg && mkdir -p /tmp/baseline_pkg && cp -r python/stochinfer /tmp/baseline_pkg/ &&
  cp "$BUILD"/_core*.so /tmp/baseline_pkg/stochinfer/ &&
  PYTHONPATH=/tmp/baseline_pkg timeout 120 $PY bench/cuda_scaling.py 2>&1 | tee "$OUT/scaling_baseline.txt" | tee -a "$SUMMARY"
else
  tail -20 "$OUT/build_baseline.log"; step "baseline build FAILED"
fi
cp /tmp/current_simulate_cuda.cu cuda/simulate_cuda.cu
fi
step "done"
