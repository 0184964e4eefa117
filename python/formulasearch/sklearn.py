"""scikit-learn estimators around the SISSO route (``FormulaRegressor``) and the
classification route (``FormulaClassifier``).

    >>> from formulasearch.sklearn import FormulaRegressor
    >>> reg = FormulaRegressor(max_dim=2).fit(X, y)        # X: DataFrame or array
    >>> reg.formulas_, reg.coef_, reg.intercept_
    >>> reg.predict(X_new); reg.score(X_test, y_test)

The columns of X are the primary variables; the operator feature space (SISSO's
``ops`` and ``rung``) is grown from them and searched by SIS + l0, exactly as
``formulasearch.run`` does with ``[features] generator = "sisso"``. The model
used for prediction is intercept + coef_ . (values of formulas_).

    >>> clf = FormulaClassifier(max_dim=2).fit(X, labels)  # any labels: str, int, bool
    >>> clf.formulas_, clf.classes_; clf.predict(X_new); clf.score(X_test, labels_test)

FormulaClassifier searches the same operator space for formulas that separate
the classes (``[search] task = "classification"``) and predicts through a
linear separator of the chosen formulas (logistic, or with criterion="accuracy"
the accuracy score's own).

scikit-learn is an optional dependency (``pip install formulasearch[sklearn]``).
"""
from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .config import Config
from .data.primaries import Primaries, with_tasks
from .data.feature_table import header_units, variable_names
from .errors import ConfigError
from .pipeline import run
from .results import Model, Result
from .search.classification import predict as predict_classes, separators

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(estimator, X="no_validation", y="no_validation", reset=True, **kwargs):
        return estimator._validate_data(X, y, reset=reset, **kwargs)

__all__ = ["FormulaClassifier", "FormulaRegressor"]

# Features whose relative spread |std/mean| is below this are constant up to
# rounding (e.g. exp of a constant column): they are dropped before the l0 fit,
# which could not tell them from the intercept.
_RELATIVE_SPREAD_FLOOR = 1e-10
MIN_SAMPLES = 3  # the core's screening fits a line and judges it: 3 samples at least


