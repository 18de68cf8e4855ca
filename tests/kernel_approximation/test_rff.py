"""RandomFourierFeatures against exact kernels, RBFSampler, and plain NumPy references."""

import math

import numpy as np
import pytest
import scipy.sparse
from sklearn.gaussian_process.kernels import Matern, RationalQuadratic
from sklearn.kernel_approximation import RBFSampler
from sklearn.metrics.pairwise import laplacian_kernel, rbf_kernel

from skspectral.kernel_approximation import RandomFourierFeatures

RNG = np.random.default_rng(12345)
X16 = RNG.normal(size=(60, 16)) * 0.5


def exact_kernel(kernel, X, Y=None):
    if kernel == "rbf":
        return rbf_kernel(X, Y, gamma=0.1)
    if kernel == "laplacian":
        return laplacian_kernel(X, Y, gamma=0.1)
    if kernel == "matern":
        return Matern(length_scale=2.0, nu=1.5)(X, Y)
    return RationalQuadratic(length_scale=2.0, alpha=1.0)(X, Y)


PARAMS = {"gamma": 0.1, "length_scale": 2.0, "nu": 1.5, "alpha": 1.0}
COMBOS = [
    (k, s)
    for k in ("rbf", "laplacian", "matern", "cauchy")
    for s in ("iid", "orthogonal", "structured", "qmc")
    if not (k == "laplacian" and s in ("orthogonal", "structured"))
]


def _errors(kernel, sampling, features, D, seeds):
    K = exact_kernel(kernel, X16)
    iu = np.triu_indices(len(X16), 1)
    errs, ses = [], []
    for seed in seeds:
        rff = RandomFourierFeatures(
            n_components=D,
            kernel=kernel,
            sampling=sampling,
            features=features,
            random_state=seed,
            **PARAMS,
        )
        Z = rff.fit_transform(X16)
        errs.append(np.abs(Z @ Z.T - K)[iu].mean())
        # standard error of each pair's estimate, as if its terms were independent
        if features == "cos":
            terms = D * Z[iu[0]] * Z[iu[1]]
        else:
            m = D // 2
            terms = (D / 2) * (Z[iu[0], :m] * Z[iu[1], :m] + Z[iu[0], m:] * Z[iu[1], m:])
        ses.append((terms.std(axis=1) / math.sqrt(terms.shape[1])).mean())
    return np.mean(errs), np.mean(ses)


@pytest.mark.parametrize("kernel,sampling", COMBOS)
@pytest.mark.parametrize("features", ["cos", "cossin"])
def test_kernel_estimate_within_its_standard_error_and_shrinks(kernel, sampling, features):
    seeds = range(4)
    e_small, se_small = _errors(kernel, sampling, features, 256, seeds)
    e_big, se_big = _errors(kernel, sampling, features, 4096, seeds)
    # mean |N(0, s^2)| = s sqrt(2 / pi); orthogonal/qmc/structured have no more variance than
    # i.i.d. terms (structured: plus its O(1/sqrt(d)) bias, inside the margin at d = 16)
    for e, se in ((e_small, se_small), (e_big, se_big)):
        assert e <= 1.3 * math.sqrt(2 / math.pi) * se, (e, se)
    # error shrinks like 1/sqrt(D) (16x more features: about 4x; qmc may do better)
    ratio = e_small / e_big
    assert ratio > 2.5, ratio
    if sampling == "iid":
        assert ratio < 6.0
        # and it is not far below the i.i.d. standard error (the features are random)
        assert e_small >= 0.6 * math.sqrt(2 / math.pi) * se_small


@pytest.mark.parametrize("gamma", [0.3, "scale"])
def test_equals_rbfsampler(gamma):
    X = RNG.normal(size=(300, 20))
    ref = RBFSampler(gamma=gamma, n_components=257, random_state=7).fit(X)
    ours = RandomFourierFeatures(gamma=gamma, n_components=257, random_state=7).fit(X)
    np.testing.assert_allclose(ours.random_weights_, ref.random_weights_, rtol=0, atol=0)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=0, atol=1e-10)
    Xs = scipy.sparse.random(50, 20, density=0.2, format="csr", random_state=0)
    np.testing.assert_allclose(ours.transform(Xs), ref.transform(Xs), rtol=0, atol=1e-10)
    # float32 in, float32 out; RBFSampler keeps float32 only when fitted on float32
    X32 = X.astype(np.float32)
    ref32 = RBFSampler(gamma=gamma, n_components=257, random_state=7).fit(X32)
    out32 = ours.transform(X32)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, ref32.transform(X32), atol=2e-5)


