"""Structure-derived primary variables: scalars computed from a pymatgen Structure.

A catalogue like :mod:`formulasearch.elements`: each feature has a name, a
unit, a description and a function of the structure.

    >>> from formulasearch.structure_features import catalogue, structure_features
    >>> structure_features(structure, ["volume_per_atom", "spacegroup_number", "xrd_peak1"])
    {'volume_per_atom': 22.43, 'spacegroup_number': 225.0, 'xrd_peak1': 31.69}

How each is computed (the settings are :class:`StructureOptions`):

* ``volume_per_atom``: cell volume / number of sites (angstrom^3).
* ``density``: mass of the cell / its volume (g/cm^3), pymatgen ``Structure.density``.
* ``packing_fraction``: sum over the sites of the volume of a sphere of the
  element's empirical atomic radius (pymatgen ``Element.atomic_radius``, Slater's
  radii), divided by the cell volume. Missing for an element without that radius.
* ``mean_nn_distance``: for every site the distance to its nearest neighbour
  (periodic images included), averaged over the sites (angstrom).
* ``mean_coordination``: for every site the number of neighbours within
  (1 + nn_tol) times its nearest-neighbour distance -- the rule of pymatgen's
  ``MinimumDistanceNN(tol=nn_tol)`` -- averaged over the sites.
* ``spacegroup_number``: 1-230, spglib through pymatgen's ``SpacegroupAnalyzer``
  with tolerance ``symprec`` (angstrom).
* ``crystal_system``: a code from the space group number: 1 triclinic,
  2 monoclinic, 3 orthorhombic, 4 tetragonal, 5 trigonal, 6 hexagonal, 7 cubic.
* ``xrd_peak1``, ``xrd_peak2``, ``xrd_peak3``: 2-theta (degrees) of the
  strongest, second and third strongest peaks of the powder pattern of
  pymatgen's ``XRDCalculator`` (Cu K-alpha by default), 2-theta from 0 to
  ``xrd_two_theta_range``; equal intensities are ordered by 2-theta. Missing
  when the pattern has fewer peaks.
* ``xrd_first_peak``: 2-theta of the peak at the smallest angle.
* ``xrd_n_peaks``: number of peaks with 2-theta below ``xrd_two_theta_max``
  (pymatgen already leaves out peaks weaker than 0.1 % of the strongest).

A feature that cannot be computed for a structure is NaN (never filled in);
the callers decide what to do with such samples. The neighbour list, the
symmetry analysis and the XRD pattern are computed once per structure however
many features use them. pymatgen is imported on the first use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["StructureFeature", "StructureOptions", "FEATURES", "catalogue", "check_features",
           "structure_features", "crystal_system_code", "CRYSTAL_SYSTEMS"]

AMU_G = 1.66053906660e-24  # grams per atomic mass unit (CODATA 2018)
CRYSTAL_SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic")
# The last space group number of each crystal system, in CRYSTAL_SYSTEMS order.
_LAST_SPACEGROUP = (2, 15, 74, 142, 167, 194, 230)


@dataclass(frozen=True)
class StructureOptions:
    """Settings of the structure features (each documented in the module docstring)."""

    symprec: float = 0.1  #: spglib tolerance of spacegroup_number / crystal_system, angstrom
    nn_tol: float = 0.1  #: mean_coordination: neighbours within (1 + nn_tol) x the nearest distance
    xrd_wavelength: str = "CuKa"  #: an XRDCalculator wavelength name (CuKa, MoKa, ...)
    xrd_two_theta_range: float = 90.0  #: the pattern is computed for 2-theta in [0, this], degrees
    xrd_two_theta_max: float = 60.0  #: xrd_n_peaks counts the peaks below this 2-theta, degrees

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> "StructureOptions":
        raw = dict(raw or {})
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InputError(f"unknown structure option {unknown[0]!r} (known: {', '.join(sorted(known))})")
        return cls(**raw)

    def __post_init__(self) -> None:
        numbers = (self.symprec, self.nn_tol, self.xrd_two_theta_max, self.xrd_two_theta_range)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers) or not (
                self.symprec > 0 and self.nn_tol >= 0 and 0 < self.xrd_two_theta_max
                and 0 < self.xrd_two_theta_range <= 180):
            raise InputError("structure options need numbers: symprec > 0, nn_tol >= 0, xrd_two_theta_max > 0 and "
                             "0 < xrd_two_theta_range <= 180")
        if self.xrd_wavelength == "CuKa":
            return  # the default; the XRD module takes seconds to import, so it is checked only when changed
        from pymatgen.analysis.diffraction.xrd import WAVELENGTHS

        if self.xrd_wavelength not in WAVELENGTHS:
            raise InputError(f"unknown xrd_wavelength {self.xrd_wavelength!r} (pymatgen's: {', '.join(WAVELENGTHS)})")


@dataclass(frozen=True)
class StructureFeature:
    """One catalogue entry."""

    name: str
    unit: str  #: "" for a unitless number
    description: str
    compute: Callable[["_Analysis"], float]


class _Analysis:
    """One structure with its expensive analyses computed on first use and kept."""

    def __init__(self, structure: Any, options: StructureOptions):
        self.structure = structure
        self.options = options
        self._nearest: tuple[np.ndarray, np.ndarray] | None = None
        self._spacegroup: int | None = None
        self._peaks: tuple[np.ndarray, np.ndarray] | None = None

    def neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """(nearest distance of each site, number of neighbours within (1 + nn_tol) of it)."""
        if self._nearest is None:
            s, tol = self.structure, self.options.nn_tol
            n = len(s)
            radius = 1.5 * (s.volume / n) ** (1 / 3)  # a typical bond; enlarged until every shell is complete
            while True:
                centres, _, _, distances = s.get_neighbor_list(radius)
                keep = distances > 1e-8  # a site is not its own neighbour
                centres, distances = centres[keep], distances[keep]
                nearest = np.full(n, np.inf)
                np.minimum.at(nearest, centres, distances)
                if np.all(nearest * (1 + tol) < radius):
                    break
                radius *= 1.5
            within = distances <= nearest[centres] * (1 + tol)
            self._nearest = (nearest, np.bincount(centres[within], minlength=n).astype(float))
        return self._nearest

    def spacegroup(self) -> int:
        if self._spacegroup is None:
            from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

            self._spacegroup = int(SpacegroupAnalyzer(self.structure, symprec=self.options.symprec)
                                   .get_space_group_number())
        return self._spacegroup

    def peaks(self) -> tuple[np.ndarray, np.ndarray]:
        """(2-theta, intensity) of the XRD peaks, strongest first (ties: smaller 2-theta first)."""
        if self._peaks is None:
            pattern = _xrd_calculator(self.options.xrd_wavelength).get_pattern(
                self.structure, two_theta_range=(0, self.options.xrd_two_theta_range))
            two_theta, intensity = np.asarray(pattern.x, float), np.asarray(pattern.y, float)
            order = np.lexsort((two_theta, -intensity))
            self._peaks = (two_theta[order], intensity[order])
        return self._peaks


_CALCULATORS: dict[str, Any] = {}


def _xrd_calculator(wavelength: str) -> Any:
    if wavelength not in _CALCULATORS:
        from pymatgen.analysis.diffraction.xrd import XRDCalculator

        _CALCULATORS[wavelength] = XRDCalculator(wavelength=wavelength)
    return _CALCULATORS[wavelength]


def crystal_system_code(spacegroup_number: int) -> int:
    """1 (triclinic) ... 7 (cubic) of a space group number 1-230."""
    if not 1 <= spacegroup_number <= 230:
        raise ValueError(f"space group number {spacegroup_number} is not in 1-230")
    return 1 + int(np.searchsorted(_LAST_SPACEGROUP, spacegroup_number))


def _packing_fraction(a: _Analysis) -> float:
    radii = {}
    for el in a.structure.composition.elements:
        r = getattr(el, "atomic_radius", None)
        if r is None:
            return math.nan
        radii[el.symbol] = float(r)
    spheres = sum(4 / 3 * math.pi * radii[site.specie.symbol] ** 3 for site in a.structure)
    return spheres / a.structure.volume


def _nth_peak(k: int) -> Callable[[_Analysis], float]:
    def peak(a: _Analysis) -> float:
        two_theta, _ = a.peaks()
        return float(two_theta[k]) if two_theta.size > k else math.nan

    return peak


def _first_peak(a: _Analysis) -> float:
    two_theta, _ = a.peaks()
    return float(two_theta.min()) if two_theta.size else math.nan


def _n_peaks(a: _Analysis) -> float:
    if a.options.xrd_two_theta_max > a.options.xrd_two_theta_range:
        raise InputError(f"xrd_two_theta_max = {a.options.xrd_two_theta_max:g} is above the computed range "
                         f"(xrd_two_theta_range = {a.options.xrd_two_theta_range:g})")
    two_theta, _ = a.peaks()
    return float(np.count_nonzero(two_theta < a.options.xrd_two_theta_max))


def _entries() -> dict[str, StructureFeature]:
    rows = [
        ("volume_per_atom", "angstrom^3", "cell volume per site",
         lambda a: a.structure.volume / len(a.structure)),
        ("density", "g/cm^3", "mass density",
         lambda a: float(a.structure.composition.weight) * AMU_G / (a.structure.volume * 1e-24)),
        ("packing_fraction", "", "volume of atomic spheres (empirical atomic radius) / cell volume",
         _packing_fraction),
        ("mean_nn_distance", "angstrom", "nearest-neighbour distance, averaged over the sites",
         lambda a: float(a.neighbours()[0].mean())),
        ("mean_coordination", "", "neighbours within (1 + nn_tol) x the nearest distance (MinimumDistanceNN's rule), "
         "averaged over the sites", lambda a: float(a.neighbours()[1].mean())),
        ("spacegroup_number", "", "international space group number (spglib, symprec)",
         lambda a: float(a.spacegroup())),
        ("crystal_system", "", "1 triclinic, 2 monoclinic, 3 orthorhombic, 4 tetragonal, 5 trigonal, "
         "6 hexagonal, 7 cubic", lambda a: float(crystal_system_code(a.spacegroup()))),
        ("xrd_peak1", "deg", "2-theta of the strongest powder XRD peak", _nth_peak(0)),
        ("xrd_peak2", "deg", "2-theta of the second strongest powder XRD peak", _nth_peak(1)),
        ("xrd_peak3", "deg", "2-theta of the third strongest powder XRD peak", _nth_peak(2)),
        ("xrd_first_peak", "deg", "2-theta of the powder XRD peak at the smallest angle", _first_peak),
        ("xrd_n_peaks", "", "number of powder XRD peaks below xrd_two_theta_max", _n_peaks),
    ]
    return {name: StructureFeature(name, unit, description, compute) for name, unit, description, compute in rows}


#: name -> StructureFeature, in catalogue order.
FEATURES: dict[str, StructureFeature] = _entries()


def catalogue() -> pd.DataFrame:
    """The features as a table: name (index), unit, description."""
    return pd.DataFrame([{"name": f.name, "unit": f.unit, "description": f.description} for f in FEATURES.values()]
                        ).set_index("name")


def check_features(names: Iterable[str] | str) -> list[str]:
    """The names as a list; InputError for an unknown or repeated one."""
    names = [names] if isinstance(names, str) else list(names)
    seen: set[str] = set()
    for name in names:
        if name not in FEATURES:
            raise InputError(f"unknown structure feature {name!r} (catalogue: {', '.join(FEATURES)})")
        if name in seen:
            raise InputError(f"structure feature {name!r} is asked for twice")
        seen.add(name)
    return names


def structure_features(structure: Any, names: Sequence[str], options: StructureOptions | None = None,
                       failures: dict[str, int] | None = None) -> dict[str, float]:
    """{name: value} of the chosen features of one pymatgen Structure.

    A feature that cannot be computed is NaN; when ``failures`` is given, the
    count of such features is added to it by name (why is not kept: it is a
    per-structure property of the data, reported as a count).
    """
    analysis = _Analysis(structure, options or StructureOptions())
    out: dict[str, float] = {}
    for name in names:
        try:
            value = float(FEATURES[name].compute(analysis))
        except InputError:
            raise
        except Exception:  # noqa: BLE001 -- a structure spglib or the XRD code cannot handle
            value = math.nan
        if not math.isfinite(value):
            value = math.nan
            if failures is not None:
                failures[name] = failures.get(name, 0) + 1
        out[name] = value
    return out
