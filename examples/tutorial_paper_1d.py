"""Tutorial: reproduce the 1D result of Gajera et al. (arXiv 2202.07372) and plot it.

Run:  python examples/tutorial_paper_1d.py  [output folder, default: tutorial_output]

The paper searched 106,400 formulas (its "generation 1") for the energy
difference dE between the rocksalt and zincblende structures of 82 octet
binary compounds, and found (rp_B^3 - exp(rs_B))/rp_A^2 with RMSE 0.11926 eV.
"""
import sys
from pathlib import Path

import pandas as pd

import formulasearch as fs

out = Path(sys.argv[1] if len(sys.argv) > 1 else "tutorial_output")
out.mkdir(exist_ok=True)

# 1. The data: 82 compounds, atomic properties of site A and site B (PRL 114, 105503).
data = fs.datasets.octet()
print(data.compounds.head(), "\n")

# 2. The search, as the authors ran it: generation 1, string dedup (their rule),
#    1D, 2D over the best 5000 and 3D over the best 1000; leave-one-out errors,
#    and nested CV (the whole search redone in 10 outer folds).
result = fs.run({"features": {"method": 1, "dedup": "string"}, "search": {"max_dim": 3, "keep": 5}})
print(result.summary(3))

# 3. The paper's formula, with its numbers.
best = result.best(1)
print(f"\nbest 1D formula: {best.formulas[0]}")
print(f"RMSE {best.rmse:.5f} eV (paper: 0.11926), slope {best.coefficients[0]:.4f} (paper: -0.7507), "
      f"intercept {best.intercept:.4f} (paper: -0.3170)")
print("as sympy:", result.sympy(0), "  LaTeX:", best.latex[0])

# 4. Plots: predicted vs computed dE, and the 2D map coloured by the stable structure.
from formulasearch import plots  # noqa: E402  (matplotlib is imported only here)

plots.parity(result, model=0, path=out / "parity_1d.png")
plots.descriptor_map(result, path=out / "descriptor_map_2d.png")
plots.residuals(result, model=0, path=out / "residuals_1d.png")

# 5. Save everything, reload, and predict new compounds (pymatgen reads the formulas).
result.to_json(out / "results.json")
again = fs.load_result(out / "results.json")
print(fs.predict(again, pd.DataFrame({"formula": ["GaN", "ZnO", "NaCl"]}), dimension=1))
from formulasearch.report import export  # noqa: E402

export(again, out / "report.html")
print(f"\nwritten to {out}/")
