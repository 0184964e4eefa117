"""The C++ core on its own: configure it as a plain CMake project (no Python
extension), build its unit tests and run them with ctest."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_cpp_unit_tests_pass(tmp_path):
    build = tmp_path / "build"
    configure = subprocess.run(
        ["cmake", "-S", str(ROOT), "-B", str(build), "-DFORMULASEARCH_TESTS=ON", "-DFORMULASEARCH_PYTHON=OFF",
         "-DCMAKE_BUILD_TYPE=Release", f"-DPython_EXECUTABLE={sys.executable}"],
        capture_output=True, text=True)
    assert configure.returncode == 0, configure.stdout + configure.stderr
    compile_ = subprocess.run(["cmake", "--build", str(build), "--parallel", "2"], capture_output=True, text=True)
    assert compile_.returncode == 0, compile_.stdout[-4000:] + compile_.stderr[-4000:]
    ctest = subprocess.run(["ctest", "--output-on-failure"], cwd=build, capture_output=True, text=True)
    assert ctest.returncode == 0, ctest.stdout + ctest.stderr
    assert "100% tests passed" in ctest.stdout
