import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.random_projection import johnson_lindenstrauss_min_dim

from skspectral.random_projection import SubsampledRandomizedHadamard

SRHT = SubsampledRandomizedHadamard


def _data(n=30, d=100, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(dtype)


def _dct_matrix(d):
    """Orthonormal DCT-II matrix from its cosine formula (the slow reference)."""
    n, j = np.meshgrid(np.arange(d), np.arange(d))
    C = np.sqrt(2.0 / d) * np.cos(np.pi * (2 * n + 1) * j / (2 * d))
    C[0] /= np.sqrt(2.0)
    return C


def _dense(est):
    """The ``k x d`` matrix of a fitted map, built explicitly from its drawn parts."""
    d, p, k = est.n_features_in_, est.n_padded_, est.n_components_
    if est.basis == "hadamard":
        T = scipy.linalg.hadamard(p) / np.sqrt(p)
    else:
        T = _dct_matrix(d)
    T = T[:, :d] * est.signs_  # orthonormal transform of the sign-flipped, zero-padded input
    if est.projection == "subsample":
        return np.sqrt(p / k) * T[est.selected_rows_]
    return est.projection_.toarray() @ T / np.sqrt(k)


CASES = [
    ("hadamard", "subsample"),
    ("hadamard", "sparse"),
    ("dct", "subsample"),
    ("dct", "sparse"),
]


@pytest.mark.parametrize("basis, projection", CASES)
@pytest.mark.parametrize("d, k", [(37, 16), (64, 16), (600, 16), (600, 500)])
def test_fast_transform_equals_dense_matrix(basis, projection, d, k):
    # the map is the product of its drawn parts (d = 600 pads to p = 1024; k = 500 keeps half)
    X = _data(25, d)
    est = SRHT(n_components=k, basis=basis, projection=projection, random_state=3).fit(X)
    A = _dense(est)
    np.testing.assert_allclose(est.transform(X), X @ A.T, atol=1e-10)
    # inverse_transform is the adjoint (scaled by k / p for the subsampled form)
    Y = _data(7, k, seed=1)
    c = k / est.n_padded_ if projection == "subsample" else 1.0
    np.testing.assert_allclose(est.inverse_transform(Y), c * Y @ A, atol=1e-10)


@pytest.mark.parametrize("basis, d", [("hadamard", 64), ("dct", 50)])
def test_inverse_is_pseudo_inverse_without_padding(basis, d):
    X = _data(10, d)
    est = SRHT(n_components=20, basis=basis, random_state=0).fit(X)
    A = _dense(est)
    Y = est.transform(X)
    np.testing.assert_allclose(est.inverse_transform(Y), Y @ np.linalg.pinv(A).T, atol=1e-10)
    full = SRHT(n_components=d, basis=basis, random_state=0).fit(X)
    np.testing.assert_allclose(full.inverse_transform(full.transform(X)), X, atol=1e-10)
    f32 = full.fit(X.astype(np.float32))
    back = f32.inverse_transform(f32.transform(X.astype(np.float32)))
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, X, atol=1e-5)


@pytest.mark.parametrize("basis, projection", CASES)
def test_squared_norms_unbiased_over_seeds(basis, projection):
    # E ||y||^2 = ||x||^2 for every x: the mean over independent draws is within four standard
    # errors (estimated from the same draws) of 1.
    x = _data(1, 200, seed=5)
    ratios = np.array(
        [
            np.sum(
                SRHT(n_components=32, basis=basis, projection=projection, random_state=s)
                .fit(x)
                .transform(x)
                ** 2
            )
            / np.sum(x**2)
            for s in range(300)
        ]
    )
    se = ratios.std(ddof=1) / np.sqrt(ratios.size)
    assert abs(ratios.mean() - 1.0) < 4 * se + 1e-12


