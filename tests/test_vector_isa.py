"""The kernels' 8-wide vector helpers on every instruction set this machine runs.

simd.hpp takes another path for AVX-512, AVX2 and SSE2 (the portable build), and only the
native one is built with the package. cpp/tests/test_simd.cpp checks the helpers lane by
lane against scalar arithmetic and libm; here it is compiled (header-only) for the native
instruction set, for the same without AVX-512 (AVX2 on machines that have it) and for the
x86-64 baseline, and each binary must pass."""
import os
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CXX = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")

pytestmark = [pytest.mark.skipif(CXX is None, reason="no C++ compiler"),
              pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 instruction sets")]


@pytest.mark.parametrize("flags", [["-march=native"], ["-march=native", "-mno-avx512f"], []],
                         ids=["native", "native-without-avx512", "x86-64-baseline"])
def test_vector_helpers_match_scalar_arithmetic(tmp_path, flags):
    exe = tmp_path / "test_simd"
    build = subprocess.run([CXX, "-O2", "-std=gnu++17", *flags, "-Wno-psabi", f"-I{ROOT / 'cpp' / 'src'}",
                            f"-I{ROOT / 'cpp' / 'tests'}", str(ROOT / "cpp" / "tests" / "test_simd.cpp"), "-o", str(exe)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0 and "test_simd: ok" in run.stdout, run.stdout + run.stderr[-3000:]
