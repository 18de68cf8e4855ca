"""The gradient against dense O(N^2) references; the FFT interpolation against the exact sums."""

import numpy as np
import pytest
import scipy.sparse

from skspectral.manifold import _gradient as G
from skspectral.manifold import _kernels as K
from skspectral.manifold import kl_divergence


def _dense_kl(P, Y, dof):
    D = ((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    W = (1 + D / dof) ** -dof
    np.fill_diagonal(W, 0)
    Q = W / W.sum()
    m = P > 0
    return float((P[m] * np.log(P[m] / Q[m])).sum())


def _random_p(n, rng):
    A = rng.random((n, n)) * (rng.random((n, n)) < 0.3)
    P = A + A.T
    np.fill_diagonal(P, 0)
    return P / P.sum()


def _gradient(P, Y, dof, method="exact", **kw):
    Ps = scipy.sparse.csr_matrix(P)
    Ps.indices = Ps.indices.astype(np.int64)
    Ps.indptr = Ps.indptr.astype(np.int64)
    attr, _ = G.attraction(Ps, Y, dof, 1)
    if method == "exact":
        rep, z = G.exact_repulsion(Y, dof, 1)
    else:
        rep, z = G.GridField(kw.get("p", 3), 50, 1.0, 200, dof).repulsion(Y, 1)
    return attr - rep / z


@pytest.mark.parametrize("dof", [1.0, 0.5, 3.0])
def test_gradient_is_the_kl_gradient(dof):
    # central finite differences of the dense KL, against 4 times our gradient (any dof)
    rng = np.random.default_rng(0)
    n, d = 25, 2
    P = _random_p(n, rng)
    Y = rng.standard_normal((n, d))
    g = _gradient(P, Y, dof) * 4.0
    num = np.empty_like(Y)
    eps = 1e-6
    for i in range(n):
        for a in range(d):
            Yp, Ym = Y.copy(), Y.copy()
            Yp[i, a] += eps
            Ym[i, a] -= eps
            num[i, a] = (_dense_kl(P, Yp, dof) - _dense_kl(P, Ym, dof)) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("dof", [1.0, 0.7])
def test_kl_divergence_matches_dense(dof):
    rng = np.random.default_rng(1)
    P = _random_p(40, rng)
    Y = rng.standard_normal((40, 2)) * 3
    assert kl_divergence(scipy.sparse.csr_matrix(P), Y, dof=dof) == pytest.approx(
        _dense_kl(P, Y, dof), rel=1e-10
    )


def _errors(Y, dof=1.0, **kw):
    rep, z = G.exact_repulsion(Y, dof, 1)
    field = G.GridField(kw.pop("p", 3), kw.pop("min_intervals", 50), 1.0, 200, dof)
    field.NEAR_BUDGET = kw.pop("near_budget", field.NEAR_BUDGET)
    rep2, z2 = field.repulsion(Y, kw.pop("n_jobs", 1))
    return np.linalg.norm(rep2 - rep) / np.linalg.norm(rep), abs(z2 - z) / z


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("dof", [1.0, 0.5])
def test_fft_repulsion_matches_exact_at_n2000(d, dof):
    # a random embedding spanning a few units (as t-SNE's is before it expands): the default
    # settings meet 1e-3 on the force and on Z
    rng = np.random.default_rng(2)
    Y = rng.standard_normal((2000, d)) * 2.0
    e_rep, e_z = _errors(Y, dof)
    assert e_rep < 1e-3
    assert e_z < 1e-3


@pytest.mark.parametrize("d", [1, 2])
def test_fft_repulsion_converges_with_interpolation_points(d):
    # a wide embedding (boxes of width 1), the interpolation alone (no near field): the error
    # falls with every added node
    rng = np.random.default_rng(3)
    Y = rng.standard_normal((2000, d)) * 10.0
    errs = [_errors(Y, p=p, near_budget=0)[0] for p in (2, 3, 4, 5, 6)]
    assert all(b < a for a, b in zip(errs, errs[1:], strict=False))
    assert errs[-1] < errs[0] / 20


def test_fft_repulsion_parallel_equals_serial():
    rng = np.random.default_rng(4)
    Y = rng.standard_normal((3000, 2)) * 5
    field = G.GridField(3, 50, 1.0, 200, 1.0)
    r1, z1 = field.repulsion(Y, 1)
    r2, z2 = field.repulsion(Y, 2)
    np.testing.assert_allclose(r2, r1, rtol=1e-10, atol=1e-12)
    assert z2 == pytest.approx(z1, rel=1e-12)
    # per-thread grids and their reduction give the one-grid spread
    origin, h, nb = field.layout(Y.min(0), Y.max(0))
    box, W = field.weights(Y, origin, h, nb, 1)
    charges = np.vstack([np.ones(3000), Y.T])
    one = np.empty((1, 3, *(nb * 3)))
    K.spread_2d(1, box, W, charges, one)
    two = np.empty((2, 3, *(nb * 3)))
    K.spread_2d(2, box, W, charges, two)
    summed = np.empty(two.shape[1:])
    K.sum_grids(2, two, summed)
    np.testing.assert_allclose(summed, one[0], rtol=1e-12, atol=1e-12)


def test_lagrange_weights_reproduce_polynomials():
    # gathering the values of a quadratic at the grid nodes gives it exactly at any point (p=3)
    rng = np.random.default_rng(5)
    Y = rng.uniform(-3, 4, size=(500, 2))
    field = G.GridField(3, 10, 1.0, 200, 1.0)
    origin, h, nb = field.layout(Y.min(0), Y.max(0))
    box, W = field.weights(Y, origin, h, nb, 1)
    m1, m2 = nb * 3
    u = origin[0] + (np.arange(m1) + 0.5) * h / 3
    v = origin[1] + (np.arange(m2) + 0.5) * h / 3

    def f(x, y):
        return 1 + 2 * x - 0.5 * y + 0.3 * x * x - 0.2 * x * y + 0.1 * y * y

    pot = f(u[:, None], v[None, :])[None]
    out = field.gather(box, W, pot, 1)[0]
    np.testing.assert_allclose(out, f(Y[:, 0], Y[:, 1]), rtol=1e-10, atol=1e-10)
    # and spreading conserves the total charge
    grid = field.spread(box, W, np.ones((1, 500)), nb, 1)
    assert grid.sum() == pytest.approx(500.0, rel=1e-12)


def test_grid_growth_is_bounded():
    rng = np.random.default_rng(6)
    Y = rng.standard_normal((3000, 2))
    Y[0] = [1e4, -1e4]  # a far outlier
    field = G.GridField(3, 50, 1.0, 200, 1.0)
    _, h, nb = field.layout(Y.min(0), Y.max(0))
    assert nb.max() <= 200 * 2 ** (1 / 8 + 1 / 16) + 2
    rep, z = field.repulsion(Y, 1)
    assert np.all(np.isfinite(rep)) and z > 0


def test_box_width_ladder_reuses_kernels():
    field = G.GridField(3, 50, 1.0, 200, 1.0)
    rng = np.random.default_rng(7)
    Y = rng.standard_normal((1000, 2)) * 20
    for s in (1.0, 1.001, 1.002):
        field.repulsion(Y * s, 1)
    assert len(field._kernels) == 1


def test_reference_field_matches_exact():
    rng = np.random.default_rng(8)
    R = rng.standard_normal((3000, 2)) * 2
    Y = rng.standard_normal((200, 2)) * 2.5
    field = G.ReferenceField(R, G.GridField(3, 50, 1.0, 200, 1.0), 1)
    rep, z = field.evaluate(Y, 1)
    rep_x, z_x = G.ExactReference(R, 1.0).evaluate(Y, 1)
    np.testing.assert_allclose(z, z_x, rtol=1e-3)
    assert np.linalg.norm(rep - rep_x) / np.linalg.norm(rep_x) < 1e-3


def test_gradient_step_matches_numpy():
    rng = np.random.default_rng(9)
    Y = rng.standard_normal((50, 2))
    g = rng.standard_normal((50, 2))
    up = rng.standard_normal((50, 2)) * 0.1
    gains = rng.uniform(0.5, 2, (50, 2))
    Y2, up2, gains2 = Y.copy(), up.copy(), gains.copy()
    K.gradient_step(1, Y2, g, up2, gains2, 0.7, 0.5, 0.01, 0.0)
    inc = g * up < 0
    gains_ref = np.where(inc, gains + 0.2, gains * 0.8).clip(0.01)
    up_ref = 0.5 * up - 0.7 * gains_ref * g
    np.testing.assert_allclose(gains2, gains_ref)
    np.testing.assert_allclose(up2, up_ref)
    np.testing.assert_allclose(Y2, Y + up_ref)


# ------------------------------------------------------------------ the fit's pairwise attraction


def _dense_attraction(P, Y, dof):
    """``(sum_j p_ij q_ij (y_i - y_j), sum_ij p_ij log w_ij)`` over the dense ``P``."""
    E = Y[:, None, :] - Y[None, :, :]
    q = 1.0 / (1.0 + (E**2).sum(-1) / dof)
    F = ((P * q)[:, :, None] * E).sum(1)
    m = P > 0
    return F, float((P[m] * dof * np.log(q[m])).sum())


def _sparse_symmetric(n, k, rng, empty=()):
    """A symmetric CSR ``P`` (about ``2 k`` entries a row, some rows empty), summing to one."""
    rows = np.repeat(np.arange(n), k)
    cols = rng.integers(0, n, n * k)
    A = scipy.sparse.csr_matrix((rng.random(n * k), (rows, cols)), shape=(n, n))
    A = (A + A.T).tolil()
    A.setdiag(0)
    for i in empty:
        A[i, :] = 0
        A[:, i] = 0
    A = scipy.sparse.csr_matrix(A)
    A.eliminate_zeros()
    A.data /= A.data.sum()
    return A


def _rounded(P):
    """``P`` with its values rounded to float32, as :class:`CompactAffinities` keeps them."""
    P = P.copy()
    P.data = P.data.astype(np.float32).astype(np.float64)
    return P


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("dof", [1.0, 0.6])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_pairwise_attraction_matches_dense(d, dof, n_jobs, monkeypatch):
    # the upper-triangle kernel (each pair once) against the dense sum over all of P; small
    # chunks so that two threads really split the pairs
    monkeypatch.setattr(G, "PAIRS_PER_CHUNK", 50)
    rng = np.random.default_rng(10)
    P = _sparse_symmetric(200, 3, rng, empty=(0, 7, 199))
    C = G.CompactAffinities(P)
    assert C.symmetric
    assert C.data.size * 2 == P.nnz
    assert np.all(C.indices[C.indptr[5] : C.indptr[6]] > 5)
    Y = rng.standard_normal((200, d)) * 3
    F, cross = G.attraction(C, Y, dof, n_jobs, want_kl=True)
    F_ref, cross_ref = _dense_attraction(_rounded(P).toarray(), Y, dof)
    np.testing.assert_allclose(F, F_ref, rtol=1e-10, atol=1e-13 * np.abs(F_ref).max())
    assert cross == pytest.approx(cross_ref, rel=1e-10)
    F2, nan = G.attraction(C, Y, dof, n_jobs)
    np.testing.assert_allclose(F2, F, rtol=1e-12, atol=1e-16)
    assert np.isnan(nan)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("n_chunks", [1, 2, 3, 5])
def test_pairwise_attraction_matches_general_kernel(n_jobs, n_chunks):
    # any static chunking (cut at equal pair counts) gives the general kernel's result on the
    # full P: to rounding with the same float32 values, to ~1e-7 against the float64 ones
    rng = np.random.default_rng(11)
    n = 3000
    P = _sparse_symmetric(n, 15, rng)
    C = G.CompactAffinities(P)
    Y = rng.standard_normal((n, 2)) * 10
    cuts = np.arange(n_chunks + 1) * (C.indptr[-1] / n_chunks)
    bounds = np.searchsorted(C.indptr, cuts).astype(np.int64)
    bounds[-1] = n
    out = np.empty_like(Y)
    log_w = np.empty(n_chunks)
    work = np.empty((n_chunks, n, 4))
    K.attraction_pairs(n_jobs, C.indptr, C.indices, C.data, Y, 1.0, bounds, work, out, log_w)
    F32, cross32 = G.attraction(_rounded(P), Y, 1.0, n_jobs, want_kl=True)
    scale = np.abs(F32).max()
    np.testing.assert_allclose(out, F32, rtol=1e-10, atol=1e-13 * scale)
    assert 2 * log_w.sum() == pytest.approx(cross32, rel=1e-11)
    F64, cross64 = G.attraction(P, Y, 1.0, n_jobs, want_kl=True)
    np.testing.assert_allclose(out, F64, rtol=1e-6, atol=1e-7 * scale)
    assert 2 * log_w.sum() == pytest.approx(cross64, rel=1e-6)


def test_pairwise_attraction_is_deterministic_and_thread_safe():
    # a given n_jobs gives the same bits every call, from several Python threads at once
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(12)
    P = _sparse_symmetric(40_000, 3, rng)
    C = G.CompactAffinities(P)
    Y = rng.standard_normal((40_000, 2))
    ref = {j: G.attraction(C, Y, 1.0, j, want_kl=True) for j in (1, 2)}
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda j: (j, G.attraction(C, Y, 1.0, j, True)), [1, 2] * 6))
    for j, (F, cross) in runs:
        np.testing.assert_array_equal(F, ref[j][0])
        assert cross == ref[j][1]
    np.testing.assert_allclose(ref[2][0], ref[1][0], rtol=1e-10, atol=1e-16)


