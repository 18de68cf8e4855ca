"""Affinities: perplexity calibration, symmetrization, neighbours, precomputed inputs."""

import numpy as np
import pytest
import scipy.sparse
from scipy.optimize import brentq
from scipy.special import xlogy

from skspectral.manifold import TSNE
from skspectral.manifold import _affinity as A


def test_calibration_meets_the_perplexity():
    rng = np.random.default_rng(0)
    dist = rng.gamma(2.0, 3.0, size=(200, 90))
    for perplexity in (5.0, 30.0):
        cond = A.conditional(dist, perplexity, 1)
        np.testing.assert_allclose(cond.sum(1), 1.0, rtol=1e-12)
        H = -(cond * np.log(np.where(cond > 0, cond, 1))).sum(1)
        np.testing.assert_allclose(H, np.log(perplexity), atol=1e-4)
        # against an independent root finder for beta on one row
        row = dist[7]

        def entropy_gap(log_beta, row=row, perplexity=perplexity):
            e = np.exp(-np.exp(log_beta) * (row - row.min()))
            p = e / e.sum()
            return -xlogy(p, p).sum() - np.log(perplexity)

        beta = np.exp(brentq(entropy_gap, -15, 8))
        e = np.exp(-beta * (row - row.min()))
        np.testing.assert_allclose(cond[7], e / e.sum(), atol=1e-4)


def test_calibration_parallel_equals_serial():
    rng = np.random.default_rng(1)
    dist = rng.gamma(2.0, 3.0, size=(500, 30))
    np.testing.assert_array_equal(A.conditional(dist, 10.0, 1), A.conditional(dist, 10.0, 2))


def test_joint_affinities_dense_reference():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((120, 5))
    k, perplexity = 30, 10.0
    dist, ind = A.knn(X, k, "euclidean", "exact", 1, np.random.RandomState(0))
    P = A.joint(A.conditional(dist, perplexity, 1), ind, 120).toarray()
    # dense reference: squared distances, the k nearest others, calibrated, symmetrized
    D = ((X[:, None] - X[None]) ** 2).sum(-1)
    C = np.zeros_like(D)
    for i in range(120):
        order = np.argsort(D[i])
        nb = order[order != i][:k]
        C[i, nb] = A.conditional(D[i, nb][None], perplexity, 1)[0]
    ref = (C + C.T) / (C + C.T).sum()
    np.testing.assert_allclose(P, ref, atol=1e-12)
    assert P.sum() == pytest.approx(1.0) and np.allclose(P, P.T) and np.all(np.diag(P) == 0)


def test_precomputed_distances_and_affinities_give_the_same_p():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((100, 4))
    base = TSNE(perplexity=10, max_iter=0, random_state=0).fit(X)
    D = ((X[:, None] - X[None]) ** 2).sum(-1)  # euclidean distances are squared before use
    pre = TSNE(perplexity=10, metric="precomputed", max_iter=0, random_state=0).fit(D)
    np.testing.assert_allclose(pre.affinities_.toarray(), base.affinities_.toarray(), atol=1e-12)
    aff = TSNE(affinity="precomputed", max_iter=0, random_state=0).fit(base.affinities_)
    np.testing.assert_allclose(aff.affinities_.toarray(), base.affinities_.toarray(), atol=1e-15)


def test_precomputed_affinities_are_symmetrized():
    # a non-symmetric affinity matrix (dense or sparse) becomes (A + A^T) / sum, without the
    # diagonal: the joint P that the gradient's formula assumes
    rng = np.random.default_rng(5)
    Aff = rng.random((60, 60)) * (rng.random((60, 60)) < 0.3)
    ref = Aff + Aff.T
    np.fill_diagonal(ref, 0)
    ref /= ref.sum()
    for X in (Aff, scipy.sparse.csr_matrix(Aff)):
        P = TSNE(affinity="precomputed", max_iter=0, random_state=0).fit(X).affinities_
        np.testing.assert_allclose(P.toarray(), ref, rtol=1e-12, atol=1e-15)


def test_cosine_metric():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((80, 6))
    a = TSNE(perplexity=8, metric="cosine", max_iter=0).fit(X).affinities_
    b = TSNE(perplexity=8, metric="cosine", max_iter=0).fit(X * 7.0).affinities_
    np.testing.assert_allclose(a.toarray(), b.toarray(), atol=1e-12)