def test_basis_vectors_exactly_preserved_by_subsampled_hadamard():
    # H D e_j has every entry of size 1 / sqrt(p): any k rows keep the norm exactly
    E = np.eye(128)
    Y = SRHT(n_components=10, random_state=0).fit(E).transform(E)
    np.testing.assert_allclose(np.sum(Y**2, axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("basis", ["hadamard", "dct"])
def test_pairwise_distances_within_jl_bound_over_seeds(basis):
    # JL: k >= 4 ln n / (eps^2 / 2 - eps^3 / 3) keeps all n (n - 1) / 2 squared distances
    # within 1 +- eps with probability at least 1 - 1/n (the Gaussian statement; the SRHT
    # meets it here). Count the seeds with any violation and allow 1/n plus three binomial
    # standard deviations.
    n, eps, d = 20, 0.5, 256
    k = johnson_lindenstrauss_min_dim(n, eps=eps)
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(n - 4, d)), np.eye(d)[:4] * 3.0])  # dense and spiky
    iu = np.triu_indices(n, 1)
    D = ((X[:, None] - X[None]) ** 2).sum(-1)[iu]
    seeds = 60
    failures = 0
    worst = 0.0
    for s in range(seeds):
        Y = SRHT(n_components=k, basis=basis, random_state=s).fit_transform(X)
        r = ((Y[:, None] - Y[None]) ** 2).sum(-1)[iu] / D
        worst = max(worst, np.abs(r - 1).max())
        failures += bool(np.any(np.abs(r - 1) > eps))
    q = 1 / n
    assert failures <= seeds * q + 3 * math.sqrt(seeds * q * (1 - q)), worst


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), d=st.integers(1, 70))
def test_deterministic_under_random_state(seed, d):
    X = _data(6, d, np.float32)
    a = SRHT(n_components=1, random_state=seed).fit(X).transform(X)
    b = SRHT(n_components=1, random_state=seed).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("basis, projection", CASES)
def test_n_jobs_gives_identical_results(basis, projection):
    X = _data(300, 100, np.float32)
    a = SRHT(n_components=24, basis=basis, projection=projection, random_state=0, n_jobs=1)
    b = SRHT(n_components=24, basis=basis, projection=projection, random_state=0, n_jobs=2)
    np.testing.assert_array_equal(a.fit_transform(X), b.fit_transform(X))


@pytest.mark.parametrize("basis, projection", CASES)
def test_float32_end_to_end(basis, projection):
    X = _data(40, 90, np.float32)
    est = SRHT(n_components=16, basis=basis, projection=projection, random_state=0).fit(X)
    Y = est.transform(X)
    assert Y.dtype == np.float32
    assert est.inverse_transform(Y).dtype == np.float32
    ref = X.astype(np.float64) @ _dense(est).T
    np.testing.assert_allclose(Y, ref, rtol=1e-4, atol=1e-4)
    assert est.transform(X.astype(np.float64)).dtype == np.float64


def test_sparse_density():
    X = _data(1000, 300)
    est = SRHT(n_components=50, projection="sparse", random_state=0).fit(X)
    assert est.density_ == pytest.approx(max(4.0, np.log(1000)) / 512)
    nnz = est.projection_.nnz
    mean, sd = 50 * 512 * est.density_, math.sqrt(50 * 512 * est.density_)
    assert abs(nnz - mean) < 4 * sd
    dense = SRHT(n_components=8, projection="sparse", density=1.0, random_state=0).fit(X)
    assert dense.projection_.nnz == 8 * 512


def test_output_options():
    X = _data(60, 100, np.float32)
    ref = SRHT(n_components=16, random_state=0).fit(X).transform(X)
    est = SRHT(n_components=16, random_state=0, output_dtype="int8", normalize=True).fit(X)
    codes = est.transform(X)
    assert codes.dtype == np.int8
    unit = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    np.testing.assert_allclose(codes * est.quantization_scale_, unit, atol=est.quantization_scale_)
    assert est.quantization_scale_ == pytest.approx(np.abs(unit).max() / 127, rel=1e-5)
    half = SRHT(n_components=16, random_state=0, output_dtype="float16").fit(X).transform(X)
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, ref, rtol=2e-3, atol=2e-3)


