"""The near/far split of the FFT repulsion: the near field against direct sums, the split
against the exact O(N^2) repulsion, and the grid that stops growing as the embedding expands."""

import numpy as np
import pytest

from skspectral.manifold import _gradient as G
from skspectral.manifold import _kernels as K


def _kernel(s, dof):
    return (1.0 + s / dof) ** -(dof + 1.0)


def _direct_near(Q, R, cutoff, dof):
    """``sum_j k_near(|q - r_j|) (q - r_j)`` and ``sum_j k_near (1 + r^2/dof)`` by brute force,
    with ``k_near = k - (k's cubic Taylor polynomial in s = r^2 at the cutoff)`` inside it."""
    D = Q[:, None, :] - R[None, :, :]
    s = (D**2).sum(-1)
    c2 = cutoff**2
    v = s - c2
    taylor = np.zeros_like(s)
    # the Taylor coefficients of (1 + s/a)^-(a+1) at c2, written out independently
    a = dof
    u = 1.0 + c2 / a
    for j in range(4):
        coef = u ** -(a + 1 + j) / a**j
        for m in range(j):
            coef *= -(a + 1 + m) / (m + 1)
        taylor += coef * v**j
    kn = np.where(s < c2, _kernel(s, dof) - taylor, 0.0)
    return (kn[:, :, None] * D).sum(1), (kn * (1 + s / dof)).sum(1)


def _clusters(n, width, rng, n_clusters=30):
    centres = rng.uniform(-width / 2, width / 2, size=(n_clusters, 2))
    return centres[rng.integers(n_clusters, size=n)] + rng.standard_normal((n, 2)) * 2.0


