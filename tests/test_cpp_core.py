"""The C++ core on its own: configure it as a plain CMake project (no Python),
build and run its unit tests with ctest, install it, and build the example
program in examples/cpp against the installed find_package(formulasearch)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import formulasearch as fs

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def installed_core(tmp_path_factory):
    base = tmp_path_factory.mktemp("cpp")
    build, prefix = base / "build", base / "prefix"
    _run(["cmake", "-S", ROOT, "-B", build, "-DFORMULASEARCH_TESTS=ON", "-DFORMULASEARCH_PYTHON=OFF",
          "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_INSTALL_PREFIX={prefix}", f"-DPython_EXECUTABLE={sys.executable}"])
    _run(["cmake", "--build", build, "--parallel", "2"])
    _run(["cmake", "--install", build])
    return build, prefix


def test_cpp_unit_tests_pass(installed_core):
    build, _ = installed_core
    ctest = _run(["ctest", "--output-on-failure"], cwd=build)
    assert "100% tests passed" in ctest.stdout


def test_cpp_example_builds_against_installed_package_and_matches_python(installed_core, tmp_path):
    _, prefix = installed_core
    assert (prefix / "include" / "formulasearch" / "combination_search.hpp").exists()
    example = tmp_path / "example"
    _run(["cmake", "-S", ROOT / "examples" / "cpp", "-B", example, f"-DCMAKE_PREFIX_PATH={prefix}",
          "-DCMAKE_BUILD_TYPE=Release"])
    _run(["cmake", "--build", example])

    data = fs.datasets.octet()
    atoms, compounds = tmp_path / "atoms.csv", tmp_path / "compounds.csv"
    data.atoms.reset_index().to_csv(atoms, index=False)
    data.compounds.to_csv(compounds, index=False)
    classes = ";".join(",".join(props) for props in data.classes.values())
    out = _run([example / "search2d", atoms, compounds, data.target, classes, "1", "2000"]).stdout
    got = dict(line.split(": ", 1) for line in out.strip().splitlines())

    result = fs.run({"search": {"max_dim": 2, "top_2d": 2000, "keep": 1}})
    best = result.best(2)
    assert int(got["candidates"]) == result.n_candidates
    assert int(got["kept"]) == result.n_kept
    assert [got["formula_1"], got["formula_2"]] == best.formulas
    assert float(got["rmse"]) == pytest.approx(best.rmse, rel=1e-9)
    assert float(got["intercept"]) == pytest.approx(best.intercept, rel=1e-9, abs=1e-12)