def test_limits_and_bad_input():
    X = _data(5, 100)
    assert SRHT(random_state=0).fit(X).n_components_ == 25
    SRHT(n_components=128, random_state=0).fit(X)  # up to the padded size
    with pytest.raises(ValueError, match="at most 128"):
        SRHT(n_components=129).fit(X)
    with pytest.raises(ValueError, match="at most 100"):
        SRHT(n_components=101, basis="dct").fit(X)
    SRHT(n_components=300, projection="sparse", random_state=0).fit(X)  # no limit
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SRHT().fit(bad)
    est = SRHT(n_components=8, random_state=0).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        est.transform(bad)
    with pytest.raises(ValueError, match="100 features"):
        est.transform(X[:, :99])
    with pytest.raises(ValueError, match="n_components_=8"):
        est.inverse_transform(np.zeros((1, 7)))
    with pytest.raises(ValueError, match="basis"):
        SRHT(basis="fourier").fit(X)
    with pytest.raises(ValueError, match="density"):
        SRHT(projection="sparse", density=0.0).fit(X)


def test_partial_fit_learns_the_int8_scale_only():
    X = _data(90, 64, seed=2)
    whole = SRHT(n_components=8, random_state=0, output_dtype="int8").fit(X)
    parts = SRHT(n_components=8, random_state=0, output_dtype="int8")
    for chunk in np.array_split(X, 3):
        parts.partial_fit(chunk)
    np.testing.assert_array_equal(parts.selected_rows_, whole.selected_rows_)
    assert parts.quantization_scale_ == pytest.approx(whole.quantization_scale_, rel=1e-12)
    np.testing.assert_array_equal(parts.transform(X), whole.transform(X))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "basis, projection", [("hadamard", "subsample"), ("hadamard", "sparse"), ("dct", "subsample")]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nonfinite_anywhere_in_a_row_is_rejected_at_transform(value, basis, projection, dtype):
    # the subsampled Hadamard path checks finiteness on its output: a bad value in any
    # coordinate of any row must still be caught, whatever the kept rows are
    X = _data(6, 40).astype(dtype)
    est = SRHT(n_components=3, basis=basis, projection=projection, random_state=0).fit(X)
    for i, j in [(0, 0), (5, 39), (2, 17)]:
        bad = X.copy()
        bad[i, j] = value
        with pytest.raises(ValueError, match="NaN|infinity"):
            est.transform(bad)


def test_random_parts_are_random_signs_and_uniform_rows():
    """The drawn parts themselves, over seeds: signs are +-1 and fair, the kept rows (and the
    sparse pattern) uniform, and the maps of two seeds differ. Fails if the signs or the rows
    were constants."""
    d, k = 200, 32
    X = _data(5, d)
    signs = np.array([SRHT(k, random_state=s).fit(X).signs_ for s in range(60)])
    assert set(np.unique(signs)) == {-1.0, 1.0}
    # mean of 12,000 fair signs: standard error 1 / sqrt(12000) ~ 0.009
    assert abs(signs.mean()) < 5 / math.sqrt(signs.size)
    # per coordinate too: no coordinate keeps its sign across seeds
    assert np.all(np.abs(signs.mean(axis=0)) < 1.0)
    rows = np.concatenate([SRHT(k, random_state=s).fit(X).selected_rows_ for s in range(60)])
    counts = np.bincount(rows, minlength=256)  # p = 256; each row kept with probability k / p
    expected = 60 * k / 256
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 < 256 + 6 * math.sqrt(2 * 256)  # chi-square with 255 degrees of freedom
    a = SRHT(k, random_state=1).fit(X).transform(X)
    b = SRHT(k, random_state=2).fit(X).transform(X)
    assert np.abs(a - b).max() > 0.1


@pytest.mark.parametrize("basis", ["hadamard", "dct"])
@pytest.mark.parametrize("projection", ["subsample", "sparse"])
def test_walsh_aligned_inputs_keep_their_norm(basis, projection):
    """The reason for the random signs: a Walsh function (a row of the Hadamard matrix) is a
    single spike after H, so without D a few kept rows either miss it (norm 0) or blow it up
    (norm p / k). With the signs every such input keeps its norm within the JL tolerance; this
    is checked independently of the fitted state, on the outputs alone."""
    d = p = 256
    k = 128
    W = scipy.linalg.hadamard(p)[:64].astype(float)  # 64 Walsh functions, each of norm 16
    ratios = []
    for seed in range(10):
        est = SRHT(k, basis=basis, projection=projection, random_state=seed).fit(W)
        Y = est.transform(W)
        ratios.append(np.sum(Y**2, axis=1) / np.sum(W**2, axis=1))
    ratios = np.concatenate(ratios)
    # with random signs ||y||^2 / ||x||^2 concentrates around 1 (sd about 0.09 subsampled; the
    # sparse P, with about 4 nonzeros per row, adds its own spread); without them the
    # subsampled Hadamard map gives only 0 or p / k = 2
    sparse = projection == "sparse"
    assert abs(ratios.mean() - 1) < (0.1 if sparse else 0.05)
    assert np.max(np.abs(ratios - 1)) < (1.0 if sparse else 0.5)
    assert d == p