def test_sparse_input_like_dense():
    Xs = scipy.sparse.random(40, 30, density=0.3, format="csr", random_state=1)
    for sampling in ("iid", "structured"):
        for features in ("cos", "cossin"):
            rff = RandomFourierFeatures(
                n_components=64, sampling=sampling, features=features, random_state=0
            ).fit(Xs)
            np.testing.assert_allclose(rff.transform(Xs), rff.transform(Xs.toarray()), atol=1e-12)


def test_chunked_transform_matches_numpy_reference():
    X = RNG.normal(size=(1100, 12))
    for features in ("cos", "cossin"):
        rff = RandomFourierFeatures(
            n_components=512, features=features, gamma=0.2, random_state=3
        ).fit(X)
        W = rff.random_weights_
        T = X @ W
        if features == "cos":
            ref = math.sqrt(2 / 512) * np.cos(T + rff.random_offset_)
        else:
            ref = math.sqrt(2 / 512) * np.hstack([np.cos(T), np.sin(T)])
        np.testing.assert_allclose(rff.transform(X), ref, atol=1e-13)
        np.testing.assert_array_equal(
            rff.set_params(n_jobs=2).transform(X), rff.set_params(n_jobs=1).transform(X)
        )


def test_structured_projection_matches_dense_hadamard_product():
    from scipy.linalg import hadamard

    X = RNG.normal(size=(7, 12))
    rff = RandomFourierFeatures(n_components=40, sampling="structured", random_state=0).fit(X)
    p = rff.n_padded_
    assert p == 16
    H = hadamard(p) / math.sqrt(p)
    Xp = np.hstack([X, np.zeros((7, p - 12))])
    cols = []
    for blk in range(rff.signs_.shape[1]):
        D1, D2, D3 = (np.diag(rff.signs_[i, blk]) for i in range(3))
        cols.append(Xp @ (H @ D1 @ H @ D2 @ H @ D3).T)
    ref = np.hstack(cols)[:, :40] * (rff.radial_ * p**1.5)
    np.testing.assert_allclose(rff.projection(X), ref, atol=1e-12)


@pytest.mark.parametrize("sampling", ["orthogonal", "structured"])
def test_blocks_are_orthogonal(sampling):
    d = 16
    X = RNG.normal(size=(5, d))
    rff = RandomFourierFeatures(n_components=3 * d, sampling=sampling, random_state=2).fit(X)
    W = rff.projection(np.eye(d))  # d x m frequency matrix
    for blk in range(3):
        B = W[:, blk * d : (blk + 1) * d]
        G = B.T @ B
        np.testing.assert_allclose(G - np.diag(np.diag(G)), 0, atol=1e-10)


@pytest.mark.parametrize("sampling", ["iid", "orthogonal", "structured", "qmc"])
def test_frequency_norms_follow_the_gaussian_law(sampling):
    # E ||w||^2 = 2 gamma d for the rbf kernel; Var = (2 gamma)^2 2 d per frequency
    d, m, gamma = 16, 4096, 0.25
    X = RNG.normal(size=(5, d))
    rff = RandomFourierFeatures(n_components=m, sampling=sampling, gamma=gamma, random_state=0).fit(
        X
    )
    W = rff.projection(np.eye(d))
    sq = (W**2).sum(axis=0)
    se = (2 * gamma) * math.sqrt(2 * d) / math.sqrt(m)
    assert abs(sq.mean() - 2 * gamma * d) < 4 * se


def test_reproducible_bit_for_bit_and_seed_dependent():
    X = RNG.normal(size=(30, 9))
    for sampling in ("iid", "orthogonal", "structured", "qmc"):
        a = RandomFourierFeatures(n_components=50, sampling=sampling, random_state=5)
        b = RandomFourierFeatures(n_components=50, sampling=sampling, random_state=5)
        c = RandomFourierFeatures(n_components=50, sampling=sampling, random_state=6)
        np.testing.assert_array_equal(a.fit_transform(X), b.fit_transform(X))
        assert not np.allclose(a.transform(X), c.fit_transform(X))


def test_dtype_decided_at_transform():
    X = RNG.normal(size=(30, 9))
    for sampling in ("iid", "structured"):
        rff = RandomFourierFeatures(n_components=64, sampling=sampling, random_state=0).fit(X)
        o64 = rff.transform(X)
        o32 = rff.transform(X.astype(np.float32))
        assert o64.dtype == np.float64 and o32.dtype == np.float32
        np.testing.assert_allclose(o32, o64, atol=2e-5)
        rff.fit(X.astype(np.float32))
        assert rff.transform(X).dtype == np.float64


