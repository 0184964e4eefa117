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