@pytest.mark.parametrize("basis, projection", CASES)
def test_sparse_input_gives_the_dense_result(basis, projection):
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(4)
    X = rng.standard_normal((70, 50)) * (rng.random((70, 50)) < 0.1)
    est = SRHT(16, basis=basis, projection=projection, random_state=0).fit(sp.csr_matrix(X))
    ref = SRHT(16, basis=basis, projection=projection, random_state=0).fit(X)
    np.testing.assert_allclose(est.transform(sp.csr_matrix(X)), X @ _dense(ref).T, atol=1e-10)
    np.testing.assert_allclose(est.transform(sp.csr_matrix(X)), ref.transform(X), atol=1e-12)


@pytest.mark.parametrize("basis, projection", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_array_api_path_matches_numpy(basis, projection, dtype):
    xps = pytest.importorskip("array_api_strict")
    import sklearn

    X = _data(20, 40, dtype=dtype)
    ref = SRHT(16, basis=basis, projection=projection, random_state=0).fit(X)
    with sklearn.config_context(array_api_dispatch=True):
        est = SRHT(16, basis=basis, projection=projection, random_state=0).fit(xps.asarray(X))
        Y = est.transform(xps.asarray(X))
        back = est.inverse_transform(Y)
    assert type(Y).__module__.startswith("array_api_strict")
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(np.asarray(Y), X @ _dense(ref).T, rtol=tol, atol=tol)
    np.testing.assert_allclose(np.asarray(back), ref.inverse_transform(ref.transform(X)), atol=tol)


@pytest.mark.parametrize("basis, projection", CASES)
def test_overflow_is_an_error_not_inf(basis, projection):
    X = _data(6, 64) * 1e307
    est = SRHT(16, basis=basis, projection=projection, random_state=0).fit(X)
    with pytest.raises(ValueError, match="overflow"):
        est.transform(X)
    ok = SRHT(16, basis=basis, projection=projection, output_dtype="float16", random_state=0)
    with pytest.raises(ValueError, match="float16 range"):
        ok.fit(X / 1e307 * 1e6).transform(X / 1e307 * 1e6)


def test_auto_is_the_johnson_lindenstrauss_bound():
    X = _data(300, 4096)
    k = johnson_lindenstrauss_min_dim(300, eps=0.5)
    assert SRHT("auto", eps=0.5, random_state=0).fit(X).n_components_ == k
    with pytest.raises(ValueError, match="Johnson-Lindenstrauss dimension"):
        SRHT("auto", eps=0.1).fit(_data(300, 100))
    assert SRHT(random_state=0).fit(_data(10, 100)).n_components_ == 25  # the default: 1 / 4


def test_sparse_projection_pattern_is_bernoulli():
    """The geometric-gap construction of P: nonzeros independent with probability q."""
    X = _data(4, 1024)
    counts = [
        SRHT(64, projection="sparse", density=0.05, random_state=s).fit(X).projection_.nnz
        for s in range(20)
    ]
    n = 64 * 1024 * 20
    mean = 64 * 1024 * 0.05
    assert abs(np.sum(counts) - n * 0.05) < 5 * math.sqrt(n * 0.05 * 0.95)
    P = SRHT(64, projection="sparse", density=0.05, random_state=0).fit(X).projection_
    assert np.all(np.diff(P.indptr) >= 0) and P.shape == (64, 1024)
    per_row = np.diff(P.indptr)
    assert abs(per_row.mean() - mean / 64) < 5 * math.sqrt(1024 * 0.05 / 64)
    # values N(0, 1/q): variance 20
    assert abs(np.var(P.data) / 20 - 1) < 0.15
    for i in range(64):  # columns distinct and sorted within each row
        cols = P.indices[P.indptr[i] : P.indptr[i + 1]]
        assert np.all(np.diff(cols) > 0)
