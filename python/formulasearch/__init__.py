"""formulasearch: exhaustive search for simple formulas of materials properties.

Reproduces and extends the formula search of Gajera et al. (arXiv 2202.07372),
itself an extension of Ghiringhelli et al., PRL 114, 105503 (2015).

    >>> import formulasearch as fs
    >>> result = fs.run({"search": {"max_dim": 2}})
    >>> result.table(1).head()

The package is layered (docs/architecture.md): data -> search -> validation ->
pipeline / prediction -> report, sklearn, cli. This module only re-exports.
"""
from ._core import Formula
from ._version import __version__
from .config import Config
from .data import datasets
from .data.datasets import Dataset, load_dataset
from .data.entries import EntryFilter, load_entries
from .data.primaries import Primaries, build_primaries, primaries_from_table
from .errors import ConfigError, FormulaSearchError, InputError
from .pipeline import run
from .prediction import predict, predict_entries, predict_table
from .results import Model, Result, load_result

__all__ = [
    "Config", "ConfigError", "Dataset", "EntryFilter", "Formula", "FormulaSearchError", "InputError", "Model",
    "Primaries", "Result", "__version__", "build_primaries", "datasets", "load_dataset", "load_entries",
    "load_result", "predict", "predict_entries", "predict_table", "primaries_from_table", "run",
]

# Loaded on first use: matplotlib (plots), scikit-learn (the estimators).
_LAZY = {"plots": "formulasearch.report.plots", "report": "formulasearch.report",
         "elements": "formulasearch.data.elements", "FormulaRegressor": "formulasearch.sklearn",
         "FormulaClassifier": "formulasearch.sklearn"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        return getattr(module, name) if name.startswith("Formula") else module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
