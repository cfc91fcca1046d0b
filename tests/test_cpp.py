"""The C++ core without Python: builds the CMake project, runs its C++ tests
(ctest), installs it, and builds + runs tests/cmake_consume against the install.
CPU-only build: the CUDA objects are compiled (and exercised) by the package build."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))}\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if shutil.which("cmake") is None:
        pytest.fail("cmake not found: pip install '.[test]' provides it")
    build = tmp_path_factory.mktemp("cpp_build")
    prefix = tmp_path_factory.mktemp("cpp_prefix")
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    _run(["cmake", "-S", str(ROOT), "-B", str(build), *gen, f"-DPython_EXECUTABLE={sys.executable}",
          f"-DCMAKE_INSTALL_PREFIX={prefix}", "-DSTOCHINFER_BUILD_TESTS=ON", "-DCMAKE_BUILD_TYPE=Release",
          "-DSTOCHINFER_CUDA=OFF"])
    _run(["cmake", "--build", str(build), "--parallel", str(os.cpu_count() or 2)])
    return build, prefix


def test_ctest_passes(installed):
    build, _ = installed
    res = _run(["ctest", "--test-dir", str(build), "--output-on-failure"])
    assert "tests passed" in res.stdout


def test_installed_package_is_consumable(installed, tmp_path):
    build, prefix = installed
    _run(["cmake", "--install", str(build)])
    consumer = tmp_path / "consumer"
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    # only the install prefix: the package config finds Eigen where the build found it (e.g. cmeel-eigen)
    _run(["cmake", "-S", str(ROOT / "tests" / "cmake_consume"), "-B", str(consumer), *gen,
          f"-DCMAKE_PREFIX_PATH={prefix}"])
    _run(["cmake", "--build", str(consumer)])
    exe = consumer / "consumer"
    res = _run([str(exe)])
    assert "mean EP rate" in res.stdout
    # Eigen in the consumer beside the network classes, headers in an awkward order (review, session 24)
    res = _run([str(consumer / "eigen_and_networks")])
    assert "eigen beside networks: sum" in res.stdout