@pytest.mark.parametrize("change", ["value", "upper only", "lower only", "diagonal"])
def test_compact_affinities_keep_a_nonsymmetric_p_whole(change):
    # one value off, or an entry without its mirror: all of P is kept (a diagonal entry is
    # symmetric and adds no force: dropped)
    rng = np.random.default_rng(13)
    P = _sparse_symmetric(300, 4, rng).tolil()
    i, j = {"value": (3, P.rows[3][0]), "upper only": (3, 299), "lower only": (299, 3)}.get(
        change, (5, 5)
    )
    assert change == "value" or P[i, j] == 0
    P[i, j] = P[i, j] + 1e-4
    P = P.tocsr()
    C = G.CompactAffinities(P)
    assert C.symmetric == (change == "diagonal")
    assert C.data.size == ((P.nnz - 1) // 2 if C.symmetric else P.nnz)
    Y = rng.standard_normal((300, 2))
    F, _ = G.attraction(C, Y, 1.0, 1)
    F_ref, _ = _dense_attraction(_rounded(P).toarray(), Y, 1.0)
    np.testing.assert_allclose(F, F_ref, rtol=1e-10, atol=1e-14)


def test_pairwise_attraction_needs_no_reference():
    rng = np.random.default_rng(15)
    C = G.CompactAffinities(_sparse_symmetric(30, 2, rng))
    Y = rng.standard_normal((30, 2))
    with pytest.raises(ValueError, match="pairwise"):
        G.attraction(C, Y, 1.0, 1, R=Y.copy())


@pytest.mark.slow
def test_pairwise_attraction_on_the_tweets_20k_affinities():
    # the real joint affinities of 20,000 tweet embeddings (127 entries a row)
    bench = pytest.importorskip("benchmarks.bench_tsne")
    if not (bench.DATA / "tweets_minilm.npy").exists():
        pytest.skip("the tweet embeddings are not available")
    from skspectral.manifold import TSNE

    X = bench._data("tweets20k")
    P = TSNE(max_iter=0, n_jobs=2, random_state=0).fit(X).affinities_
    C = G.CompactAffinities(P)
    assert C.symmetric
    rng = np.random.default_rng(14)
    Y = rng.standard_normal((P.shape[0], 2)) * 20
    for n_jobs in (1, 2):
        F, cross = G.attraction(C, Y, 1.0, n_jobs, want_kl=True)
        F_ref, cross_ref = G.attraction(P, Y, 1.0, n_jobs, want_kl=True)
        np.testing.assert_allclose(F, F_ref, rtol=1e-6, atol=1e-7 * np.abs(F_ref).max())
        assert cross == pytest.approx(cross_ref, rel=1e-6)
