"""Manifold learning: t-SNE with the FFT-interpolated gradient of FIt-SNE, and transform.

* :class:`TSNE`: a scikit-learn transformer; ``fit`` embeds the training data, ``transform``
  places new points into the fitted embedding without moving it.
"""

from ._metrics import kl_divergence
from ._tsne import TSNE

__all__ = ["TSNE", "kl_divergence"]
