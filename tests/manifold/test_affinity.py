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
