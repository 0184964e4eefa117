"""Tests of the command line: python -m formulasearch.cli run / show, and its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BEST_GEN1 = "(rp_B^3 - exp(rs_B))/rp_A^2"

ATOMS_CSV = """symbol,Z,IP,EA,rs,rp
Ga,31,-5.818,-0.108,0.994,1.33
As,33,-9.262,-1.839,0.847,1.043
In,49,-5.537,-0.256,1.134,1.498
P,15,-9.751,-1.92,0.826,0.966
Al,13,-5.78,-0.313,1.091,1.384
Sb,51,-8.468,-1.847,1.0,1.232
"""

COMPOUNDS_CSV = """A,B,dE
Ga,As,0.274
Ga,P,0.341
In,As,0.122
In,P,0.17
Al,As,0.213
Al,P,0.219
Al,Sb,0.156
Ga,Sb,0.154
In,Sb,0.078
"""


def cli(*args, cwd=None):
    env = dict(os.environ)
    if env.get("PYTHONPATH"):  # keep a relative entry valid in another working directory
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    return subprocess.run(
        [sys.executable, "-m", "formulasearch.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )


def assert_clean_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip("\n").splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("formulasearch: error:"), proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture()
def small_data(tmp_path):
    (tmp_path / "atoms.csv").write_text(ATOMS_CSV)
    (tmp_path / "compounds.csv").write_text(COMPOUNDS_CSV)
    return tmp_path


def write_config(folder: Path, data: str = "", extra: str = "") -> Path:
    path = folder / "job.toml"
    path.write_text(
        data + '[features]\nmethod = 1\ndedup = "string"\n' + extra
        + "\n[search]\nmax_dim = 2\ntop_2d = 300\nkeep = 3\n"
    )
    return path


CUSTOM_DATA = '[data]\ncompounds = "compounds.csv"\natoms = "atoms.csv"\ntarget = "dE"\n\n'
CUSTOM_CLASSES = '\n[features.classes]\nenergy = ["IP", "EA"]\nradius = ["rs", "rp"]\n'


def test_run_octet_and_show(tmp_path):
    config = write_config(tmp_path)
    out = tmp_path / "out.json"
    proc = cli("run", config, "-o", out, "-q")
    assert proc.returncode == 0, proc.stderr
    assert "1D models" in proc.stdout and "2D models" in proc.stdout
    assert "106,400" in proc.stdout and "105,993" in proc.stdout
    assert BEST_GEN1 in proc.stdout
    assert "Traceback" not in proc.stderr
    raw = json.loads(out.read_text())
    assert raw["n_candidates"] == 106_400 and raw["n_kept"] == 105_993
    assert raw["models"][0]["formulas"] == [BEST_GEN1]
    assert abs(raw["models"][0]["rmse"] - 0.11926) <= 1e-5
    assert sorted({m["dimension"] for m in raw["models"]}) == [1, 2]

    import formulasearch as fs

    loaded = fs.load_result(out)
    assert loaded.best(1).formulas == [BEST_GEN1]

    shown = cli("show", out)
    assert shown.returncode == 0, shown.stderr
    assert "1D models" in shown.stdout and BEST_GEN1 in shown.stdout
    assert "Traceback" not in shown.stderr
    shown = cli("show", out, "-n", "1")
    assert shown.returncode == 0
    assert shown.stdout.count("0.11926") == 1


def test_run_custom_csv_with_relative_paths(small_data):
    config = write_config(small_data, CUSTOM_DATA, CUSTOM_CLASSES)
    proc = cli("run", config.name, "-o", "res.json", "--threads", "1", cwd=small_data)
    assert proc.returncode == 0, proc.stderr
    assert "1D models" in proc.stdout
    raw = json.loads((small_data / "res.json").read_text())
    assert raw["n_candidates"] > 0 and raw["models"]


def test_unknown_config_key(tmp_path):
    config = write_config(tmp_path, extra="colour = \"red\"\n")
    assert_clean_error(cli("run", config), "colour")


def test_unknown_element_in_compounds(small_data):
    (small_data / "compounds.csv").write_text(COMPOUNDS_CSV + "Qq,As,0.3\n")
    config = write_config(small_data, CUSTOM_DATA, CUSTOM_CLASSES)
    assert_clean_error(cli("run", config), "Qq")


def test_property_naming_a_missing_column(small_data):
    data = CUSTOM_DATA.replace('target = "dE"\n', 'target = "dE"\nproperties = ["IP", "EA", "chi"]\n')
    config = write_config(small_data, data)
    assert_clean_error(cli("run", config), "chi")


def test_nan_in_atoms_data_for_a_used_element(small_data):
    (small_data / "atoms.csv").write_text(ATOMS_CSV.replace("In,49,-5.537,", "In,49,,"))
    config = write_config(small_data, CUSTOM_DATA, CUSTOM_CLASSES)
    assert_clean_error(cli("run", config), "In", "IP")


def test_class_naming_a_missing_property(small_data):
    classes = '\n[features.classes]\nenergy = ["IP", "EA"]\nradius = ["rs", "rp", "rd"]\n'
    config = write_config(small_data, CUSTOM_DATA, classes)
    assert_clean_error(cli("run", config), "rd")


def test_class_naming_a_missing_property_on_octet(tmp_path):
    config = write_config(tmp_path, extra='\n[features.classes]\nenergy = ["IP", "electronegativity"]\n')
    assert_clean_error(cli("run", config), "electronegativity")


def test_missing_config_file(tmp_path):
    assert_clean_error(cli("run", tmp_path / "absent.toml"), "absent.toml")


def test_bad_config_value(tmp_path):
    path = tmp_path / "job.toml"
    path.write_text("[features]\nmethod = 5\n")
    assert_clean_error(cli("run", path), "method")


def test_show_missing_results_file(tmp_path):
    assert_clean_error(cli("show", tmp_path / "absent.json"))


def test_show_of_a_non_results_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    assert_clean_error(cli("show", path))


@pytest.mark.parametrize("content", ['{"models": []}', "[1, 2]", '{"config": {}, "n_candidates": 1, "n_kept": 1, '
                                     '"models": [], "unexpected": 0}'])
def test_show_of_a_malformed_results_file(tmp_path, content):
    """A JSON file that is not a results object is a user error (exit 2), not a crash."""
    path = tmp_path / "x.json"
    path.write_text(content)
    assert_clean_error(cli("show", path))


def test_log_progress_prints_sparse_lines_with_the_time_left():
    """Without a terminal (a batch job's log), progress is a plain line at most every `interval` seconds with
    the share done and the time left extrapolated from the time spent; a stage never reported stays silent."""
    import io

    from formulasearch.cli import LogProgress

    now = [0.0]
    out = io.StringIO()
    progress = LogProgress(out, interval=30.0, clock=lambda: now[0])
    for t, done in [(0, 0), (10, 1), (31, 2), (45, 3), (62, 4)]:  # 10 folds, about one every 15 s
        now[0] = float(t)
        progress("nested CV", done, 10)
    now[0] = 20.0 + 62
    progress("report", 1, 1)  # a new stage closes the first; this one is too short to report
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines == ["formulasearch: nested CV: 20 % (2 of 10) after 31 s, about 2 min left",
                     "formulasearch: nested CV: 40 % (4 of 10) after 62 s, about 93 s left",
                     "formulasearch: nested CV: done in 82 s"]
    # A stage that comes back (SIS + l0 after each dimension's screening) is timed from its return, at the
    # rate of the work done since: 1 fold in 20 s, then 4 in 52 s.
    out.truncate(0), out.seek(0)
    for t, done in [(100, 20), (120, 21), (136, 23), (152, 24)]:
        now[0] = float(t)
        progress("nested SIS + l0", done, 30)
    assert out.getvalue().splitlines() == [
        "formulasearch: nested SIS + l0: 70 % (21 of 30) after 20 s, about 3 min left",
        "formulasearch: nested SIS + l0: 80 % (24 of 30) after 52 s, about 78 s left"]


def test_run_without_a_terminal_is_silent_when_short(tmp_path):
    """A short run piped to a file prints no progress lines on stderr (only after 30 s would it)."""
    proc = cli("run", "-n", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "formulasearch:" not in proc.stderr
