"""Kernel approximation with random Fourier features, in full precision and quantized.

* :class:`RandomFourierFeatures`: rbf, laplacian, Matern and Cauchy (rational quadratic)
  kernels; i.i.d., orthogonal, structured (Hadamard) and quasi-Monte Carlo frequencies;
  ``cos`` or ``cos/sin`` features; a drop-in for scikit-learn's ``RBFSampler``.
* :class:`QuantizedRandomFourierFeatures`: the same features in a few bits per entry, by
  Sigma-Delta quantization or distributed noise shaping with condensation (Zhang, Kannan,
  Cloninger and Saab), or by the memoryless, stochastic and semi-quantized baselines;
  :meth:`~QuantizedRandomFourierFeatures.encode` gives packed codes.
"""

from ._quantized import QuantizationStabilityWarning, QuantizedRandomFourierFeatures
from ._rff import RandomFourierFeatures

__all__ = [
    "QuantizationStabilityWarning",
    "QuantizedRandomFourierFeatures",
    "RandomFourierFeatures",
]
