"""Each structure feature against an independent computation made here (lattice algebra, brute-force
periodic distances, Bragg's law, known space groups of prototypes, pymatgen's own analysers called directly)."""
import itertools
import math

import numpy as np
import pytest

from entry_fixtures import BINARIES, PROTOTYPES, TERNARIES, perovskite, prototype_structure
from formulasearch.errors import InputError
from formulasearch.data.structure_features import (FEATURES, StructureOptions, catalogue, check_features,
                                              crystal_system_code, structure_features)
from formulasearch.data.units import parse_unit

STRUCTURES = [(row, prototype_structure(*row)) for row in BINARIES[::3] + [BINARIES[-1]]]
CU_KA = 1.54184  # pymatgen's CuKa (weighted K-alpha1/alpha2), angstrom


def brute_force_neighbours(structure, tol):
    """Nearest distance and (1 + tol)-shell count of every site over the 7x7x7 images (numpy only)."""
    lattice = np.array(structure.lattice.matrix)
    cart = np.array(structure.cart_coords)
    shifts = np.array(list(itertools.product(range(-3, 4), repeat=3))) @ lattice
    nearest, counts = [], []
    for i in range(len(cart)):
        d = np.linalg.norm(cart[None, :, :] + shifts[:, None, :] - cart[i], axis=2).ravel()
        d = d[d > 1e-8]
        nearest.append(d.min())
        counts.append(np.count_nonzero(d <= d.min() * (1 + tol)))
    return np.array(nearest), np.array(counts)


def test_catalogue_lists_every_feature_with_a_parsable_unit():
    table = catalogue()
    assert list(table.index) == list(FEATURES)
    for unit in table["unit"]:
        parse_unit(unit)
    assert table.loc["density", "unit"] == "g/cm^3" and table.loc["xrd_peak1", "unit"] == "deg"


@pytest.mark.parametrize("row,structure", STRUCTURES, ids=[r[0][0] + r[0][1] + r[0][2] for r in STRUCTURES])
def test_geometry_features_match_lattice_algebra_and_brute_force(row, structure):
    kind = row[0]
    got = structure_features(structure, ["volume_per_atom", "density", "packing_fraction", "mean_nn_distance",
                                         "mean_coordination", "spacegroup_number", "crystal_system"])
    lattice = np.array(structure.lattice.matrix)
    volume = abs(np.linalg.det(lattice))
    assert got["volume_per_atom"] == pytest.approx(volume / len(structure), rel=1e-12)
    masses_g = sum(float(site.specie.atomic_mass) for site in structure) * 1.66053906660e-24
    assert got["density"] == pytest.approx(masses_g / (volume * 1e-24), rel=1e-9)
    spheres = sum(4 / 3 * math.pi * float(site.specie.atomic_radius) ** 3 for site in structure)
    assert got["packing_fraction"] == pytest.approx(spheres / volume, rel=1e-12)
    nearest, counts = brute_force_neighbours(structure, 0.1)
    assert got["mean_nn_distance"] == pytest.approx(nearest.mean(), rel=1e-10)
    assert got["mean_coordination"] == pytest.approx(counts.mean())
    number, system, nn_over_a, coordination = PROTOTYPES[kind]
    assert got["spacegroup_number"] == number
    assert got["crystal_system"] == system
    assert got["mean_coordination"] == coordination
    if nn_over_a is not None:
        assert got["mean_nn_distance"] == pytest.approx(nn_over_a * row[3], rel=1e-9)


def test_coordination_agrees_with_pymatgen_minimum_distance_nn():
    from pymatgen.analysis.local_env import MinimumDistanceNN

    for structure in [perovskite(*TERNARIES[0])] + [s for _, s in STRUCTURES]:
        for tol in (0.1, 0.5):
            finder = MinimumDistanceNN(tol=tol)
            expected = np.mean([finder.get_cn(structure, i) for i in range(len(structure))])
            got = structure_features(structure, ["mean_coordination"], StructureOptions(nn_tol=tol))
            assert got["mean_coordination"] == pytest.approx(expected)
    # SrTiO3: Sr has 12 O, Ti 6 O, each O 2 Ti: (12 + 6 + 3 x 2) / 5
    assert structure_features(perovskite(*TERNARIES[0]), ["mean_coordination"])["mean_coordination"] == 4.8


