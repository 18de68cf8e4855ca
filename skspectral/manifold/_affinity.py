"""Input affinities of t-SNE: nearest neighbours, perplexity calibration, symmetrization.

For each point ``i`` only its ``k = min(n - 1, 3 * perplexity)`` nearest neighbours get a
nonzero conditional probability ``p_{j|i} = exp(-beta_i d_ij) / sum_j exp(-beta_i d_ij)``,
with ``d`` the squared Euclidean (or other metric's plain) distance and ``beta_i`` set by a
per-row binary search so that the row's perplexity ``exp(H_i)`` is the one asked for (van der
Maaten, "Accelerating t-SNE using tree-based algorithms", JMLR 15, 2014). The joint affinities
are ``P = (P_cond + P_cond^T) / (2 n)``, a symmetric sparse matrix summing to one.

Neighbours are exact (Euclidean: float32 matrix products screen candidates with a proven
bound on their rounding, and float64 distances pick among them; other metrics:
scikit-learn's brute-force search; exact and fast to about 50,000 points in 50 dimensions) or
approximate (pynndescent's nearest-neighbour descent, numba-compiled and cached on disk,
sub-quadratic; used from 50,000 points on).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse

from . import _kernels as K

# From this many samples on, "auto" neighbours are approximate (pynndescent).
APPROX_FROM = 50_000
TOL = 1e-5
MAX_STEPS = 200
# candidates per point in each round of the approximate neighbour search
MAX_CANDIDATES = 24
# metrics searched by the screened exact Euclidean search (dense input)
EUCLIDEAN = ("euclidean", "l2", "sqeuclidean")
# query rows per matrix product in the exact Euclidean search (products: block x n float32)
KNN_BLOCK = 128
UNIT_ROUNDOFF_32 = 2.0**-24


def n_neighbors_for(perplexity: float, n_samples: int) -> int:
    return int(min(n_samples - 1, max(1, math.floor(3 * perplexity))))


def squared(metric) -> bool:
    return metric in ("euclidean", "l2", "minkowski_2", "sqeuclidean")


def exact_index(X, metric, n_jobs):
    """What :func:`exact_knn` searches: the (dense) rows themselves for the Euclidean metrics,
    a fitted scikit-learn index otherwise."""
    if metric in EUCLIDEAN and not scipy.sparse.issparse(X):
        return np.ascontiguousarray(X, dtype=np.float64)
    from sklearn.neighbors import NearestNeighbors

    algorithm = "brute" if metric in ("euclidean", "l2", "cosine", "sqeuclidean") else "auto"
    return NearestNeighbors(metric=metric, algorithm=algorithm, n_jobs=n_jobs).fit(X)


def exact_knn(index, Q, k, n_jobs):
    """The ``k`` nearest indexed rows to each row of ``Q``: ``(dist, ind)``, distances squared
    for the Euclidean metrics, there in a unit of their own (see :func:`exact_euclidean_knn`:
    new points can be any distance away)."""
    if isinstance(index, np.ndarray):
        return exact_euclidean_knn(Q, index, k, n_jobs, unit=True)
    dist, ind = index.kneighbors(Q, n_neighbors=k)
    if squared(index.metric):
        dist = dist * dist
    return dist, ind


def knn(X, k, metric, neighbors, n_jobs, random_state):
    """``(dist, ind)``, each (n, k): the ``k`` nearest other points of every row of ``X`` and
    their distances (squared for the Euclidean metric)."""
    n = X.shape[0]
    use_approx = neighbors == "approx" or (neighbors == "auto" and n >= APPROX_FROM)
    if use_approx:
        dist, ind = _approx_knn(X, k, metric, n_jobs, random_state)
    elif metric in EUCLIDEAN and not scipy.sparse.issparse(X):
        # (squared distances already, as every Euclidean metric's here)
        dist, ind = exact_euclidean_knn(X, X, k, n_jobs, exclude_self=True)
        return dist, index_array(ind, n)
    else:
        dist, ind = exact_index(X, metric, n_jobs).kneighbors(n_neighbors=k)
    dist = np.ascontiguousarray(dist, dtype=np.float64)
    if metric != "sqeuclidean" and squared(metric):
        dist *= dist
    return dist, index_array(ind, n)


def exact_euclidean_knn(Q, R, k, n_jobs, *, exclude_self=False, unit=False):
    """Exact Euclidean neighbours: ``(dist, ind)``, each (m, k), the squared distances (float64)
    of the ``k`` nearest rows of ``R`` to each row of ``Q``, ascending, ties by index; with
    ``exclude_self`` (``Q is R``), each row's own index is left out. With ``unit``, the
    distances are divided by the square of the largest centred coordinate, so that they
    never overflow (the perplexity calibration does not depend on their unit).

    Both are centred on the mean of ``R`` and scaled to norms at most one, then rounded to
    float32 for the matrix products that screen the candidates (twice the speed and half the
    bytes of float64 products); the candidates' distances are then computed directly from the
    centred float64 rows. No neighbour is lost to the float32 rounding: ``margin`` bounds the
    error of each screened value (rounding of the coordinates, of any order of summation of
    ``f`` products, of the squared norms and of the subtraction, with room to spare) and the
    screen keeps every point within twice that of the threshold (see
    :func:`._kernels.knn_screened`).
    """
    from .._backend import single_threaded_blas

    Q = np.ascontiguousarray(Q, dtype=np.float64)
    R = Q if exclude_self else np.ascontiguousarray(R, dtype=np.float64)
    m, f = Q.shape
    mu = R.mean(axis=0)
    Rc = R - mu
    Qc = Rc if exclude_self else Q - mu
    # scaled by the largest coordinate first, so that no squared norm overflows
    big = max(float(np.abs(Rc).max(initial=0.0)), float(np.abs(Qc).max(initial=0.0)))
    if big > 0:
        Rc /= big  # (in place: both are fresh differences)
        if not exclude_self:
            Qc /= big
    r2 = np.einsum("ij,ij->i", Rc, Rc)
    q2 = r2 if exclude_self else np.einsum("ij,ij->i", Qc, Qc)
    top = max(float(r2.max(initial=0.0)), float(q2.max(initial=0.0)))
    scale = 1.0 / math.sqrt(top) if top > 0 else 1.0
    R32 = (Rc * scale).astype(np.float32)
    Q32 = R32 if exclude_self else (Qc * scale).astype(np.float32)
    sq32 = (r2 * scale**2).astype(np.float32)
    margin = ((2 * f + 12) * np.sqrt(q2 * scale**2) + 4) * UNIT_ROUNDOFF_32 + f * 2.0**-120
    own = np.arange(m, dtype=np.int64) if exclude_self else np.full(m, -1, dtype=np.int64)
    dist = np.empty((m, k))
    ind = np.empty((m, k), dtype=np.int64)
    with single_threaded_blas():
        K.knn_screened(
            n_jobs,
            Q32,
            np.ascontiguousarray(R32.T),
            sq32,
            Qc,
            Rc,
            margin,
            own,
            KNN_BLOCK,
            k,
            dist,
            ind,
        )
    if big > 0 and not unit:
        dist *= big * big
    return dist, ind


def index_array(ind, n):
    """Neighbour indices as int32 where ``n`` allows (half the bytes of int64)."""
    return np.ascontiguousarray(ind, dtype=np.int32 if n <= np.iinfo(np.int32).max else np.int64)


def _approx_knn(X, k, metric, n_jobs, random_state):
    from pynndescent import NNDescent

    seed = int(random_state.randint(np.iinfo(np.int32).max))
    index = NNDescent(
        X,
        n_neighbors=k + 1,
        metric="euclidean" if metric == "sqeuclidean" else metric,
        random_state=seed,
        n_jobs=n_jobs,
        compressed=True,
        low_memory=True,
        # pynndescent's update buffers grow with the square of the candidates per point: its
        # default, min(60, n_neighbors), made them the peak of a whole fit (1,687 MiB at 100,000
        # points, 925 MiB with 24); 24 keeps the recall of 91 neighbours above 0.998
        max_candidates=min(MAX_CANDIDATES, k + 1),
    )
    ind, dist = index.neighbor_graph
    n = X.shape[0]
    rows = np.arange(n)[:, None]
    is_self = ind == rows
    # drop each point itself (or the farthest candidate when the search missed it)
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones(ind.shape, dtype=bool)
    keep[np.arange(n), drop] = False
    ind = ind[keep].reshape(n, k)
    dist = dist[keep].reshape(n, k)
    if metric == "sqeuclidean":
        dist = dist * dist
    return dist, ind


def knn_precomputed(D, k):
    """The ``k`` smallest off-diagonal entries of each row of a dense distance matrix."""
    n = D.shape[0]
    ind = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k))
    step = max(1, (1 << 22) // max(n, 1))
    for s in range(0, n, step):
        block = np.array(D[s : s + step], dtype=np.float64)
        r = np.arange(block.shape[0])
        block[r, s + r] = np.inf
        part = (
            np.argpartition(block, k - 1, axis=1)[:, :k]
            if k < n - 1
            else np.argsort(block, axis=1)[:, :k]
        )
        ind[s : s + step] = part
        dist[s : s + step] = np.take_along_axis(block, part, axis=1)
    return dist, ind


def conditional(dist, perplexity, n_jobs):
    """Row-normalized conditional probabilities of the neighbours, perplexity-calibrated."""
    out = np.empty_like(dist)
    if dist.shape[1] == 0:
        return out
    K.calibrate_perplexity(n_jobs, dist, math.log(perplexity), TOL, MAX_STEPS, out)
    return out


def joint(cond, ind, n):
    """``P = (C + C^T) / sum``: the symmetric joint affinities (CSR, float64, sum 1)."""
    k = ind.shape[1]
    indptr = np.arange(0, n * k + 1, k, dtype=ind.dtype)
    C = scipy.sparse.csr_matrix((cond.ravel(), ind.ravel(), indptr), shape=(n, n))
    CT = C.T.tocsr()
    S = C + CT
    del C, CT
    return normalize(S)


def precomputed(A):
    """``P = (A + A^T) / sum`` of a user's nonnegative affinity matrix (dense or sparse)."""
    A = scipy.sparse.csr_matrix(A, dtype=np.float64)
    return normalize(A + A.T.tocsr())


def normalize(P):
    """Symmetric CSR with no diagonal, no explicit zeros, summing to one."""
    P = scipy.sparse.csr_matrix(P, dtype=np.float64)
    if P.diagonal().any():
        # (only then: setdiag inserts every missing diagonal entry, a copy of the whole matrix)
        P.setdiag(0)
    P.eliminate_zeros()
    P.sum_duplicates()
    P.sort_indices()
    total = P.data.sum()
    if not total > 0:
        raise ValueError("the affinity matrix has no positive off-diagonal entry")
    P.data /= total
    return P
