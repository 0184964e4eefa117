"""Small pymatgen computed entries of known prototypes, and writers of entry files in every supported layout."""
from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path

import numpy as np

# (prototype, space group number, crystal system code, nearest-neighbour distance / a, coordination)
PROTOTYPES = {
    "rocksalt": (225, 7, 0.5, 6),
    "zincblende": (216, 7, np.sqrt(3) / 4, 4),
    "cscl": (221, 7, np.sqrt(3) / 2, 8),
    "wurtzite": (186, 6, None, 4),
}


def prototype_structure(kind: str, a: str, b: str, lattice_a: float):
    """A binary AB structure of a prototype; wurtzite is ideal (c/a = sqrt(8/3), u = 3/8)."""
    from pymatgen.core import Lattice, Structure

    if kind == "rocksalt":
        return Structure.from_spacegroup("Fm-3m", Lattice.cubic(lattice_a), [a, b], [[0, 0, 0], [0.5, 0.5, 0.5]])
    if kind == "zincblende":
        return Structure.from_spacegroup("F-43m", Lattice.cubic(lattice_a), [a, b], [[0, 0, 0], [0.25, 0.25, 0.25]])
    if kind == "cscl":
        return Structure(Lattice.cubic(lattice_a), [a, b], [[0, 0, 0], [0.5, 0.5, 0.5]])
    if kind == "wurtzite":
        lattice = Lattice.hexagonal(lattice_a, lattice_a * np.sqrt(8 / 3))
        return Structure.from_spacegroup("P6_3mc", lattice, [a, b], [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 3 / 8]])
    raise ValueError(kind)


def perovskite(a: str, b: str, x: str, lattice_a: float):
    """Cubic ABX3 perovskite (Pm-3m), a ternary."""
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice.cubic(lattice_a), [a, b, x, x, x],
                     [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])


BINARIES = [  # (kind, A, B, lattice constant in angstrom)
    ("rocksalt", "Na", "Cl", 5.64), ("rocksalt", "K", "Cl", 6.29), ("rocksalt", "Mg", "O", 4.21),
    ("rocksalt", "Ca", "O", 4.81), ("rocksalt", "Li", "F", 4.03), ("rocksalt", "Na", "F", 4.63),
    ("rocksalt", "Sr", "O", 5.16), ("rocksalt", "Ag", "Cl", 5.55), ("zincblende", "Ga", "As", 5.65),
    ("zincblende", "Zn", "S", 5.41), ("zincblende", "Al", "P", 5.46), ("zincblende", "In", "Sb", 6.48),
    ("zincblende", "Cd", "Te", 6.48), ("cscl", "Cs", "Cl", 4.12), ("cscl", "Cs", "Br", 4.30),
    ("cscl", "Tl", "Cl", 3.84), ("wurtzite", "Zn", "O", 3.25), ("wurtzite", "Ga", "N", 3.19),
    ("wurtzite", "Al", "N", 3.11), ("wurtzite", "Cd", "S", 4.14),
]
TERNARIES = [("Sr", "Ti", "O", 3.905), ("Ba", "Ti", "O", 4.01), ("Ca", "Ti", "O", 3.84), ("K", "Nb", "O", 4.00)]


def make_entries(target=None, with_ternaries=True, seed=0):
    """ComputedStructureEntries of BINARIES (+ TERNARIES) with data fields e_form, band_gap_ind, e_above_hull.

    `target(structure) -> float` sets data["e_form"] (default: random numbers).
    """
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    rng = np.random.default_rng(seed)
    structures = [prototype_structure(*row) for row in BINARIES]
    if with_ternaries:
        structures += [perovskite(*row) for row in TERNARIES]
    entries = []
    for i, s in enumerate(structures):
        e_form = float(target(s)) if target else float(rng.normal(-1, 0.5))
        data = {"e_form": e_form, "band_gap_ind": float(rng.uniform(0, 5)), "e_above_hull": float(rng.uniform(0, 0.1)),
                "mat_id": f"agm{i:06d}"}
        entries.append(ComputedStructureEntry(s, float(rng.normal(-4, 1)) * len(s), data=data))
    return entries


def _open_text(path: Path):
    openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    return openers.get(path.suffix, open)(path, "wt")


def write_entries(path, entries, layout="list") -> Path:
    """Write entry dicts: "list", "container" (a dict with an entries list, as Alexandria), "lines" (JSON Lines)
    or "single" (one entry). The compression follows the suffix."""
    path = Path(path)
    dicts = [e.as_dict() if hasattr(e, "as_dict") else e for e in entries]
    with _open_text(path) as fh:
        if layout == "list":
            json.dump(dicts, fh)
        elif layout == "container":
            json.dump({"@module": "test", "@class": "Export", "entries": dicts, "note": "metadata after"}, fh)
        elif layout == "lines":
            for d in dicts:
                fh.write(json.dumps(d) + "\n")
        elif layout == "single":
            assert len(dicts) == 1
            json.dump(dicts[0], fh)
        else:
            raise ValueError(layout)
    return path


def brute_force_nearest(structure) -> np.ndarray:
    """Distance from every site to its nearest neighbour over the 7x7x7 periodic images (numpy only)."""
    import itertools

    lattice = np.array(structure.lattice.matrix)
    cart = np.array(structure.cart_coords)
    shifts = np.array(list(itertools.product(range(-3, 4), repeat=3))) @ lattice
    out = []
    for i in range(len(cart)):
        d = np.linalg.norm(cart[None, :, :] + shifts[:, None, :] - cart[i], axis=2).ravel()
        out.append(d[d > 1e-8].min())
    return np.array(out)