@pytest.mark.slow
def test_approximate_neighbours_recall():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4000, 20)).astype(np.float64)
    k = 30
    d_ex, i_ex = A.knn(X, k, "euclidean", "exact", 2, np.random.RandomState(0))
    d_ap, i_ap = A.knn(X, k, "euclidean", "approx", 2, np.random.RandomState(0))
    recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(i_ex, i_ap, strict=True)])
    assert recall > 0.9
    assert not np.any(i_ap == np.arange(4000)[:, None])


def _brute_force(Q, R, k, exclude_self):
    """Squared distances by a dense float64 matrix; the k smallest, ties by index."""
    D = ((Q[:, None, :] - R[None, :, :]) ** 2).sum(-1)
    if exclude_self:
        np.fill_diagonal(D, np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(R.shape[0]), D.shape), D), axis=1)[:, :k]
    return np.take_along_axis(D, order, 1), order, D


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("n", [700, 1601])
def test_exact_euclidean_neighbours_match_brute_force(n_jobs, n):
    # float32 screening + float64 distances against a dense float64 distance matrix: with
    # duplicated rows (exact ties, ordered by index), a large common offset (cancellation in
    # float32 if it were not centred), n not a multiple of the run width, the last point alone
    # in its run (n = 1601)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, 20))
    X[350:400] = X[:50]
    X += 3e4
    k = 40
    dist, ind = A.exact_euclidean_knn(X, X, k, n_jobs, exclude_self=True)
    ref_d, ref_i, D = _brute_force(X, X, k, True)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.take_along_axis(D, ind, 1), ref_d, rtol=1e-9, atol=1e-9)
    assert not np.any(ind == np.arange(n)[:, None])
    # the duplicates: each of the first 50 points has its twin as nearest neighbour
    np.testing.assert_array_equal(ind[:50, 0], np.arange(350, 400))
    np.testing.assert_array_equal(ind[350:400, 0], np.arange(50))
    # equal distances go by index
    tie = np.diff(dist, axis=1) == 0
    assert np.all(np.diff(ind, axis=1)[tie] > 0)
    # through A.knn (the metric's dispatch) and as query rows against a reference
    d2, i2 = A.knn(X, k, "sqeuclidean", "exact", n_jobs, np.random.RandomState(0))
    np.testing.assert_array_equal(i2, ind)
    np.testing.assert_array_equal(d2, dist)
    Q = rng.standard_normal((90, 20)) + 3e4
    dq, iq = A.exact_euclidean_knn(Q, X, k, n_jobs)
    ref_d, _, D = _brute_force(Q, X, k, False)
    np.testing.assert_allclose(dq, ref_d, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.take_along_axis(D, iq, 1), ref_d, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_exact_euclidean_neighbours_below_float32_resolution(seed):
    # the query and its 60 nearest points (radii 1 + 1e-3 j) sit 1,000 away from most of the
    # data, so after centring and scaling their screened float32 values differ by less than
    # their rounding: the float32 order of the 60 is scrambled, and the exact 40 nearest are
    # found only if the screen keeps every point within its rounding margin (with no margin
    # this fails in every seed)
    rng = np.random.default_rng(seed)
    f = 16
    u = rng.standard_normal((60, f))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    c = rng.standard_normal(f)
    near = c + u * (1.0 + 1e-3 * rng.permutation(60))[:, None]
    local = rng.standard_normal((1000, f))
    local *= (1.1 + rng.random((1000, 1))) / np.linalg.norm(local, axis=1, keepdims=True)
    distant = rng.standard_normal((3000, f))
    distant[:, 0] += 1000.0
    R = rng.permutation(np.vstack([near, c + local, distant]))
    k = 40
    dist, ind = A.exact_euclidean_knn(c[None], R, k, 1)
    ref_d, ref_i, _ = _brute_force(c[None], R, k, False)
    np.testing.assert_array_equal(ind, ref_i)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-12)


@pytest.mark.parametrize("n", [5, 60, 200])
def test_exact_euclidean_neighbours_all_ties_and_small_n(n):
    # every point identical (all distances zero: the screen keeps everything) and few runs
    # (n below 16 k): the first k other indices, in order
    X = np.ones((n, 3))
    k = min(n - 1, 30)
    dist, ind = A.exact_euclidean_knn(X, X, k, 2, exclude_self=True)
    assert np.all(dist == 0)
    for i in (0, n // 2, n - 1):
        np.testing.assert_array_equal(ind[i], np.delete(np.arange(n), i)[:k])
    rng = np.random.default_rng(4)
    Y = rng.standard_normal((n, 3))
    dist, ind = A.exact_euclidean_knn(Y, Y, k, 1, exclude_self=True)
    ref_d, ref_i, _ = _brute_force(Y, Y, k, True)
    np.testing.assert_array_equal(ind, ref_i)
