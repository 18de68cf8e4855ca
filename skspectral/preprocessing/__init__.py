"""Feature-wise preprocessing.

* :class:`KernelDensityIntegralTransformer`: each feature through the CDF of its kernel density
  estimate (McCarter 2023), exact for the Gaussian and poly-exponential kernels, from the
  quantile transformation (``alpha -> 0``) to min-max scaling (``alpha -> inf``).
* :class:`PowerTransformer`: Box-Cox and Yeo-Johnson power transforms that never fail
  (numerically stable, mergeable, federated, Dask-distributed; Xu and Cormode 2025), with
  :class:`PowerTransformClient` for data owners in a federated fit.
"""

from ._kdi import KernelDensityIntegralTransformer
from ._power import PowerTransformClient, PowerTransformer, PowerTransformWarning

__all__ = [
    "KernelDensityIntegralTransformer",
    "PowerTransformClient",
    "PowerTransformWarning",
    "PowerTransformer",
]
