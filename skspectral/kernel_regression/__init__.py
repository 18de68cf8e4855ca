"""Fast shift-invariant / digitally-shift-invariant kernel regression on lattices and nets."""

from ._base import DenseFallbackWarning
from ._regressors import DigitalNetKernelRegressor, LatticeKernelRegressor

__all__ = ["DenseFallbackWarning", "DigitalNetKernelRegressor", "LatticeKernelRegressor"]
