"""Exact 2D search over every kept candidate (top_2d = "all")."""
import numpy as np
import pytest

import formulasearch as fs
from formulasearch import _core


def test_all_pairs_is_exact_on_a_brute_force_sized_case():
    # Two properties on 28 compounds: 7,040 candidates, ~2e7 pairs, all scored
    # by numpy (closed form over its own correlation matrix), winner refit by lstsq.
    data = fs.datasets.octet()
    small = fs.load_dataset(data.compounds.iloc[::3].reset_index(drop=True), data.atoms, "dE",
                            {"radius": ["rs", "rp"]})
    config = {"data": {"properties": ["rs", "rp"]},
              "search": {"max_dim": 2, "top_2d": "all", "keep": 3, "max_pair_corr": 0.9}}
    result = fs.run(config, dataset=small)
    prim = fs.build_primaries(small, ["rs", "rp"])
    gen = _core.PaperGenerator(prim.matrix, prim.names, prim.classes, 1)
    scr = _core.screen(gen, prim.target, keep=len(gen), dedup="value")
    values = gen.evaluate(scr.indices.tolist())
    y = prim.target
    z = values - values.mean(axis=1, keepdims=True)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    t = (y - y.mean()) / np.linalg.norm(y - y.mean())
    G, b = z @ z.T, z @ t
    best = (-1.0, None)
    for i in range(len(values) - 1):
        g, bj = G[i, i + 1:], b[i + 1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = (b[i] ** 2 + bj ** 2 - 2 * b[i] * bj * g) / (1 - g ** 2)
        r2[np.abs(g) >= 0.9] = -1
        j = int(np.argmax(r2))
        if r2[j] > best[0]:
            best = (r2[j], (i, i + 1 + j))
    X = np.column_stack([np.ones(len(y)), values[best[1][0]], values[best[1][1]]])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    rmse = np.sqrt(np.mean((y - X @ coef) ** 2))
    assert result.best(2).rmse == pytest.approx(rmse, rel=1e-9)
    assert result.best(2).intercept == pytest.approx(coef[0], rel=1e-8)
    assert result.search_stats["2D"]["combinations"] == len(values) * (len(values) - 1) // 2


def test_all_pairs_at_least_as_good_as_top_n_pool():
    config = {"features": {"method": 2}, "search": {"max_dim": 2, "keep": 1}}
    top = fs.run({**config, "search": {**config["search"], "top_2d": 500}})
    everything = fs.run({**config, "search": {**config["search"], "top_2d": "all"}})
    assert everything.best(2).rmse <= top.best(2).rmse + 1e-12
    assert everything.search_stats["2D"]["candidates"] == everything.n_kept
    assert everything.search_stats["2D"]["gram_gflop"] > 0


def test_top_2d_keyword_is_validated():
    with pytest.raises(fs.ConfigError, match="top_2d"):
        fs.Config.from_dict({"search": {"top_2d": "everything"}})
