"""Low-discrepancy designs: extensible rank-1 lattices and base-2 digital nets.

Engines follow :class:`scipy.stats.qmc.QMCEngine`; their generating vector / matrices are
shipped as package data (see ``skspectral/qmc/data/README.md`` for provenance).
"""

from ._designs import (
    NET_BITS,
    DigitalNet,
    Lattice,
    default_generating_matrices,
    default_generating_vector,
    periodize,
    unperiodize,
)

__all__ = [
    "NET_BITS",
    "DigitalNet",
    "Lattice",
    "default_generating_matrices",
    "default_generating_vector",
    "periodize",
    "unperiodize",
]