@pytest.mark.parametrize("dof", [1.0, 0.6])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_near_field_equals_direct_sums(dof, n_jobs):
    rng = np.random.default_rng(0)
    R = _clusters(1500, 60.0, rng)
    lo, hi = K.bounds(R)
    cutoff = 4.0
    cells = G.CellList.build(R, lo, hi, cutoff, max_pairs=10**9)
    # the points themselves (in sorted order, results scattered back), and queries anywhere,
    # some outside the points' bounds
    rep = np.zeros_like(R)
    z = np.zeros(len(R))
    cells.add_near_field(cells.xs, cells.ys, cells.order, dof, n_jobs, rep, z)
    rep_d, z_d = _direct_near(R, R, cutoff, dof)
    np.testing.assert_allclose(rep, rep_d, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(z, z_d, rtol=1e-9, atol=1e-12)
    Q = rng.uniform(lo - 5, hi + 5, size=(300, 2))
    rep = np.zeros_like(Q)
    z = np.zeros(len(Q))
    cells.add_near_field(Q[:, 0].copy(), Q[:, 1].copy(), np.empty(0, np.int64), dof, n_jobs, rep, z)
    rep_d, z_d = _direct_near(Q, R, cutoff, dof)
    np.testing.assert_allclose(rep, rep_d, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(z, z_d, rtol=1e-9, atol=1e-12)
    # the near field is not empty: it is most of each clustered point's repulsion
    assert np.abs(rep_d).sum() > 0


@pytest.mark.parametrize("dof", [1.0, 0.6])
def test_far_kernel_continues_the_kernel_smoothly(dof):
    c = 3.0
    far = G.repulsion_kernel(dof, 1, c * c)
    k = G.repulsion_kernel(dof, 1)
    x = np.linspace(c, 3 * c, 50)
    np.testing.assert_allclose(far(x), k(x), rtol=1e-14)
    # value and first three derivatives continuous at the cutoff (one-sided differences)
    e = 1e-2
    left = far(c - np.arange(4) * e)
    right = k(c + np.arange(4) * e)
    for order in range(3):
        dl = np.diff(left[::-1], order)[-1] if order else left[0]
        dr = np.diff(right, order)[0] if order else right[0]
        assert dl == pytest.approx(dr, rel=0.05, abs=1e-12 * order)
    # and it is bounded and smooth inside: far below the kernel's peak
    inside = far(np.linspace(0, c, 50))
    assert np.all(np.isfinite(inside)) and inside.max() < 0.5 * k(np.zeros(1))[0]


def _split_field(dof=1.0, **kw):
    return G.GridField(3, 50, 1.0, kw.pop("max_intervals", 200), dof)


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.mark.parametrize("dof", [1.0, 0.6])
def test_split_repulsion_matches_exact(dof):
    # a wide, clustered embedding (as t-SNE's late in the optimization): the cost model widens
    # the boxes and sums the near field directly; the result beats the unsplit default grid
    rng = np.random.default_rng(1)
    Y = _clusters(4000, 150.0, rng)
    field = _split_field(dof)
    lo, hi = K.bounds(Y)
    h, cells = field.plan(Y, lo, hi)
    assert cells is not None and h > 1.0
    rep_x, z_x = G.exact_repulsion(Y, dof, 1)
    rep, z = field.repulsion(Y, 2)
    assert _rel(rep, rep_x) < 1e-2
    assert z == pytest.approx(z_x, rel=1e-3)
    # more accurate than the unsplit grid of boxes of width 1
    plain = _split_field(dof)
    plain.NEAR_BUDGET = 0
    assert plain.plan(Y, lo, hi)[1] is None
    rep_plain, _ = plain.repulsion(Y, 1)
    assert _rel(rep, rep_x) < _rel(rep_plain, rep_x) / 2.5


def test_forced_widening_uses_the_near_field():
    # max_num_intervals forces boxes of width ~4: with the near field the force stays accurate
    rng = np.random.default_rng(2)
    Y = _clusters(3000, 150.0, rng)
    rep_x, _ = G.exact_repulsion(Y, 1.0, 1)
    field = _split_field(max_intervals=40)
    rep, _ = field.repulsion(Y, 1)
    field_plain = _split_field(max_intervals=40)
    field_plain.NEAR_BUDGET = 0  # no near field: the widened boxes alone
    rep_plain, _ = field_plain.repulsion(Y, 1)
    assert _rel(rep, rep_x) < 1e-2
    assert _rel(rep_plain, rep_x) > 5 * _rel(rep, rep_x)


def test_grid_stops_growing_as_the_embedding_expands():
    # the same clustered picture scaled up: without the split the grid's nodes grow with the
    # square of the width; with it they stay within a small factor, at unchanged accuracy
    rng = np.random.default_rng(3)
    Y0 = _clusters(5000, 80.0, rng, n_clusters=40)
    nodes = []
    for scale in (1.0, 2.0, 4.0):
        Y = Y0 * scale
        field = _split_field()
        lo, hi = K.bounds(Y)
        h, cells = field.plan(Y, lo, hi)
        _, h, nb = field.layout(lo, hi, h)
        nodes.append(int(np.prod(nb * field.p)))
        if scale > 1:
            assert cells is not None
            rep_x, _ = G.exact_repulsion(Y, 1.0, 2)
            assert _rel(field.repulsion(Y, 2)[0], rep_x) < 1e-2
    assert nodes[2] < 2.5 * nodes[0]


def test_near_field_is_dropped_when_too_dense():
    # an outlier forces wide boxes over a dense blob: visiting every pair of the blob would be
    # O(n^2), so the near field is left out and the grid alone answers
    rng = np.random.default_rng(4)
    Y = rng.standard_normal((3000, 2))
    Y[0] = [1e4, -1e4]
    field = _split_field()
    lo, hi = K.bounds(Y)
    h, cells = field.plan(Y, lo, hi)
    assert cells is None and h > 10
    rep, z = field.repulsion(Y, 1)
    assert np.all(np.isfinite(rep)) and z > 0


def test_cell_pairs_counts_the_visited_pairs():
    rng = np.random.default_rng(5)
    R = _clusters(800, 40.0, rng)
    lo, hi = K.bounds(R)
    cells = G.CellList.build(R, lo, hi, 3.0, max_pairs=10**9)
    cx = np.minimum(((cells.xs - lo[0]) / cells.width).astype(int), cells.ncx - 1)
    cy = np.minimum(((cells.ys - lo[1]) / cells.width).astype(int), cells.ncy - 1)
    r = G.CellList.REACH
    visited = (np.abs(cx[:, None] - cx[None, :]) <= r) & (np.abs(cy[:, None] - cy[None, :]) <= r)
    assert K.cell_pairs(cells.start, cells.ncx, cells.ncy, r) == visited.sum()


def test_reference_field_with_near_field_matches_exact():
    rng = np.random.default_rng(6)
    R = _clusters(4000, 150.0, rng)
    ref = G.ReferenceField(R, _split_field(), 2)
    assert ref.cells is not None
    Y = R[rng.choice(4000, 300, replace=False)] + rng.standard_normal((300, 2))
    rep, z = ref.evaluate(Y, 2)
    rep_x, z_x = G.ExactReference(R, 1.0).evaluate(Y, 1)
    assert _rel(rep, rep_x) < 1e-2
    assert np.median(np.abs(z / z_x - 1)) < 2e-3
    np.testing.assert_allclose(z, z_x, rtol=3e-2)


def test_one_dimensional_embeddings_have_no_near_field():
    rng = np.random.default_rng(7)
    Y = rng.standard_normal((2000, 1)) * 200
    field = _split_field()
    lo, hi = K.bounds(Y)
    assert field.plan(Y, lo, hi)[1] is None


@pytest.mark.parametrize("share", [0.0, 0.37, 1.0])
def test_overlapped_forces_equal_the_sequential_ones(share):
    # attraction and repulsion side by side on two threads, the near field shared out between
    # them at any share: bit for bit the forces of the sequential one-thread path, and the
    # exact repulsion within the split's accuracy
    import scipy.sparse

    rng = np.random.default_rng(7)
    n = 3000
    Y = _clusters(n, 150.0, rng)
    A = scipy.sparse.random(n, n, density=0.005, random_state=1, format="csr")
    P = G.CompactAffinities(scipy.sparse.csr_matrix((A + A.T) / (A + A.T).sum()))
    field = _split_field()
    assert field.prepare(Y)[1] is not None  # the near field is on
    attr_s, cross_s = G.attraction(P, Y, 1.0, 1, want_kl=True)
    rep_s, z_s = field.repulsion(Y, 1)
    overlap = G.Overlap(2)
    try:
        overlap.share = share
        attr, cross, rep, z = overlap.forces(P, Y, field, True)
        assert 0.0 <= overlap.share <= 1.0
        for _ in range(3):  # and again at the shares its timings pick
            attr2, _, rep2, z2 = overlap.forces(P, Y, field, False)
            np.testing.assert_array_equal(rep2, rep_s)
    finally:
        overlap.close()
    np.testing.assert_array_equal(attr, attr_s)
    np.testing.assert_array_equal(rep, rep_s)
    assert cross == cross_s and z == z_s
    np.testing.assert_array_equal(attr2, G.attraction(P, Y, 1.0, 1)[0])
    rep_x, z_x = G.exact_repulsion(Y, 1.0, 1)
    assert _rel(rep, rep_x) < 1e-2 and z == pytest.approx(z_x, rel=1e-3)