def _bragg_two_theta(d):
    return np.degrees(2 * np.arcsin(CU_KA / (2 * d)))


def test_xrd_features_of_rocksalt_follow_braggs_law():
    a = 5.64
    nacl = prototype_structure("rocksalt", "Na", "Cl", a)
    got = structure_features(nacl, ["xrd_peak1", "xrd_first_peak", "xrd_n_peaks"],
                             StructureOptions(xrd_two_theta_max=60))
    # fcc: reflections with h, k, l all even or all odd; distinct d = a / sqrt(h^2 + k^2 + l^2)
    sums = sorted({h * h + k * k + l * l for h, k, l in itertools.product(range(5), repeat=3)
                   if (h + k + l) and len({h % 2, k % 2, l % 2}) == 1})
    angles = [t for t in (_bragg_two_theta(a / math.sqrt(s)) for s in sums if CU_KA / (2 * a / math.sqrt(s)) < 1)]
    assert got["xrd_n_peaks"] == sum(t < 60 for t in angles)
    assert got["xrd_first_peak"] == pytest.approx(_bragg_two_theta(a / math.sqrt(3)), abs=1e-6)  # (111)
    assert got["xrd_peak1"] == pytest.approx(_bragg_two_theta(a / 2), abs=1e-6)  # (200), NaCl's strongest


def test_xrd_peaks_are_the_strongest_of_pymatgens_pattern():
    from pymatgen.analysis.diffraction.xrd import XRDCalculator

    for _, structure in STRUCTURES:
        pattern = XRDCalculator().get_pattern(structure)
        x, y = np.array(pattern.x), np.array(pattern.y)
        ranked = sorted(zip(-y, x))
        got = structure_features(structure, ["xrd_peak1", "xrd_peak2", "xrd_peak3", "xrd_first_peak", "xrd_n_peaks"],
                                 StructureOptions(xrd_two_theta_max=45))
        assert [got["xrd_peak1"], got["xrd_peak2"], got["xrd_peak3"]] == pytest.approx([t for _, t in ranked[:3]])
        assert got["xrd_first_peak"] == pytest.approx(x.min())
        assert got["xrd_n_peaks"] == np.count_nonzero(x < 45)


def test_missing_values_are_nan_and_counted():
    from pymatgen.core import Lattice, Structure

    # Kr has no empirical atomic radius in pymatgen: no packing fraction, and it is not filled in
    krypton = Structure(Lattice.cubic(5.7), ["Kr"], [[0, 0, 0]])
    failures = {}
    got = structure_features(krypton, ["packing_fraction", "volume_per_atom", "xrd_peak3"], failures=failures)
    assert math.isnan(got["packing_fraction"]) and got["volume_per_atom"] == pytest.approx(5.7 ** 3)
    assert failures.get("packing_fraction") == 1


def test_crystal_system_codes_and_errors():
    assert [crystal_system_code(n) for n in (1, 2, 3, 15, 16, 74, 75, 142, 143, 167, 168, 194, 195, 230)] == \
        [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]
    with pytest.raises(ValueError):
        crystal_system_code(231)
    with pytest.raises(InputError, match="unknown structure feature 'volume'"):
        check_features(["volume"])
    with pytest.raises(InputError, match="twice"):
        check_features(["density", "density"])
    with pytest.raises(InputError, match="unknown structure option 'symprek'"):
        StructureOptions.from_dict({"symprek": 0.1})
    with pytest.raises(InputError, match="unknown xrd_wavelength 'CuK'"):
        StructureOptions(xrd_wavelength="CuK")
    with pytest.raises(InputError, match="symprec > 0"):
        StructureOptions.from_dict({"symprec": "0.1"})
    with pytest.raises(InputError, match="above the computed range"):
        structure_features(STRUCTURES[0][1], ["xrd_n_peaks"], StructureOptions(xrd_two_theta_max=120))
