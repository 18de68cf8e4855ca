"""Preprocessing: power transforms that never fail (stable, mergeable, federated, Dask)."""

from ._power import PowerTransformClient, PowerTransformer, PowerTransformWarning

__all__ = ["PowerTransformClient", "PowerTransformWarning", "PowerTransformer"]
