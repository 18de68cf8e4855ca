"""Small data sets shipped with skspectral (no network, ever)."""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_tweet_embeddings"]


def load_tweet_embeddings(*, dtype=np.float32, return_rows=False):
    """Load 3,000 real sentence embeddings (all-MiniLM-L6-v2, 384 dimensions).

    A uniform random subsample of the embeddings of 20,663 public short texts (the ``dslabs``
    R package's ``trump_tweets``), stored as float16 in the package (about 2 MB) and
    re-normalized to unit length on load. Provenance: ``skspectral/datasets/data/README.md``.

    Parameters
    ----------
    dtype : dtype, default=np.float32
        Floating dtype of the returned array.
    return_rows : bool, default=False
        Also return the row numbers of the subsample in the full 20,663-row set.

    Returns
    -------
    X : ndarray of shape (3000, 384)
        Unit-norm embeddings.
    rows : ndarray of shape (3000,), only if ``return_rows``

    Examples
    --------
    >>> from skspectral.datasets import load_tweet_embeddings
    >>> X = load_tweet_embeddings()
    >>> X.shape, X.dtype.name
    ((3000, 384), 'float32')
    """
    path = resources.files(__name__).joinpath("data", "tweets_minilm_3000.npz")
    with resources.as_file(path) as p, np.load(p) as data:
        X = data["embeddings"].astype(np.float64)
        rows = data["rows"].astype(np.intp)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    X = X.astype(dtype, copy=False)
    return (X, rows) if return_rows else X