class FormulaRegressor(RegressorMixin, BaseEstimator):
    """Symbolic regression by SISSO (sure independence screening + l0) as a scikit-learn regressor.

    The columns of X are primary variables. Features are built from them with
    the operators ``ops`` up to ``rung`` levels deep (rung 1: ``x0/x1``,
    ``exp(x2)``, ...; rung 2: operators of those), then the best linear models
    of 1..``max_dim`` features are found by SIS + exhaustive l0 search. The
    model used by :meth:`predict` is ``intercept_ + coef_ @ [f(X) for f in
    formulas_]``.

    Parameters
    ----------
    ops : list of str, list of lists of str, or None
        Operators (``+ - * / |-| exp exp- log sqrt cbrt ^-1 ^2 ^3 ^6 abs sin
        cos sqrt|``), one list for all rungs or one list per rung. None: the
        SISSO default ``+ - * / |-| exp ^2 ^3 sqrt ^-1``.
    rung : int, default=1
        Levels of operators applied (1..3).
    max_dim : int, default=2
        Largest number of features in one model (1..6).
    n_sis : int, default=100
        Features kept by each SIS screening.
    n_residual : int, default=1
        Screen against the residuals of this many best models of the previous dimension.
    max_complexity : int, default=0
        Operators per feature at most (0: no limit).
    dimension : int or None, default=None
        The dimension of the model :meth:`predict` uses (its best model). None:
        the best model of the highest dimension found.
    units : dict or None, default=None
        Unit of each column (``{"IP_A": "eV", "r": "angstrom"}``; "1" for
        dimensionless), keyed by the column names of X (``x0``, ``x1``, ... for
        an array). With units, only dimensionally consistent features are built.
    strict_units : bool, default=False
        Apply exp/log/sin/cos to dimensionless features only; needs the unit of every column.
    threads : int, default=0
        Worker threads of the C++ core (0: all cores).
    keep : int, default=10
        Models kept per dimension in ``result_``.
    max_abs, min_abs : float, default=1e5, 1e-3
        SISSO's ``fmax_max`` / ``fmax_min``: a feature whose largest |value| on
        the training data is above ``max_abs`` or below ``min_abs`` is dropped.
        These bounds are absolute, so they depend on the scale of X: widen them
        (e.g. ``min_abs=0``) for data of very small or large magnitude.
    validation : {"none", "loo", "kfold", "splits"}, default="none"
        Out-of-sample error of every kept model, stored in ``result_`` (``cv_rmse``).
        Off by default for speed; it does not change which model predicts.
    nested : bool, default=False
        Also run nested cross-validation of the whole search (``result_.validation["nested"]``); slow.
    task_column : str or None, default=None
        Multi-task SISSO from a DataFrame: the column of X naming each sample's
        task (not a feature). ``fit(X, y, groups=...)`` gives the tasks of an
        array instead. One descriptor is then shared by the tasks, with an
        intercept and coefficients per task; :meth:`predict` needs each new
        sample's task (its ``task_column`` cell, or ``groups=``).

    Attributes
    ----------
    result_ : formulasearch.Result
        Everything the search produced (all kept models, timings, messages).
    model_ : formulasearch.Model
        The model :meth:`predict` uses.
    formulas_ : list of str
        Its formulas (readable infix, in ``variable_names_``).
    coef_ : ndarray of shape (n_formulas,), or (n_tasks, n_formulas) for multi-task
        Its coefficients, one per formula (per task).
    intercept_ : float, or ndarray of shape (n_tasks,) for multi-task
    tasks_ : list of str or None
        Multi-task: the task names (rows of ``coef_``), in order of first appearance; None otherwise.
    dimension_ : int
        Number of formulas of ``model_`` (0 for a constant model).
    variable_names_ : list of str
        The names of the columns inside the formulas: ``feature_names_in_``
        where these are identifiers, otherwise sanitised (``"band gap (eV)"``
        -> ``"band_gap_eV"``); ``x0, x1, ...`` for arrays.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X was a DataFrame with string column names.

    Notes
    -----
    Degenerate data does not end in an obscure error: constant columns are left
    out of the search (their effect is the intercept's); a constant target gives
    the exact constant model; fewer than 3 samples is a ValueError. If the
    search finds no usable feature (every one filtered, or a numerically
    singular refit), a lower ``max_dim`` is tried, then, with a warning, the
    best least-squares line in one raw column (or the mean of y when every
    column is constant). Predictions of formulas undefined at new points (a
    division by zero, log of a negative value) are NaN, with a warning.

    ``sklearn.utils.estimator_checks.check_estimator(FormulaRegressor())``
    passes every check (scikit-learn 1.9): there are no expected failures.
    """

    def __init__(self, ops=None, rung=1, max_dim=2, n_sis=100, n_residual=1, max_complexity=0, dimension=None,
                 units=None, strict_units=False, threads=0, keep=10, max_abs=1e5, min_abs=1e-3,
                 validation="none", nested=False, task_column=None):
        self.task_column = task_column
        self.ops = ops
        self.rung = rung
        self.max_dim = max_dim
        self.n_sis = n_sis
        self.n_residual = n_residual
        self.max_complexity = max_complexity
        self.dimension = dimension
        self.units = units
        self.strict_units = strict_units
        self.threads = threads
        self.keep = keep
        self.max_abs = max_abs
        self.min_abs = min_abs
        self.validation = validation
        self.nested = nested

    # ---------------------------------------------------------------- fit

    def fit(self, X, y, groups=None):
        """Search formulas of the columns of X for y; returns self. `groups`: the task of each sample
        (multi-task SISSO; or ``task_column``)."""
        X, groups = self._split_tasks(X, groups)
        X, y = _validate_data(self, X, y, dtype=np.float64, y_numeric=True, ensure_min_samples=MIN_SAMPLES)
        n_features = X.shape[1]
        y = np.array(y, dtype=np.float64, order="C", copy=True)  # writable, even from a read-only memmap
        columns = _column_names(self, n_features)
        headers, units = _column_units(self, columns)
        names = variable_names(headers)
        self.units_ = dict(zip(headers, units))
        config = self._config()  # ConfigError (a ValueError) for bad settings, before any work
        dimension = _checked_dimension(self.dimension, self.max_dim)

        matrix = np.array(X.T, dtype=np.float64, order="C", copy=True)  # variables x samples
        varying, notes = _varying_columns(matrix, names)
        self.tasks_ = None
        if groups is not None:  # multi-task: no fallback model, every failure is said
            if len(groups) != y.size:
                raise ValueError(f"groups has {len(groups)} entries for {y.size} samples: give one task per sample")
            if not varying:
                raise ValueError("multi-task: every column of X is constant")
            prim = with_tasks(_column_primaries(matrix, names, units, varying, y.copy(), headers), groups)
            self.tasks_ = list(prim.task_names)
            result = run(config, primaries=prim)
            if not result.models:
                raise ValueError("multi-task: no formula could be fitted (" + "; ".join(result.messages) + ")")
        elif _is_constant(y):
            result = _fallback_result(config, matrix, y, names, [], notes + ["the target is constant"])
        elif not varying:
            result = _fallback_result(config, matrix, y, names, [], notes + ["every column is constant"])
        else:
            prim = _column_primaries(matrix, names, units, varying, y.copy(), headers)
            result = self._search(config, prim, matrix, y, names, varying, notes)
        result.messages = notes + [m for m in result.messages if m not in notes]

        model = _choose(result, dimension)
        self.result_ = result
        self.model_ = model
        self.variable_names_ = names
        self.formulas_ = list(model.formulas)
        if model.multitask:
            self.coef_ = np.asarray(model.task_coefficients, dtype=np.float64).reshape(len(self.tasks_), -1)
            self.intercept_ = np.asarray(model.task_intercepts, dtype=np.float64)
        else:
            self.coef_ = np.asarray(model.coefficients, dtype=np.float64)
            self.intercept_ = float(model.intercept)
        self.dimension_ = int(model.dimension)
        return self

    def _split_tasks(self, X, groups):
        """X without its task column, and the tasks (the column's cells, or `groups`)."""
        if self.task_column is None:
            return X, groups
        if not hasattr(X, "columns") or self.task_column not in X.columns:
            raise ValueError(f"task_column = {self.task_column!r} names a column of X, a DataFrame without it")
        if groups is not None:
            raise ValueError("give the tasks once: task_column or groups, not both")
        return X.drop(columns=[self.task_column]), list(X[self.task_column])
    def _search(self, config: dict, prim: Primaries, matrix: np.ndarray, y: np.ndarray, names: list[str],
                varying: list[int], notes: list[str]) -> Result:
        """formulasearch.run on the primaries; a lower max_dim, then a raw line, if it cannot finish."""
        failures = []
        for max_dim in range(config["search"]["max_dim"], 0, -1):
            config["search"]["max_dim"] = max_dim
            try:
                result = run(config, primaries=prim)
            except ConfigError:
                raise
            except ValueError as exc:  # numerically degenerate data (e.g. a singular refit)
                failures.append(f"max_dim = {max_dim}: {exc}")
                continue
            if getattr(result, "interrupted", False):  # Ctrl-C: never a silently partial fit
                raise KeyboardInterrupt("FormulaRegressor.fit was interrupted")
            if result.models:
                if failures:
                    notes.append("the search failed at a higher dimension: " + "; ".join(failures))
                    warnings.warn(f"FormulaRegressor: {notes[-1]}; max_dim = {max_dim} was used", UserWarning,
                                  stacklevel=3)
                return result
            failures.append(f"max_dim = {max_dim}: no feature survived the filters"
                            + (f" ({'; '.join(result.messages)})" if result.messages else ""))
            break  # a lower dimension finds no feature either
        reason = "no formula could be fitted (" + "; ".join(failures) + "); using the best line in one column"
        warnings.warn(f"FormulaRegressor: {reason}", UserWarning, stacklevel=3)
        return _fallback_result(config, matrix, y, names, varying, notes + [reason])

    def _config(self) -> dict[str, Any]:
        if self.validation not in ("none", "loo", "kfold", "splits"):
            raise ValueError(f"validation must be 'none', 'loo', 'kfold' or 'splits', not {self.validation!r}")
        config = {"features": _sisso_features(self),
                  "search": {"method": "sis-l0", "max_dim": _int("max_dim", self.max_dim),
                             "n_sis": _int("n_sis", self.n_sis), "n_residual": _int("n_residual", self.n_residual),
                             "keep": _int("keep", self.keep), "threads": _int("threads", self.threads)},
                  "validation": {"method": self.validation, "nested": bool(self.nested)}}
        Config.from_dict(config)  # validate now: a bad setting is an error, never a fallback
        return config

    # ------------------------------------------------------------ predict

    def predict(self, X, groups=None):
        """intercept_ + coef_ . (values of formulas_ on X); multi-task: each sample with its task's
        (`groups`, or X's ``task_column``)."""
        check_is_fitted(self)
        X, groups = self._split_tasks(X, groups)
        X = _validate_data(self, X, dtype=np.float64, reset=False)
        values = self._formula_values(X, self.model_)
        if self.tasks_ is not None:
            prediction = self.model_.predictions(values, self._task_codes(groups, X.shape[0]))
        elif groups is not None:
            raise ValueError("groups applies to a multi-task fit (fit with groups or task_column)")
        else:
            prediction = np.full(X.shape[0], self.intercept_, dtype=np.float64)
            if values.shape[0]:
                prediction += self.coef_ @ values
        if not np.all(np.isfinite(prediction)):
            bad = int(np.count_nonzero(~np.isfinite(prediction)))
            warnings.warn(f"FormulaRegressor: the formulas are not defined (or overflow) at {bad} of {X.shape[0]} "
                          "samples; their predictions are NaN/inf", RuntimeWarning, stacklevel=2)
        return prediction

    def _task_codes(self, groups, n: int) -> np.ndarray:
        if groups is None:
            raise ValueError(f"a multi-task model predicts with each sample's task: give groups (tasks: "
                             f"{', '.join(self.tasks_)})")
        known = {name: k for k, name in enumerate(self.tasks_)}
        names = [str(g).strip() for g in groups]
        if len(names) != n:
            raise ValueError(f"groups has {len(names)} entries for {n} samples: give one task per sample")
        unknown = [g for g in names if g not in known]
        if unknown:
            raise ValueError(f"task {unknown[0]!r} was not among the tasks of the fit ({', '.join(self.tasks_)})")
        return np.array([known[g] for g in names], dtype=int)

    def transform_formulas(self, X, model: Model | None = None) -> np.ndarray:
        """Values of the formulas of `model` (default: ``model_``) on X, samples x formulas."""
        check_is_fitted(self)
        X, _ = self._split_tasks(X, None) if self.task_column is not None else (X, None)
        X = _validate_data(self, X, dtype=np.float64, reset=False)
        return self._formula_values(X, self.model_ if model is None else model).T

    def _formula_values(self, X: np.ndarray, model: Model) -> np.ndarray:
        return _formula_values(self.variable_names_, X, model)


