"""Feature-wise preprocessing: the kernel density integral transformation.

* :class:`KernelDensityIntegralTransformer`: each feature through the CDF of its kernel density
  estimate (McCarter 2023), exact for the Gaussian and poly-exponential kernels, from the
  quantile transformation (``alpha -> 0``) to min-max scaling (``alpha -> inf``).
"""

from ._kdi import KernelDensityIntegralTransformer

__all__ = ["KernelDensityIntegralTransformer"]
