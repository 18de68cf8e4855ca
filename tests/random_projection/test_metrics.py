import numpy as np
import pytest

from skspectral.random_projection import recall_at_k


def _reference(X, Xr, k, rows, metric):
    """One query at a time, full sort: the obviously correct recall@k."""

    def neighbours(A, i):
        if metric == "cosine":
            A = A / np.linalg.norm(A, axis=1, keepdims=True)
        if metric == "euclidean":
            score = -np.sum((A - A[i]) ** 2, axis=1)
        else:
            score = A @ A[i]
        score[i] = -np.inf
        return set(np.argsort(-score, kind="stable")[:k])

    hits = [len(neighbours(X, i) & neighbours(Xr, i)) for i in rows]
    return sum(hits) / (k * len(rows))


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
def test_matches_brute_force(metric):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 20))
    Xr = X[:, :6] + 0.1 * rng.normal(size=(150, 6))
    got = recall_at_k(X, Xr, k=7, n_queries=None, metric=metric)
    assert got == pytest.approx(_reference(X, Xr, 7, range(150), metric))
    sub = recall_at_k(X, Xr, k=7, n_queries=40, metric=metric, random_state=3)
    rows = np.sort(np.random.RandomState(3).choice(150, 40, replace=False))
    assert sub == pytest.approx(_reference(X, Xr, 7, rows, metric))


def test_identity_and_invariances():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 10)).astype(np.float32)
    assert recall_at_k(X, X, k=10) == 1.0
    # cosine ignores the scale of each row; an orthogonal map keeps everything
    Q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    assert recall_at_k(X, (X @ Q) * rng.uniform(1, 5, size=(100, 1)), k=5) == 1.0
    # int8 codes are accepted
    codes = np.clip(np.rint(X * 40), -127, 127).astype(np.int8)
    assert 0.5 < recall_at_k(X, codes, k=5) <= 1.0
    assert 0.0 <= recall_at_k(X, rng.normal(size=(100, 3)), k=5) < 0.5


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(ValueError, match="same rows"):
        recall_at_k(X, X[:10])
    with pytest.raises(ValueError, match="smaller than the number of samples"):
        recall_at_k(X, X, k=20)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        recall_at_k(bad, X)
    with pytest.raises(ValueError, match="NaN"):
        recall_at_k(X, bad)
    with pytest.raises(ValueError, match="metric"):
        recall_at_k(X, X, metric="l1")