class FormulaClassifier(ClassifierMixin, BaseEstimator):
    """Formulas that separate classes (the classification route) as a scikit-learn classifier.

    The columns of X are primary variables. Features are built from them with
    the operators ``ops`` up to ``rung`` levels deep, as in
    :class:`FormulaRegressor`. Every feature is scored alone at separating the
    classes, then every pair (``max_dim=2``) and triple (``max_dim=3``) of the
    ``n_sis`` best; the kept classifiers are the best by ``criterion``. The
    chosen one predicts through a linear separator on the formula values (with
    ``criterion="accuracy"`` its own threshold or SVM-normal separator, else its
    L2-penalised logistic separator): for two classes ``classes_[1]`` where
    ``intercept_[0] + coef_[0] @ values > 0``, otherwise ``classes_[0]``; for
    more, the class of the largest one-vs-rest score.

    Parameters
    ----------
    ops, rung, max_complexity, units, strict_units, threads, keep, max_abs, min_abs
        As in :class:`FormulaRegressor`.
    max_dim : {1, 2, 3}, default=2
        Formulas per classifier (3: ``criterion`` "logistic" or "accuracy").
    n_sis : int, default=100
        The pair and triple searches run over this many best single formulas
        (``[classification] top_2d`` and ``top_3d``).
    dimension : {None, 1, 2, 3}, default=None
        The dimension of the classifier :meth:`predict` uses (its best one).
        None: the best of the highest dimension found.
    criterion : {"overlap", "logistic", "accuracy"}, default="overlap"
        How formulas are ranked (``[classification] score``; named so as not to
        hide :meth:`score`): "overlap" is SISSO's domain overlap (samples
        inside another class's interval / convex hull, then its size),
        "logistic" the mean log-loss of the logistic separator, and "accuracy"
        the training accuracy of the exact best threshold (one formula) or of
        the best threshold along a linear SVM's normal (two or three), ties to
        the wider margin, then the balanced accuracy.
    class_weight : None, "balanced" or dict, default=None
        How much a sample of each class weighs in the ranking and the
        separators: "balanced", n / (n_classes * n_c), every class alike (the
        weighted training accuracy is then the balanced accuracy); a dict
        {label: weight} (labels left out weigh 1).
    l2 : float, default=1e-3
        Penalty of the logistic separator on standardised weights (keeps the
        fit finite when the classes are separable).
    max_pair_corr : float, default=1.0
        Largest |correlation| of two formulas of a pair or triple (1: no limit).
    cv_folds : int, default=5
        Stratified folds of the cross-validated accuracy of each kept
        classifier (``result_``; formulas fixed). Fewer when a class is smaller.

    Attributes
    ----------
    classes_ : ndarray
        The sorted distinct labels of y; class k of the search is ``classes_[k]``.
    result_ : formulasearch.Result
        Everything the search produced (``result_.classes`` are ``str`` of ``classes_``).
    model_ : formulasearch.Model
        The classifier used; ``model_.classification`` has its overlap, training
        ``accuracy``, ``balanced_accuracy``, ``confusion`` matrix, decision
        ``threshold`` and ``cv_accuracy``.
    formulas_ : list of str
    coef_ : ndarray of shape (1, n_formulas) for two classes, (n_classes, n_formulas) beyond
    intercept_ : ndarray of shape (1,) or (n_classes,)
    dimension_, variable_names_, n_features_in_, feature_names_in_
        As in :class:`FormulaRegressor`.

    Notes
    -----
    y may hold any labels (strings, integers, booleans); a single class, a
    class of one sample, a continuous target or NaN in X is a ValueError.
    Constant columns are left out of the search. If no column varies, or no
    feature survives the filters, the classifier falls back, with a warning, to
    the class priors (``intercept_`` the log prior odds: the largest class is
    predicted everywhere). Samples where a formula is undefined get a warning;
    their scores are NaN and their predicted class is ``classes_[0]``.
    """

    def __init__(self, ops=None, rung=1, max_dim=2, n_sis=100, max_complexity=0, dimension=None,
                 criterion="overlap", class_weight=None, l2=1e-3, max_pair_corr=1.0, cv_folds=5, units=None,
                 strict_units=False, threads=0, keep=10, max_abs=1e5, min_abs=1e-3):
        self.ops = ops
        self.rung = rung
        self.max_dim = max_dim
        self.n_sis = n_sis
        self.max_complexity = max_complexity
        self.dimension = dimension
        self.criterion = criterion
        self.class_weight = class_weight
        self.l2 = l2
        self.max_pair_corr = max_pair_corr
        self.cv_folds = cv_folds
        self.units = units
        self.strict_units = strict_units
        self.threads = threads
        self.keep = keep
        self.max_abs = max_abs
        self.min_abs = min_abs

    # ---------------------------------------------------------------- fit

    def fit(self, X, y):
        """Search formulas of the columns of X that separate the classes of y; returns self."""
        X, y = _validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)  # a continuous y is an error, not thousands of classes
        classes, codes = np.unique(y, return_inverse=True)
        codes = codes.astype(np.int32).ravel()
        sizes = np.bincount(codes, minlength=len(classes))
        plain = [c.item() if isinstance(c, np.generic) else c for c in classes]  # 'a', not np.str_('a'), in messages
        if len(classes) < 2:
            raise ValueError(f"FormulaClassifier needs two or more classes; y has only one class ({plain[0]!r})")
        too_small = [(label, int(size)) for label, size in zip(plain, sizes) if size < 2]
        if too_small:
            label, size = too_small[0]
            raise ValueError(f"class {label!r} has {size} sample; each class needs at least 2")
        n_features = X.shape[1]
        columns = _column_names(self, n_features)
        headers, units = _column_units(self, columns)
        names = variable_names(headers)
        self.units_ = dict(zip(headers, units))
        class_names = _class_names(classes)
        config = self._config(class_names, classes)  # ConfigError (a ValueError) for bad settings, before any work
        dimension = _checked_dimension(self.dimension, self.max_dim)

        matrix = np.array(X.T, dtype=np.float64, order="C", copy=True)  # variables x samples
        varying, notes = _varying_columns(matrix, names)
        result = None
        if varying:
            prim = _column_primaries(matrix, names, units, varying, codes.astype(np.float64), headers)
            result = run(config, primaries=prim)
            if getattr(result, "interrupted", False):  # Ctrl-C: never a silently partial fit
                raise KeyboardInterrupt("FormulaClassifier.fit was interrupted")
            if not result.models:
                notes.append("no formula survived the filters"
                             + (f" ({'; '.join(result.messages)})" if result.messages else ""))
        else:
            notes.append("every column is constant")
        if result is None or not result.models:
            warnings.warn(f"FormulaClassifier: {notes[-1]}; predicting the largest class", UserWarning,
                          stacklevel=2)
            result = _prior_result(config, codes, class_names, names)
        result.messages = notes + [m for m in result.messages if m not in notes]

        model = _choose(result, dimension, "FormulaClassifier")
        intercepts, coefficients = separators(model)
        self.classes_ = classes
        self.result_ = result
        self.model_ = model
        self.variable_names_ = names
        self.formulas_ = list(model.formulas)
        self.coef_ = np.array(coefficients, dtype=np.float64).reshape(len(intercepts), model.dimension)
        self.intercept_ = np.array(intercepts, dtype=np.float64)
        self.dimension_ = int(model.dimension)
        return self

    def _config(self, class_names: list[str], classes: np.ndarray) -> dict[str, Any]:
        if self.criterion not in ("overlap", "logistic", "accuracy"):
            raise ValueError(f"criterion must be 'overlap', 'logistic' or 'accuracy', not {self.criterion!r}")
        class_weight = self._class_weight(class_names, classes)
        max_dim = _int("max_dim", self.max_dim)
        classification = {"score": self.criterion, "class_weight": class_weight, "classes": "values",
                          "names": class_names, "max_dim": max_dim, "l2": _float("l2", self.l2),
                          "cv_folds": _int("cv_folds", self.cv_folds), "nested": False}
        if max_dim >= 2:  # the pool of the pair (and triple) search; read only there
            classification["top_2d"] = _int("n_sis", self.n_sis)
            classification["max_pair_corr"] = _float("max_pair_corr", self.max_pair_corr)
        if max_dim == 3:
            classification["top_3d"] = _int("n_sis", self.n_sis)
        config = {"features": _sisso_features(self),
                  "search": {"task": "classification", "keep": _int("keep", self.keep),
                             "threads": _int("threads", self.threads)},
                  "classification": classification}
        Config.from_dict(config)  # validate now: a bad setting is an error, never a fallback
        return config

    def _class_weight(self, class_names: list[str], classes: np.ndarray) -> str | dict[str, float]:
        """class_weight as [classification] takes it: "none", "balanced" or {class name: weight}."""
        given = self.class_weight
        if given is None or (isinstance(given, str) and given == "balanced"):
            return given or "none"
        if not isinstance(given, dict):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}, not {given!r}")
        by_label = {str(label): name for label, name in zip(classes, class_names)}
        weights = {}
        for label, weight in given.items():
            if str(label) in by_label:  # labels absent from y weigh nothing here
                weights[by_label[str(label)]] = _float("class_weight", weight)
        return weights

    # ------------------------------------------------------------ predict

    def decision_function(self, X):
        """Scores of the separator(s) that predict: shape (n_samples,) for two classes (> 0: ``classes_[1]``),
        (n_samples, n_classes) beyond."""
        scores = self._scores(X)
        return scores[0] if scores.shape[0] == 1 else scores.T

    def predict(self, X):
        """The class of each sample, from ``classes_``."""
        check_is_fitted(self)
        X = _validate_data(self, X, dtype=np.float64, reset=False)
        values = self._checked_values(X)
        predicted = predict_classes(list(self.intercept_), self.coef_.tolist(), values)
        return self.classes_[predicted]

    def predict_proba(self, X):
        """Class probabilities from the separator(s) that predict, columns in ``classes_`` order: two classes
        from the sigmoid of the score; beyond, each one-vs-rest sigmoid normalised to sum to 1. With
        criterion="accuracy" the score is a signed distance in standard deviations, so these follow the
        predictions but are not calibrated probabilities."""
        scores = self._scores(X)
        # sigmoid via tanh: no overflow warning for scores far from 0
        positive = 0.5 * (1.0 + np.tanh(0.5 * scores))
        if scores.shape[0] == 1:
            return np.column_stack([1.0 - positive[0], positive[0]])
        return (positive / positive.sum(axis=0, keepdims=True)).T

    def transform_formulas(self, X, model: Model | None = None) -> np.ndarray:
        """Values of the formulas of `model` (default: ``model_``) on X, samples x formulas."""
        check_is_fitted(self)
        X = _validate_data(self, X, dtype=np.float64, reset=False)
        return _formula_values(self.variable_names_, X, self.model_ if model is None else model).T

    def _scores(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = _validate_data(self, X, dtype=np.float64, reset=False)
        return self.intercept_[:, None] + self.coef_ @ self._checked_values(X)

    def _checked_values(self, X: np.ndarray) -> np.ndarray:
        values = _formula_values(self.variable_names_, X, self.model_)
        if not np.all(np.isfinite(values)):
            bad = int(np.count_nonzero(~np.all(np.isfinite(values), axis=0)))
            warnings.warn(f"FormulaClassifier: the formulas are not defined (or overflow) at {bad} of {X.shape[0]} "
                          "samples; their scores are NaN/inf", RuntimeWarning, stacklevel=3)
        return values


# ------------------------------------------------------------------ helpers

def _int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, not {value!r}") from None


def _float(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, not {value!r}")
    return float(value)


def _column_units(estimator: BaseEstimator, columns: list[str]) -> tuple[list[str], list[str]]:
    """The column names without unit tails and the unit of each column.

    Units come from the estimator's ``units`` dict ({column: unit}; "" when not
    given) or, without one, from headers of the form ``name (unit)``: once any
    header carries a unit, one without is dimensionless (SISSO++'s convention).
    """
    given = estimator.units
    if given is None:
        names, units = header_units(columns)
    else:
        if not hasattr(given, "items"):
            raise ValueError(f"units must be a dict column -> unit, not {type(given).__name__}")
        names = [c.strip() for c in columns]
        stripped = {str(k).strip(): "" if v is None else str(v).strip() for k, v in given.items()}
        unknown = [k for k in stripped if k not in names]
        if unknown:
            raise ValueError(f"units: {unknown[0]!r} is not a column of X (columns: {', '.join(names[:20])}"
                             f"{', ...' if len(names) > 20 else ''})")
        units = {n: stripped.get(n, "") for n in names}
    if estimator.strict_units:
        missing = [n for n in names if not units.get(n, "").strip()]
        if missing:
            raise ValueError(f"strict_units=True needs the unit of every column; missing: {', '.join(missing[:10])}"
                             " (give units={column: unit}, '1' for dimensionless, or 'name (unit)' headers)")
    return names, [units.get(n, "") for n in names]


def _checked_dimension(dimension: Any, max_dim: Any) -> int | None:
    if dimension is None:
        return None
    dimension = _int("dimension", dimension)
    if not 1 <= dimension <= _int("max_dim", max_dim):
        raise ValueError(f"dimension must be None or between 1 and max_dim = {max_dim}, not {dimension}")
    return dimension


def _sisso_features(estimator: BaseEstimator) -> dict[str, Any]:
    """The [features] table of the SISSO operator space from the estimator's parameters."""
    ops = estimator.ops
    if ops is not None:
        if isinstance(ops, str):
            ops = ops.split()
        ops = [list(o) if isinstance(o, (list, tuple)) else o for o in ops]
    features = {"generator": "sisso", "rung": _int("rung", estimator.rung),
                "max_complexity": _int("max_complexity", estimator.max_complexity),
                "strict_units": bool(estimator.strict_units), "variance_filter": _RELATIVE_SPREAD_FLOOR,
                "max_abs": _float("max_abs", estimator.max_abs), "min_abs": _float("min_abs", estimator.min_abs)}
    if ops is not None:
        features["ops"] = ops
    return features


def _varying_columns(matrix: np.ndarray, names: list[str]) -> tuple[list[int], list[str]]:
    """The columns (rows of `matrix`) that vary, and a note naming those left out as constant."""
    varying = [j for j in range(len(names)) if not _is_constant(matrix[j])]
    left_out = [names[j] for j in range(len(names)) if j not in varying]
    return varying, (["constant columns left out of the search: " + ", ".join(left_out)] if left_out else [])


def _column_primaries(matrix: np.ndarray, names: list[str], units: list[str], varying: list[int],
                      target: np.ndarray, headers: list[str] | None = None) -> Primaries:
    """The varying columns as primary variables, each a class of its own, samples labelled by row;
    formulas print a column by its header (`headers`) where that is not its variable name."""
    kept = [names[j] for j in varying]
    shown = [headers[j] for j in varying] if headers is not None else kept
    return Primaries(matrix=np.ascontiguousarray(matrix[varying]), names=kept,
                     classes=[[k] for k in range(len(varying))], class_names=kept,
                     units=[units[j] for j in varying], target=target, target_name="y",
                     labels=[str(i) for i in range(matrix.shape[1])],
                     display_names=shown if shown != kept else None)


def _column_names(estimator: BaseEstimator, n_features: int) -> list[str]:
    """The column names of the validated X: feature_names_in_, or x0, x1, ... for arrays."""
    if hasattr(estimator, "feature_names_in_"):
        return [str(c) for c in estimator.feature_names_in_]
    return [f"x{i}" for i in range(n_features)]


def _formula_values(variable_names: list[str], X: np.ndarray, model: Model) -> np.ndarray:
    """Values of the model's formulas on the samples of X: formulas x samples (NaN where undefined)."""
    if not model.codes:
        return np.zeros((0, X.shape[0]))
    with np.errstate(all="ignore"):
        return model.values(variable_names, np.array(X.T, dtype=np.float64, order="C"))


def _is_constant(values: np.ndarray) -> bool:
    return float(np.ptp(values)) <= 1e-12 * float(np.max(np.abs(values)))


def _choose(result: Result, dimension: int | None, owner: str = "FormulaRegressor") -> Model:
    """The best model of `dimension`, or of the highest dimension found."""
    dims = sorted({m.dimension for m in result.models if m.refined_from is None})
    if dimension is None:
        return result.best(dims[-1])
    if dimension in dims:
        return result.best(dimension)
    lower = [d for d in dims if d < dimension] or dims
    used = f"the best {lower[-1]}D model" if lower[-1] else "the constant model"
    warnings.warn(f"{owner}: no {dimension}D model was found; {used} predicts", UserWarning, stacklevel=3)
    return result.best(lower[-1])


def _class_names(classes: np.ndarray) -> list[str]:
    """Names of the classes for the search's result: str of each label, made distinct and non-empty."""
    names = [str(c) for c in classes]
    if len(set(names)) != len(names) or not all(names):
        names = [repr(c) for c in classes]
    if len(set(names)) != len(names) or not all(names):
        names = [f"class {k}" for k in range(len(classes))]
    return names


def _prior_result(config: dict, codes: np.ndarray, class_names: list[str], names: list[str]) -> Result:
    """A classifier of no formula: the log prior odds as intercepts, so the largest class is predicted."""
    sizes = np.bincount(codes, minlength=len(class_names)).astype(np.float64)
    if len(class_names) == 2:
        intercepts = [float(np.log(sizes[1] / sizes[0]))]
    else:
        intercepts = [float(v) for v in np.log(sizes / sizes.sum())]
    info = {"accuracy": float(sizes.max() / sizes.sum()), "fallback": True}
    if len(intercepts) > 1:
        info["intercepts"] = intercepts
        info["coefficients"] = [[] for _ in intercepts]
    model = Model(dimension=0, formulas=[], codes=[], intercept=intercepts[0], coefficients=[], rmse=None, mae=None,
                  maxae=None, r2=None, notes={"fallback": True}, classification=info)
    return Result(config=Config.from_dict(config).to_dict(), n_candidates=0, n_kept=0, models=[model], target="y",
                  variables=list(names), labels=[str(i) for i in range(codes.size)],
                  target_values=[float(v) for v in codes], task="classification", classes=list(class_names),
                  class_labels=[int(v) for v in codes])


def _fallback_result(config: dict, matrix: np.ndarray, y: np.ndarray, names: list[str], varying: list[int],
                     messages: list[str]) -> Result:
    """The best least-squares line in one of the `varying` columns, or the constant mean(y)."""
    best = None
    for j in varying:
        x = matrix[j]
        xc = x - x.mean()
        slope = float(xc @ (y - y.mean()) / (xc @ xc))
        intercept = float(y.mean() - slope * x.mean())
        sse = float(np.sum((y - intercept - slope * x) ** 2))
        if np.isfinite(sse) and (best is None or sse < best[0]):
            best = (sse, j, intercept, slope)
    if best is None:
        fitted, formulas, intercept, coefficients = np.full_like(y, y.mean()), [], float(y.mean()), []
    else:
        _, j, intercept, slope = best
        fitted, formulas, coefficients = intercept + slope * matrix[j], [names[j]], [slope]
    errors = np.abs(y - fitted)
    sst = float(np.sum((y - y.mean()) ** 2))
    sse = float(np.sum(errors ** 2))
    r2 = (1.0 - sse / sst) if sst > 0 else (1.0 if sse == 0 else 0.0)
    model = Model(dimension=len(formulas), formulas=list(formulas), codes=list(formulas), intercept=intercept,
                  coefficients=coefficients, rmse=float(np.sqrt(np.mean(errors ** 2))), mae=float(errors.mean()),
                  maxae=float(errors.max()), r2=r2, latex=list(formulas), trees=list(formulas),
                  notes={"fallback": True})
    cfg = Config.from_dict(config).to_dict()
    return Result(config=cfg, n_candidates=0, n_kept=0, models=[model], target="y", variables=list(names),
                  messages=list(messages), labels=[str(i) for i in range(y.size)],
                  target_values=[float(v) for v in y])
