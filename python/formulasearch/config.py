"""Run settings: validated once, from a dict or a TOML file, written back as TOML.

Every table and key is listed here with its default; an unknown key is an
error (a typo must never silently fall back to a default).
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .data.composition_features import check_features as check_composition
from .data.compounds import SITE_RULES
from .data.elements import PROPERTIES
from .data.entries import EntryFilter
from .data.feature_table import FORMATS
from .data.structure_features import StructureOptions, check_features as check_structure
from .errors import ConfigError, InputError
from .formula import OPERATORS


@dataclass
class DataConfig:
    """[data]: which compounds, atomic properties and target."""

    dataset: str | None = "octet"  #: a built-in dataset, or None when files are given
    compounds: str | None = None  #: CSV with columns A and B (or formula) and the target
    atoms: str | None = None  #: CSV with a `symbol` column and one column per property
    target: str | None = None  #: target column of the compounds table (built-in: its own)
    properties: list[str] | None = None  #: atomic properties to use (default: all); entries: columns (default: features)
    elemental: list[str] | None = None  #: properties read from pymatgen (formulasearch.elements), added to the atoms
    site_rule: str = "electronegativity"  #: a `formula` column: "electronegativity" (lower X on A) or "as_written"
    # A samples table of the user's own (formulasearch.data.feature_table):
    table: str | None = None  #: CSV or SISSO train.dat: one row per sample, the target and feature columns
    format: str | None = None  #: table: "csv" or "sisso" (default: from the extension, else the first line)
    id: str | None = None  #: table: the column naming the samples (default: the first non-numeric one)
    features: list[str] | None = None  #: table: the feature columns (default: every other numeric column)
    formula: str | None = None  #: table: a column of chemical formulas (default: `formula` or `composition`)
    task_column: str | None = None  #: table: the column naming each sample's task (multi-task SISSO)
    task_sizes: list[int] | None = None  #: table: tasks as consecutive blocks of rows of these sizes (SISSO's nsample = (n1, n2, ...))
    # Samples from DFT entry files (formulasearch.entries) instead of AB compound tables:
    entries: str | None = None  #: pymatgen computed entries: a .json/.jsonl file (optionally .gz/.bz2/.xz) or a folder
    entry_filter: dict[str, Any] | None = None  #: which entries become samples, e.g. {n_elements = 2, max_sites = 8}
    fields: list[str] | None = None  #: entries: extra numeric `data` fields to read, e.g. ["e_above_hull"]
    structure_features: list[str] | None = None  #: entries: features of the structure (formulasearch.structure_features)
    composition_features: list[str] | None = None  #: entries, table: <property>_<mean|diff|max|min|std>, n_elements
    structure_options: dict[str, Any] | None = None  #: entries: e.g. {symprec = 0.1, xrd_two_theta_max = 60}
    missing: str = "drop"  #: entries, table: a sample with a NaN feature or target is dropped (and counted) or an "error"
    entry_workers: int = 1  #: entries: processes that filter and featurise entries (0: every core); parsing stays in one


@dataclass
class FeaturesConfig:
    """[features]: how candidate formulas are generated."""

    generator: str = "paper"  #: "paper" (Gajera et al.'s grammar) or "sisso" (operators, rung by rung)
    method: int = 1  #: paper: generation 1, 2, 3 or 4
    variant: str = "paper"  #: paper generation 3: "paper" (no class rule) or "classes"
    classes: dict[str, list[str]] | None = None  #: paper: property classes (default: the dataset's)
    variance_filter: float | None = None  #: drop |std/mean| below this (default: paper 0.05, sisso 0)
    dedup: str = "value"  #: "string" (the authors' rule) or "value" (also equal values up to sign/scale)
    # The SISSO generator:
    primaries: list[str] | None = None  #: primary variables, e.g. ["IP_A", "IP_B"] (default: all)
    ops: list | None = None  #: operator names, one list for all rungs or one list per rung
    rung: int = 2  #: 0 (the given features as they are), 1..3 (more needs memory_budget_mb)
    max_complexity: int = 0  #: operators per feature at most (0: no limit)
    units: dict[str, str] | None = None  #: unit per property, e.g. {IP = "eV"} (default: the dataset's)
    strict_units: bool = False  #: exp/log/sin/cos only of dimensionless features
    max_abs: float = 1e5  #: drop features whose largest |value| is above this (SISSO's fmax_max)
    min_abs: float = 1e-3  #: or below this (SISSO's fmax_min)
    memory_budget_mb: float | None = None  #: limit on stored rungs (required for rung > 3) and, beside them, SIS's cache of screened features (default: 25% of RAM)


SISSO_OPS = tuple(OPERATORS)  # every operator of the core
MAX_DIM = 6  # [search] max_dim: formulas in one least-squares model at most
DEFAULT_SISSO_OPS = ["+", "-", "*", "/", "|-|", "exp", "^2", "^3", "sqrt", "^-1"]


@dataclass
class SearchConfig:
    """[search]: the least-squares search (or, with task = "classification", which route runs)."""

    task: str = "regression"  #: "regression" (least squares on the target) or "classification" (see [classification])
    method: str | None = None  #: "exhaustive" (paper default) or "sis-l0" (sisso default)
    max_dim: int = 3  #: largest number of formulas in one model (1-6)
    top_2d: int | str = 5000  #: pairs among this many best 1D formulas; "all": every kept formula (exact)
    top_3d: int = 1000  #: triples among this many
    top_nd: int = 100  #: 4D and up: every combination among this many (C(100, 4) = 3.9e6, C(100, 5) = 7.5e7)
    max_pair_corr: float | None = None  #: pairwise |r| limit inside a model (default: paper 0.90, sisso none = 1.0)
    n_sis: int = 1000  #: sis-l0: features kept by each screening (SISSO's subs_sis)
    n_residual: int = 1  #: sis-l0: screen against the residuals of this many best models
    keep: int = 10  #: models reported per dimension
    threads: int = 0  #: worker threads (0: all cores)
    memory_budget_mb: float | None = None  #: 2D+ search and SISSO's l0 step (on Dask: per task): hold at most this many MiB of standardised candidates (and, from 3D on, the K x K correlations), evaluating the pool in blocks (same result); none: the whole pool in memory


@dataclass
class DistributedConfig:
    """[distributed]: where the combination searches (and the SISSO route's SIS passes) run."""

    backend: str = "local"  #: "local" (this process, all cores) or "dask"
    address: str | None = None  #: Dask scheduler, e.g. "tcp://10.0.0.5:8786"; absent: a LocalCluster
    n_workers: int = 2  #: worker processes of the LocalCluster
    tasks_per_worker: int = 4  #: slices (SIS: blocks) per worker and search (more: finer load balance and retries)


@dataclass
class ValidationConfig:
    """[validation]: out-of-sample errors of the kept models and of the search itself."""

    method: str = "loo"  #: per kept model: "loo", "kfold", "splits" or "none"
    k: int = 10  #: kfold: number of folds
    n_splits: int = 50  #: splits: number of random train/test splits (the paper: 50)
    test_fraction: float = 0.1  #: splits: held-out fraction (the paper: 0.1)
    seed: int = 0  #: folds and splits are the same for every model, given the seed
    rank_1d: str = "fit"  #: 1D screening ranked by full-set "fit" or by mean test MSE over the "splits"
    nested: bool = True  #: repeat the whole search inside outer folds (the honest error of the method)
    outer_folds: int = 10  #: nested: number of outer folds
    nested_mode: str = "sweep"  #: nested: "sweep" (every fold's search from one pass of the kernels) or "refit" (the search rerun fold by fold); the same models


@dataclass
class RefineConfig:
    """[refine]: tune a coefficient on each term of the kept formulas (grid, then continuous)."""

    enabled: bool = False
    models: str = "best"  #: "best" (the best model of each dimension) or "all" kept models
    lower: float = -10.0  #: grid of each coefficient: [lower, upper) ...
    upper: float = 10.0
    step: float | None = None  #: ... in steps of this (default, as the paper: 0.1 for one coefficient, 0.4 for two, 1.0 beyond)
    continuous: bool = True  #: polish the grid optimum with scipy.optimize
    max_coefficients: int = 3  #: at most this many coefficients per formula (the first terms)


@dataclass
class ClassificationConfig:
    """[classification]: formulas that separate classes of compounds ([search] task = "classification")."""

    score: str = "overlap"  #: "overlap" (SISSO's domain overlap: count, then size), "logistic" (mean log-loss) or "accuracy" (training accuracy of a threshold / SVM-normal separator, then margin)
    class_weight: str | dict[str, float] = "none"  #: "none", "balanced" (every class weighs alike in the scores and separators) or {class name = weight}
    classes: str = "sign"  #: classes from the numeric target: "sign" (< 0, >= 0) or "values" (each distinct value)
    names: list[str] | None = None  #: class names in class order (default: octet dE: rocksalt, zincblende)
    max_dim: int = 2  #: formulas per classifier: 1, 2 or 3 (3: score "logistic" or "accuracy")
    top_2d: int = 2000  #: pairs among this many best 1D formulas
    top_3d: int = 100  #: max_dim = 3: triples among this many best 1D formulas
    max_pair_corr: float = 1.0  #: pairwise |r| limit inside a pair or triple (1: none)
    l2: float = 1e-3  #: penalty of the logistic separator on standardised weights (keeps separable fits finite)
    cv_folds: int = 10  #: stratified k-fold of each kept classifier's accuracy (formulas fixed)
    nested: bool = False  #: repeat the whole search inside outer stratified folds (the method's honest accuracy)
    outer_folds: int = 5  #: nested: number of outer folds
    seed: int = 0  #: folds are the same for every classifier, given the seed


_SECTIONS = {"data": DataConfig, "features": FeaturesConfig, "search": SearchConfig,
             "distributed": DistributedConfig, "validation": ValidationConfig, "refine": RefineConfig,
             "classification": ClassificationConfig}


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    classification: ClassificationConfig = field(default_factory=ClassificationConfig)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], base_dir: str | Path | None = None) -> "Config":
        """Validate a nested dict. Relative paths are taken relative to `base_dir`."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"configuration must be a table of tables, got {type(raw).__name__}")
        unknown = sorted(set(raw) - set(_SECTIONS))
        if unknown:
            raise ConfigError(f"unknown table [{unknown[0]}] in configuration (known: {', '.join(_SECTIONS)})")
        parts = {name: _build_section(name, section_type, raw.get(name, {})) for name, section_type in _SECTIONS.items()}
        config = cls(**parts)
        if base_dir is not None:
            for key in ("compounds", "atoms", "entries", "table"):
                value = getattr(config.data, key)
                if value is not None and not Path(value).is_absolute():
                    setattr(config.data, key, str(Path(base_dir) / value))
        config.validate()
        return config

    @classmethod
    def from_toml(cls, path: str | Path) -> "Config":
        path = Path(path)
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"configuration file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
        return cls.from_dict(raw, base_dir=path.parent)

    @classmethod
    def load(cls, config: "Config | Mapping[str, Any] | str | Path | None") -> "Config":
        """A Config from a Config, a dict, a TOML path, or None (all defaults)."""
        if config is None:
            return cls.from_dict({})
        if isinstance(config, Config):
            config.validate()
            return config
        if isinstance(config, (str, Path)):
            return cls.from_toml(config)
        return cls.from_dict(config)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict; None values are left out (TOML has no null)."""
        return {
            name: {k: v for k, v in dataclasses.asdict(getattr(self, name)).items() if v is not None}
            for name in _SECTIONS
        }

    def to_toml(self, path: str | Path | None = None) -> str:
        import tomli_w

        text = tomli_w.dumps(self.to_dict())
        if path is not None:
            Path(path).write_text(text)
        return text

    def validate(self) -> None:
        d, f, s = self.data, self.features, self.search
        if d.dataset is not None and (d.compounds or d.atoms or d.entries or d.table):
            # Files win over the built-in default: a user who names files means them.
            d.dataset = None
        if d.compounds and d.composition_features and not (d.atoms or d.elemental or d.table):
            d.table, d.compounds = d.compounds, None  # compounds of any size: their composition features
        if d.entries is not None:
            self._validate_entries()
        elif d.table is not None:
            self._validate_table()
        elif d.dataset is None:
            if not (d.compounds and d.target and (d.atoms or d.elemental)):
                raise ConfigError("[data] needs a source: dataset = \"octet\", table = PATH (samples with a target "
                                  "and features, or formulas), compounds and target with atoms and/or elemental "
                                  "(AB compounds), or entries (DFT entry files)")
        elif d.dataset != "octet":
            raise ConfigError(f"[data] dataset = {d.dataset!r} is not a built-in dataset (known: octet)")
        _choice("data", "site_rule", d.site_rule, SITE_RULES)
        if d.elemental is not None:
            if not d.elemental:
                raise ConfigError(f"[data] elemental lists no properties (catalogue: {', '.join(PROPERTIES)})")
            for i, prop in enumerate(d.elemental):
                if prop not in PROPERTIES:
                    raise ConfigError(f"[data] elemental: unknown property {prop!r} "
                                      f"(pymatgen catalogue: {', '.join(PROPERTIES)})")
                if prop in d.elemental[:i]:
                    raise ConfigError(f"[data] elemental lists {prop!r} twice")
        _choice("features", "generator", f.generator, ("paper", "sisso"))
        sisso = f.generator == "sisso"
        if f.variance_filter is None:
            f.variance_filter = 0.0 if sisso else 0.05
        if s.method is None:
            s.method = "sis-l0" if sisso else "exhaustive"
        if s.max_pair_corr is None:
            s.max_pair_corr = 1.0 if sisso else 0.90
        _choice("search", "method", s.method, ("exhaustive", "sis-l0"))
        if s.method == "sis-l0" and not sisso:
            raise ConfigError("[search] method = \"sis-l0\" needs [features] generator = \"sisso\"")
        if sisso:
            self._validate_sisso()
        if f.method not in (1, 2, 3, 4):
            raise ConfigError(f"[features] method must be 1, 2, 3 or 4, not {f.method}")
        _choice("features", "variant", f.variant, ("paper", "classes"))
        _choice("features", "dedup", f.dedup, ("string", "value"))
        if s.n_sis < 1 or s.n_residual < 1:
            raise ConfigError("[search] n_sis and n_residual must be at least 1")
        if not 0 <= f.variance_filter < 1e6:
            raise ConfigError(f"[features] variance_filter must be >= 0, not {f.variance_filter}")
        if f.classes is not None:
            if not isinstance(f.classes, dict) or not all(
                isinstance(v, list) and all(isinstance(p, str) for p in v) for v in f.classes.values()
            ):
                raise ConfigError("[features] classes must map class names to lists of property names")
        if s.max_dim not in range(1, MAX_DIM + 1):
            raise ConfigError(f"[search] max_dim must be 1 to {MAX_DIM}, not {s.max_dim}")
        if isinstance(s.top_2d, str) and s.top_2d != "all":
            raise ConfigError(f"[search] top_2d must be a number or \"all\", not {s.top_2d!r}")
        for key in ("top_2d", "top_3d", "top_nd", "keep"):
            value = getattr(s, key)
            if not isinstance(value, str) and value < 1:
                raise ConfigError(f"[search] {key} must be at least 1, not {value}")
        if not 0 < s.max_pair_corr <= 1:
            raise ConfigError(f"[search] max_pair_corr must be in (0, 1], not {s.max_pair_corr}")
        if s.threads < 0:
            raise ConfigError(f"[search] threads must be >= 0, not {s.threads}")
        if s.memory_budget_mb is not None and not s.memory_budget_mb > 0:
            raise ConfigError(f"[search] memory_budget_mb must be positive, not {s.memory_budget_mb}")
        v, r = self.validation, self.refine
        _choice("validation", "method", v.method, ("loo", "kfold", "splits", "none"))
        _choice("validation", "rank_1d", v.rank_1d, ("fit", "splits"))
        _choice("validation", "nested_mode", v.nested_mode, ("sweep", "refit"))
        if v.k < 2 or v.n_splits < 1 or v.outer_folds < 2:
            raise ConfigError("[validation] needs k >= 2, n_splits >= 1 and outer_folds >= 2")
        if not 0 < v.test_fraction < 1:
            raise ConfigError(f"[validation] test_fraction must be in (0, 1), not {v.test_fraction}")
        if v.rank_1d == "splits" and f.generator != "paper":
            raise ConfigError("[validation] rank_1d = \"splits\" ranks the paper route's 1D screening")
        _choice("refine", "models", r.models, ("best", "all"))
        if not r.lower < r.upper or (r.step is not None and r.step <= 0) or r.max_coefficients < 1:
            raise ConfigError("[refine] needs lower < upper, step > 0 and max_coefficients >= 1")
        dist = self.distributed
        _choice("distributed", "backend", dist.backend, ("local", "dask"))
        _choice("search", "task", s.task, ("regression", "classification"))
        if s.task == "classification":
            self._validate_classification()
        if dist.n_workers < 1 or dist.tasks_per_worker < 1:
            raise ConfigError("[distributed] n_workers and tasks_per_worker must be at least 1")
        self._refuse_settings_that_do_not_apply()
        if self.multitask:
            self.validate_multitask()

    @property
    def multitask(self) -> bool:
        """The samples are split into tasks ([data] task_column or task_sizes): multi-task SISSO."""
        return self.data.task_column is not None or self.data.task_sizes is not None

    def validate_multitask(self, given_by: str | None = None) -> None:
        """Multi-task SISSO runs the SISSO generator's least-squares search in memory; anything else is refused.
        `given_by`: what split the samples into tasks when not [data] (e.g. FormulaRegressor's groups)."""
        d, f, s = self.data, self.features, self.search
        if d.task_column is not None and d.task_sizes is not None:
            raise ConfigError("[data] task_column and task_sizes both split the samples into tasks: give one")
        if d.task_sizes is not None and (not d.task_sizes or min(d.task_sizes) < 1):
            raise ConfigError(f"[data] task_sizes must list positive block sizes, not {d.task_sizes}")
        key = given_by or ("[data] task_column" if d.task_column is not None else "[data] task_sizes")
        refused = [(s.task == "classification", "[search] task = \"classification\""),
                   (f.generator != "sisso", "[features] generator = \"paper\" (multi-task needs \"sisso\")"),
                   (s.memory_budget_mb is not None, "[search] memory_budget_mb (the multi-task l0 holds its pool)"),
                   (self.refine.enabled, "[refine] enabled"),
                   (self.distributed.backend != "local", "[distributed] backend = \"dask\"")]
        for bad, what in refused:
            if bad:
                raise ConfigError(f"{key} (multi-task SISSO) does not work with {what}; remove one of them")

    def _changed(self, section: str) -> list[str]:
        """Keys of a section whose value differs from the default (what the user set, for any effect)."""
        current, default = getattr(self, section), _SECTIONS[section]()
        return [f.name for f in dataclasses.fields(default) if getattr(current, f.name) != getattr(default, f.name)]

    def _refuse_settings_that_do_not_apply(self) -> None:
        """A setting the chosen route would not read is an error, never silently ignored."""
        d, f, s = self.data, self.features, self.search
        classifying, sisso = s.task == "classification", f.generator == "sisso"
        source = ("entries" if d.entries else "table" if d.table else "compounds" if d.compounds
                  else "the built-in dataset")
        route = ("classification" if classifying else
                 f"the SISSO generator's {s.method} search" if sisso else "the paper grammar's exhaustive search")
        rules: list[tuple[str, list[str], bool, str]] = [
            # (section, keys, the keys apply, what they need)
            ("data", ["entry_filter", "fields", "structure_features", "structure_options", "entry_workers"],
             source == "entries", "[data] entries"),
            ("data", ["format", "id", "features", "formula", "task_column", "task_sizes"], source == "table",
             "[data] table"),
            ("data", ["composition_features", "missing"], source in ("entries", "table"), "[data] entries or table"),
            ("data", ["site_rule"], source == "compounds", "[data] compounds"),
            ("data", ["properties"], source != "table", "AB compounds or entries (a table has [data] features)"),
            ("features", ["method", "variant", "classes"], not sisso, "[features] generator = \"paper\""),
            ("features", ["primaries", "ops", "rung", "max_complexity", "units", "strict_units", "max_abs",
                          "min_abs", "memory_budget_mb"], sisso, "[features] generator = \"sisso\""),
            ("search", ["n_sis", "n_residual"], sisso and s.method == "sis-l0" and not classifying,
             "[search] method = \"sis-l0\" (SISSO generator, regression)"),
            ("search", ["top_2d", "top_3d", "top_nd"], s.method == "exhaustive" and not classifying,
             "[search] method = \"exhaustive\" (regression; classification has [classification] top_2d)"),
            ("search", ["max_dim", "memory_budget_mb"], not classifying,
             "task = \"regression\" (classification has [classification] max_dim)"),
            ("validation", self._changed("validation"), not classifying,
             "task = \"regression\" (classification validates with [classification] cv_folds, nested)"),
            ("refine", self._changed("refine"), not classifying, "task = \"regression\""),
            ("classification", self._changed("classification"), classifying, "[search] task = \"classification\""),
            ("classification", ["top_2d", "max_pair_corr"], self.classification.max_dim >= 2,
             "[classification] max_dim >= 2"),
            ("classification", ["top_3d"], self.classification.max_dim == 3, "[classification] max_dim = 3"),
        ]
        changed = {section: set(self._changed(section)) for section in _SECTIONS}
        changed["data"] -= {"dataset", "table", "compounds"}  # the source, rewritten when files are given
        for section, keys, applies, needs in rules:
            given = [k for k in keys if k in changed[section]]
            if given and not applies:
                raise ConfigError(f"[{section}] {given[0]} does not apply to {route} on {source}: it needs {needs}; "
                                  "remove it")


    def _validate_classification(self) -> None:
        c = self.classification
        _choice("classification", "score", c.score, ("overlap", "logistic", "accuracy"))
        if isinstance(c.class_weight, dict):
            bad = [k for k, v in c.class_weight.items()
                   if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf")]
            if bad:
                raise ConfigError(f"[classification] class_weight: the weight of {bad[0]!r} must be a positive number")
        else:
            _choice("classification", "class_weight", c.class_weight, ("none", "balanced"))
        _choice("classification", "classes", c.classes, ("sign", "values"))
        if self.refine.enabled:
            raise ConfigError("[refine] tunes least-squares models; it does not apply to task = \"classification\"")
        if self.distributed.backend != "local":
            raise ConfigError("[search] task = \"classification\" runs locally for now ([distributed] backend = \"local\")")
        if c.max_dim not in (1, 2, 3):
            raise ConfigError(f"[classification] max_dim must be 1, 2 or 3, not {c.max_dim}")
        if c.max_dim == 3 and c.score == "overlap":
            raise ConfigError("[classification] max_dim = 3 needs score = \"logistic\" or \"accuracy\" "
                              "(the domain overlap is defined for one or two formulas)")
        if c.top_2d < 2 or c.top_3d < 3 or c.cv_folds < 2 or c.outer_folds < 2:
            raise ConfigError("[classification] needs top_2d >= 2, top_3d >= 3, cv_folds >= 2 and outer_folds >= 2")
        if not 0 < c.max_pair_corr <= 1:
            raise ConfigError(f"[classification] max_pair_corr must be in (0, 1], not {c.max_pair_corr}")
        if not c.l2 > 0:
            raise ConfigError(f"[classification] l2 must be positive, not {c.l2}")
        if c.names is not None and (len(set(c.names)) != len(c.names) or not all(c.names)):
            raise ConfigError("[classification] names must be distinct, non-empty class names")

    def ops_per_rung(self) -> list[list[str]]:
        """The SISSO operators of each rung, as given or defaulted."""
        if self.features.rung == 0 or self.features.ops == []:
            return []
        ops = self.features.ops if self.features.ops is not None else DEFAULT_SISSO_OPS
        if ops and all(isinstance(o, list) for o in ops):
            return [list(o) for o in ops]
        return [list(ops) for _ in range(self.features.rung)]

    def _validate_entries(self) -> None:
        """[data] entries: the other sources excluded, the feature names and the filter checked."""
        d = self.data
        if d.compounds or d.atoms or d.elemental:
            raise ConfigError("[data] entries is a source of its own: leave out compounds, atoms and elemental "
                              "(composition_features gives elemental properties of any composition)")
        if not d.target:
            raise ConfigError("[data] entries needs a target: a column such as \"e_form\", \"band_gap\", "
                              "\"energy_per_atom\" or a data field listed in fields")
        if not (d.structure_features or d.composition_features or d.properties):
            raise ConfigError("[data] entries needs features: structure_features and/or composition_features "
                              "(or properties: columns of the samples table)")
        _choice("data", "missing", d.missing, ("drop", "error"))
        if d.entry_workers < 0:
            raise ConfigError(f"[data] entry_workers must be >= 0 (0: every core), not {d.entry_workers}")
        try:
            check_structure(d.structure_features or [])
            check_composition(d.composition_features or [])
            EntryFilter.from_dict(d.entry_filter)
            StructureOptions.from_dict(d.structure_options)
        except (InputError, TypeError) as exc:
            raise ConfigError(f"[data] {exc}") from None

    def _validate_table(self) -> None:
        """[data] table: the other sources excluded, the composition feature names checked."""
        d = self.data
        others = [k for k in ("compounds", "atoms", "elemental", "entries") if getattr(d, k)]
        if others:
            raise ConfigError(f"[data] table is a source of its own: leave out {', '.join(others)} "
                              "(composition_features gives elemental properties of any composition)")
        if not d.target and d.format != "sisso" and not str(d.table).lower().endswith((".dat", ".txt")):
            raise ConfigError("[data] table needs target = \"COLUMN\", the column to fit")
        if d.format is not None:
            _choice("data", "format", d.format, FORMATS)
        _choice("data", "missing", d.missing, ("drop", "error"))
        try:
            check_composition(d.composition_features or [])
        except InputError as exc:
            raise ConfigError(f"[data] {exc}") from None

    def _validate_sisso(self) -> None:
        f = self.features
        if f.ops == []:  # no operator: the given features as they are
            f.rung = 0
        if f.rung < 0:
            raise ConfigError(f"[features] rung must be at least 0 (0: the given features as they are), not {f.rung}")
        if f.rung > 3 and f.memory_budget_mb is None:
            raise ConfigError(f"[features] rung = {f.rung} grows the feature space beyond what fits in memory "
                              "without a limit: set memory_budget_mb, or use rung <= 3")
        if f.ops is not None:
            nested = [o for o in f.ops if isinstance(o, list)]
            if nested and len(nested) != len(f.ops):
                raise ConfigError("[features] ops must be a list of operator names or a list of lists (one per rung)")
            if nested and len(nested) != f.rung:
                raise ConfigError(f"[features] ops gives {len(nested)} lists of operators for rung = {f.rung}")
        for rung_ops in self.ops_per_rung():
            if not rung_ops:
                raise ConfigError("[features] ops: every rung needs at least one operator")
            for op in rung_ops:
                if op not in SISSO_OPS:
                    raise ConfigError(f"[features] ops: unknown operator {op!r} (known: {' '.join(SISSO_OPS)})")
        if f.max_complexity < 0:
            raise ConfigError("[features] max_complexity must be >= 0 (0: no limit)")
        if not 0 <= f.min_abs < f.max_abs:
            raise ConfigError("[features] need 0 <= min_abs < max_abs")


def _choice(section: str, key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"[{section}] {key} = {value!r} is not one of {', '.join(map(repr, allowed))}")


def _build_section(name: str, section_type: type, raw: Any):
    if not isinstance(raw, Mapping):
        raise ConfigError(f"[{name}] must be a table, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(section_type)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key '{unknown[0]}' in [{name}] (known: {', '.join(fields)})")
    values = {}
    for key, value in raw.items():
        values[key] = _coerce(name, key, value, fields[key].type)
    return section_type(**values)


def _coerce(section: str, key: str, value: Any, annotation: str) -> Any:
    """Check a value against the field's annotation (kept as a string by __future__)."""
    where = f"[{section}] {key}"
    if value is None:
        if "None" in annotation:
            return None
        raise ConfigError(f"{where} cannot be empty")
    if annotation == "str | dict[str, float]":  # a keyword, or a table of numbers
        if not isinstance(value, (str, Mapping)):
            raise ConfigError(f"{where} must be a string or a table, not {value!r}")
        return value if isinstance(value, str) else {str(k): v for k, v in value.items()}
    if annotation == "int | str":  # a count, or a keyword such as "all"
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{where} must be an integer or a string, not {value!r}")
        return value
    if annotation.startswith("bool"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if annotation.startswith("list[int]"):
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{where} must be a list of integers, not {value!r}")
        return list(value)
    if annotation.startswith("list | None") or annotation == "list":
        if not isinstance(value, list) or not all(
                isinstance(v, str) or (isinstance(v, list) and all(isinstance(w, str) for w in v)) for v in value):
            raise ConfigError(f"{where} must be a list of names (or of lists of names), not {value!r}")
        return value
    if annotation.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, not {value!r}")
        return value
    if annotation.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, not {value!r}")
        return float(value)
    if annotation.startswith("str"):
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {value!r}")
        return value
    if annotation.startswith("list"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings, not {value!r}")
        return list(value)
    if annotation.startswith("dict"):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a table, not {value!r}")
        return {str(k): v for k, v in value.items()}
    return value
