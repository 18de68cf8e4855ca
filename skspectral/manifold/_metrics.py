"""Quality of an embedding: the exact KL divergence against given affinities."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse

from . import _gradient as G


def kl_divergence(P, embedding, *, dof=1.0, n_jobs=None):
    """``KL(P || Q)`` of an embedding, with ``Q`` summed exactly over all pairs (O(n^2) time,
    O(n) memory).

    Parameters
    ----------
    P : sparse matrix of shape (n_samples, n_samples)
        Joint affinities summing to one (e.g. a fitted ``TSNE().affinities_``), so that
        embeddings from different libraries are scored against the same ``P``.
    embedding : array-like of shape (n_samples, n_components)
        The embedding.
    dof : float, default=1.0
        Degrees of freedom of the similarity kernel ``(1 + d^2 / dof)^-dof``.
    n_jobs : int, default=None
        Threads.

    Returns
    -------
    kl : float

    Examples
    --------
    >>> import numpy as np, scipy.sparse
    >>> from skspectral.manifold import kl_divergence
    >>> P = scipy.sparse.csr_matrix(np.array([[0, .25, .25], [.25, 0, 0], [.25, 0, 0]]))
    >>> Y = np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    >>> round(kl_divergence(P, Y), 4)
    0.1823
    """
    P = scipy.sparse.csr_matrix(P, dtype=np.float64)
    P.eliminate_zeros()
    P.indices = P.indices.astype(np.int64)
    P.indptr = P.indptr.astype(np.int64)
    Y = np.ascontiguousarray(embedding, dtype=np.float64)
    _, cross = G.attraction(P, Y, dof, n_jobs, want_kl=True)
    _, z = G.exact_repulsion(Y, dof, n_jobs)
    data = P.data
    return float(np.dot(data, np.log(data)) - cross + math.log(z))
