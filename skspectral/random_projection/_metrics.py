"""Recall@k of a reduction against exact neighbours in the original space."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_array

_METRICS = ("cosine", "euclidean", "dot")


def _prepare(X, metric):
    X = np.asarray(X, dtype=np.float32 if X.dtype == np.float32 else np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        X = X / norms
    return X


def _top_k(X, Q, query_rows, k, metric, batch_size):
    """Row numbers of the ``k`` nearest database rows of each query (self excluded)."""
    sq = np.einsum("ij,ij->i", X, X) if metric == "euclidean" else None
    result = np.empty((Q.shape[0], k), dtype=np.intp)
    for start in range(0, Q.shape[0], batch_size):
        stop = min(Q.shape[0], start + batch_size)
        score = Q[start:stop] @ X.T  # larger is nearer
        if metric == "euclidean":
            score = 2 * score - sq[None, :]
        score[np.arange(stop - start), query_rows[start:stop]] = -np.inf
        result[start:stop] = np.argpartition(-score, k - 1, axis=1)[:, :k]
    return result


@validate_params(
    {
        "X": ["array-like"],
        "X_reduced": ["array-like"],
        "k": [Interval(Integral, 1, None, closed="left")],
        "n_queries": [Interval(Integral, 1, None, closed="left"), None],
        "metric": [StrOptions(set(_METRICS))],
        "random_state": ["random_state"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def recall_at_k(
    X, X_reduced, *, k=10, n_queries=1000, metric="cosine", random_state=0, batch_size=256
):
    """Fraction of the exact ``k`` nearest neighbours that a reduction keeps.

    For each query row ``i`` the ``k`` nearest other rows of ``X`` (the truth, in the full
    space) are compared with the ``k`` nearest other rows of ``X_reduced`` (the same rows after
    the reduction); the recall is the mean fraction of the true neighbours found. Every row is
    in the database and the query itself is excluded from its own list. This is the number to
    read when choosing ``n_components``: a vector store searched in the reduced space returns
    about that fraction of the neighbours it would return in the full space.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The original vectors.
    X_reduced : array-like of shape (n_samples, n_components)
        The same rows after a reduction (int8 and float16 codes are read as floats).
    k : int, default=10
        Number of neighbours; must be smaller than ``n_samples``.
    n_queries : int or None, default=1000
        Number of query rows, drawn without replacement; ``None`` or a number at least
        ``n_samples`` uses every row.
    metric : {"cosine", "euclidean", "dot"}, default="cosine"
        Similarity used in both spaces (``"dot"``: largest inner product).
    random_state : int, RandomState instance or None, default=0
        Draws the query rows.
    batch_size : int, default=256
        Queries scored at once (memory is ``batch_size x n_samples``).

    Returns
    -------
    recall : float
        Mean recall@k over the queries, in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.random_projection import recall_at_k
    >>> X = np.random.default_rng(0).normal(size=(200, 32))
    >>> recall_at_k(X, X, k=5, n_queries=50)
    1.0
    >>> bool(recall_at_k(X, X[:, :8], k=5, n_queries=50) < 1.0)
    True
    """
    X = check_array(X, dtype=[np.float64, np.float32], input_name="X")
    X_reduced = check_array(X_reduced, dtype=None, input_name="X_reduced")
    if X_reduced.dtype.kind not in "biuf":
        raise ValueError(f"X_reduced must be numeric, got dtype {X_reduced.dtype}")
    X_reduced = X_reduced.astype(np.float32 if X_reduced.itemsize <= 4 else np.float64)
    if not np.all(np.isfinite(X_reduced)):
        raise ValueError("X_reduced contains NaN or infinity")
    n = X.shape[0]
    if X_reduced.shape[0] != n:
        raise ValueError(
            f"X and X_reduced must have the same rows, got {n} and {X_reduced.shape[0]}"
        )
    if k >= n:
        raise ValueError(f"k={k} must be smaller than the number of samples {n}")
    rng = check_random_state(random_state)
    if n_queries is None or n_queries >= n:
        rows = np.arange(n)
    else:
        rows = np.sort(rng.choice(n, size=n_queries, replace=False))
    A = _prepare(X, metric)
    B = _prepare(X_reduced, metric)
    truth = _top_k(A, A[rows], rows, k, metric, batch_size)
    found = _top_k(B, B[rows], rows, k, metric, batch_size)
    hits = sum(
        np.intersect1d(t, f, assume_unique=True).size for t, f in zip(truth, found, strict=True)
    )
    return hits / (k * rows.size)
