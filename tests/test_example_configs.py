"""The example configurations in examples/configs are valid (and the light one runs)."""
from pathlib import Path

import pytest

import formulasearch as fs

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "examples" / "configs").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_example_config_is_valid(path):
    config = fs.Config.from_toml(path)
    assert config.to_dict()["search"]["max_dim"] >= 1


def test_sisso_prl2015_example_beats_the_prl_descriptors():
    result = fs.run(Path(__file__).resolve().parents[1] / "examples" / "configs" / "sisso_prl2015.toml")
    # PRL 2015 descriptors refit on this data: 0.1423, 0.0988, 0.0762 (1D, 2D, 3D).
    for dim, bound in ((1, 0.1423), (2, 0.0988), (3, 0.0762)):
        assert result.best(dim).rmse <= bound


def test_tutorial_reproduces_the_paper_and_writes_its_plots(tmp_path):
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "examples" / "tutorial_paper_1d.py"
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "best 1D formula: (rp_B^3 - exp(rs_B))/rp_A^2" in proc.stdout
    assert "RMSE 0.11926 eV" in proc.stdout
    for name in ("parity_1d.png", "descriptor_map_2d.png", "residuals_1d.png", "report.html", "results.json"):
        assert (tmp_path / name).stat().st_size > 1000