def test_cosine_kernel_accuracy_against_numpy():
    from skspectral.kernel_approximation import _kernels

    t = np.concatenate(
        [np.linspace(-50, 50, 10001), RNG.normal(size=2000) * 1e4, [2.0**19 + 0.3, -1e7, 1e15]]
    )
    for dtype, atol in ((np.float64, 4e-16), (np.float32, 2e-6)):
        T = t.astype(dtype).reshape(1, -1)
        b = np.zeros(T.shape[1], dtype=dtype)
        out = np.empty_like(T)
        assert _kernels.cos_rows(1, T, b, dtype(1.0), out) == 0
        np.testing.assert_allclose(out[0], np.cos(T[0].astype(np.float64)), rtol=0, atol=atol)
        # the rows of moderate arguments stay on the in-register path; check sin too
        S = np.empty((1, 2 * T.shape[1]), dtype=dtype)
        _kernels.cossin_rows(1, T, dtype(1.0), S)
        np.testing.assert_allclose(S[0, T.shape[1] :], np.sin(T[0].astype(np.float64)), atol=atol)


def test_float64_cosine_one_polynomial_per_lane_equals_the_two_series():
    # cos alone selects the sine or cosine series per lane; cos/sin pairs evaluate both: the
    # cosines must agree bit for bit
    from skspectral.kernel_approximation import _kernels

    t = np.concatenate([np.linspace(-60, 60, 20001), RNG.uniform(-4e5, 4e5, size=20000)])
    T = t.reshape(1, -1)
    out = np.empty_like(T)
    assert _kernels.cos_rows(1, T, np.zeros_like(t), 1.0, out) == 0
    S = np.empty((1, 2 * t.size))
    _kernels.cossin_rows(1, T, 1.0, S)
    np.testing.assert_array_equal(out[0], S[0, : t.size])


def test_float32_cosine_in_registers_over_the_moderate_range():
    # no large argument in the row: every value takes the float32 polynomial path
    from skspectral.kernel_approximation import _kernels

    t = np.concatenate([np.linspace(-60, 60, 20001), RNG.uniform(-8000, 8000, size=20000)])
    T = t.astype(np.float32).reshape(1, -1)
    b = RNG.uniform(0, 2 * np.pi, size=T.shape[1]).astype(np.float32)
    exact = np.cos(T[0].astype(np.float64) + b.astype(np.float64))
    for inplace in (False, True):
        out = T.copy() if inplace else np.empty_like(T)
        if inplace:
            assert _kernels.cos_rows_inplace(1, out, b, np.float32(0.5)) == 0
        else:
            assert _kernels.cos_rows(1, T, b, np.float32(0.5), out) == 0
        # the argument itself is rounded to float32 (half an ulp of 8000 is 2.4e-4); compare
        # with the cosine of the float32 sum
        a = (T[0] + b).astype(np.float64)
        np.testing.assert_allclose(out[0], 0.5 * np.cos(a), rtol=0, atol=3e-7)
        assert np.abs(out[0] - 0.5 * exact).max() < 3e-4


def test_bad_input():
    X = RNG.normal(size=(10, 4))
    rff = RandomFourierFeatures(n_components=8, random_state=0).fit(X)
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[2, 1] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            rff.transform(Xb)
        with pytest.raises(ValueError, match="NaN|infinity"):
            RandomFourierFeatures().fit(Xb)
    with pytest.raises(ValueError, match="4 features"):
        rff.transform(X[:, :3])
    with pytest.raises(ValueError, match="even"):
        RandomFourierFeatures(n_components=7, features="cossin").fit(X)
    for sampling in ("orthogonal", "structured"):
        with pytest.raises(ValueError, match="radial"):
            RandomFourierFeatures(kernel="laplacian", sampling=sampling).fit(X)
    with pytest.raises(ValueError, match="kernel"):
        RandomFourierFeatures(kernel="poly").fit(X)
    with pytest.raises(ValueError, match="n_jobs"):
        RandomFourierFeatures(n_jobs=0).fit(X)
    with pytest.raises(ValueError, match="overflow"):
        rff.transform(np.full((2, 4), 1e308))
    # the caller's array is not written to
    Xc = X.copy()
    Xc.setflags(write=False)
    rff.transform(Xc)
    np.testing.assert_array_equal(Xc, X)


