"""Fast dimensionality reduction of embeddings: FFT truncation and fast random projections.

* :class:`FFTEmbeddingReducer`: the magnitude map of Bulgakov and Segal (rfft, keep the
  magnitudes of ``M`` low frequencies) and its linear, invertible variants (real and imaginary
  parts, or the DCT), with low-frequency or energy-based selection.
* :class:`SubsampledRandomizedHadamard`: random signs, a fast Walsh-Hadamard (or DCT)
  transform and row subsampling (SRHT), or the sparse projection of the fast
  Johnson-Lindenstrauss transform.
* :func:`recall_at_k`: how many exact nearest neighbours a reduction keeps.
"""

from ._fft_reducer import FFTEmbeddingReducer
from ._metrics import recall_at_k
from ._srht import SubsampledRandomizedHadamard

__all__ = ["FFTEmbeddingReducer", "SubsampledRandomizedHadamard", "recall_at_k"]
