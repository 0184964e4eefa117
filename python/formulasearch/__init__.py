"""formulasearch: exhaustive search for simple formulas of materials properties.

Reproduces and extends the formula search of Gajera et al. (arXiv 2202.07372),
itself an extension of Ghiringhelli et al., PRL 114, 105503 (2015).

    >>> import formulasearch as fs
    >>> result = fs.run({"search": {"max_dim": 2}})
    >>> result.table(1).head()
"""
from . import datasets
from ._core import Formula
from .config import Config
from .datasets import Dataset, load_dataset
from .errors import ConfigError, FormulaSearchError, InputError
from .entries import EntryFilter, load_entries
from .pipeline import run
from .primaries import Primaries, build_primaries, primaries_from_table
from .results import Model, Result, load_result

__version__ = "0.1.0"

__all__ = [
    "Config", "ConfigError", "Dataset", "EntryFilter", "Formula", "FormulaSearchError", "InputError", "Model",
    "Primaries", "Result", "build_primaries", "datasets", "load_dataset", "load_entries", "load_result",
    "primaries_from_table", "run",
]


_LAZY_MODULES = ("plots", "report", "elements", "symbolic")  # matplotlib, pymatgen, sympy: loaded on use


def __getattr__(name):
    # The estimators need the optional scikit-learn (slow to import): loaded on first use.
    if name in ("FormulaRegressor", "FormulaClassifier"):
        from . import sklearn

        return getattr(sklearn, name)
    if name in _LAZY_MODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