def test_matern_infinite_nu_is_rbf():
    X = RNG.normal(size=(40, 5))
    a = RandomFourierFeatures(
        n_components=256, kernel="matern", nu=np.inf, length_scale=2.0, random_state=0
    ).fit(X)
    b = RandomFourierFeatures(n_components=256, gamma=0.125, random_state=0).fit(X)
    np.testing.assert_allclose(a.transform(X), b.transform(X), atol=1e-12)


def test_array_api_strict_matches_numpy():
    xpx = pytest.importorskip("array_api_strict")
    import sklearn

    X = RNG.normal(size=(40, 8))
    for sampling, features in (("iid", "cos"), ("orthogonal", "cossin"), ("structured", "cos")):
        rff = RandomFourierFeatures(
            n_components=32, sampling=sampling, features=features, random_state=0
        ).fit(X)
        ref = rff.transform(X)
        with sklearn.config_context(array_api_dispatch=True):
            out = rff.transform(xpx.asarray(X))
            out32 = rff.transform(xpx.asarray(X.astype(np.float32)))
        assert type(out).__module__.startswith("array_api_strict")
        np.testing.assert_allclose(np.asarray(out), ref, atol=1e-12)
        assert out32.dtype == xpx.float32
        np.testing.assert_allclose(np.asarray(out32), ref, atol=2e-5)


def test_qmc_radial_angular_design_and_antithetic_phases():
    from scipy.stats import chi, kstest

    d, D, gamma = 8, 64, 0.3
    X = RNG.normal(size=(5, d))
    cos = RandomFourierFeatures(n_components=D, sampling="qmc", gamma=gamma, random_state=3)
    W, b = cos.fit(X).random_weights_, cos.random_offset_
    # pairs on one frequency, phases a quarter turn apart
    np.testing.assert_array_equal(W[:, 0::2], W[:, 1::2])
    np.testing.assert_allclose(b[1::2] - b[0::2], np.pi / 2, atol=1e-12)
    # the pair is the cos/sin pair: their feature products add to cos(w . (x - y)) exactly
    Z = cos.transform(X)
    w = W[:, 0::2]
    ref = (2.0 / D) * np.cos((X[:, None, :] - X[None, :, :]) @ w).sum(axis=2)
    np.testing.assert_allclose(Z @ Z.T, ref, atol=1e-10)
    # directions orthogonal in blocks of d; norms stratified: one in each 1/m quantile stratum
    cs = RandomFourierFeatures(
        n_components=2 * 4 * d, sampling="qmc", features="cossin", gamma=gamma, random_state=4
    ).fit(X)
    W = cs.random_weights_
    for blk in range(4):
        G = W[:, blk * d : (blk + 1) * d].T @ W[:, blk * d : (blk + 1) * d]
        np.testing.assert_allclose(G - np.diag(np.diag(G)), 0, atol=1e-10)
    r = np.linalg.norm(W, axis=0) / math.sqrt(2 * gamma)
    m = r.size
    strata = np.floor(chi.cdf(r, d) * m).astype(int)
    np.testing.assert_array_equal(np.sort(strata), np.arange(m))
    # and the norms are not constant across seeds (the design is randomized)
    W2 = (
        RandomFourierFeatures(
            n_components=2 * 4 * d, sampling="qmc", features="cossin", gamma=gamma, random_state=5
        )
        .fit(X)
        .random_weights_
    )
    assert not np.allclose(np.sort(np.linalg.norm(W2, axis=0)), np.sort(r * math.sqrt(2 * gamma)))
    assert kstest(np.linalg.norm(W2, axis=0) / math.sqrt(2 * gamma), chi(d).cdf).pvalue > 1e-3


def test_simplex_directions_have_the_simplex_inner_products():
    from skspectral.kernel_approximation import _samplers

    d, m = 12, 30
    W = _samplers.simplex("rbf", {"gamma": 0.5}, d, m, np.random.RandomState(0))
    U = W / np.linalg.norm(W, axis=0)
    for start in range(0, m, d):
        B = U[:, start : start + d]
        G = B.T @ B
        off = G[~np.eye(G.shape[0], dtype=bool)]
        np.testing.assert_allclose(off, -1.0 / (d - 1), atol=1e-12)
    # randomly rotated: another seed gives other directions
    W2 = _samplers.simplex("rbf", {"gamma": 0.5}, d, m, np.random.RandomState(1))
    assert not np.allclose(np.abs(W2[:, 0]) / np.linalg.norm(W2[:, 0]), np.abs(U[:, 0]))
