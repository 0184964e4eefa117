"""The samples: tables of compounds and atoms, the built-in octet data, elemental properties from pymatgen,
DFT entry files with structure and composition features, units, and the primary variables they become."""
