import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skspectral.random_projection import FFTEmbeddingReducer


def _data(n=40, d=24, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(dtype)


def _fourier_reference(d):
    """Dense ``d x d`` matrix of the orthonormal real Fourier coordinates, built from its
    definition with cos / sin (a slow, obviously correct reference)."""
    t = np.arange(d)
    rows = [np.ones(d) / np.sqrt(d)]
    for f in range(1, (d - 1) // 2 + 1):
        rows.append(np.sqrt(2.0 / d) * np.cos(2 * np.pi * f * t / d))
        rows.append(-np.sqrt(2.0 / d) * np.sin(2 * np.pi * f * t / d))
    if d % 2 == 0:
        rows.append(np.cos(np.pi * t) / np.sqrt(d))
    return np.array(rows)


@pytest.mark.parametrize("d", [7, 16, 33])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_magnitude_equals_numpy_rfft(d, dtype):
    X = _data(d=d, dtype=dtype)
    m = d // 2 + 1
    for k in (1, m // 2 + 1, m):
        Y = FFTEmbeddingReducer(n_components=k, mode="magnitude").fit_transform(X)
        assert Y.dtype == dtype
        ref = np.abs(np.fft.rfft(X.astype(np.float64), axis=1))[:, :k]
        np.testing.assert_allclose(Y, ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


def test_magnitude_collisions_sign_and_shift():
    X = _data(5, 32)
    red = FFTEmbeddingReducer(n_components=17, mode="magnitude").fit(X)
    np.testing.assert_allclose(red.transform(-X), red.transform(X), atol=1e-12)
    np.testing.assert_allclose(red.transform(np.roll(X, 5, axis=1)), red.transform(X), atol=1e-10)
    # the linear modes tell them apart
    lin = FFTEmbeddingReducer(n_components=32, mode="fourier").fit(X)
    assert np.abs(lin.transform(-X) - lin.transform(X)).max() > 1.0
    assert not hasattr(red, "inverse_transform")
    assert hasattr(lin, "inverse_transform")


@pytest.mark.parametrize("d", [6, 7, 32])
def test_fourier_mode_matches_dense_reference(d):
    X = _data(10, d)
    F = _fourier_reference(d)
    np.testing.assert_allclose(F @ F.T, np.eye(d), atol=1e-12)  # the reference is orthogonal
    Y = FFTEmbeddingReducer(n_components=d, mode="fourier").fit_transform(X)
    np.testing.assert_allclose(Y, X @ F.T, atol=1e-12)


def test_dct_mode_matches_dense_reference():
    d = 12
    n, j = np.meshgrid(np.arange(d), np.arange(d))
    C = np.sqrt(2.0 / d) * np.cos(np.pi * (2 * n + 1) * j / (2 * d))
    C[0] /= np.sqrt(2.0)
    X = _data(9, d)
    Y = FFTEmbeddingReducer(n_components=5, mode="dct").fit_transform(X)
    np.testing.assert_allclose(Y, X @ C[:5].T, atol=1e-12)


@pytest.mark.parametrize("mode", ["fourier", "dct"])
@pytest.mark.parametrize("select", ["low", "energy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d", [15, 64])
def test_linear_round_trip(mode, select, dtype, d):
    X = _data(30, d, dtype)
    red = FFTEmbeddingReducer(n_components=d, mode=mode, select=select).fit(X)
    back = red.inverse_transform(red.transform(X))
    assert back.dtype == dtype
    np.testing.assert_allclose(back, X, atol=1e-6 if dtype == np.float64 else 2e-6)


@settings(max_examples=25, deadline=None)
@given(
    d=st.integers(1, 40),
    mode=st.sampled_from(["fourier", "dct"]),
    seed=st.integers(0, 2**16),
)
def test_round_trip_property(d, mode, seed):
    X = _data(4, d, seed=seed)
    red = FFTEmbeddingReducer(n_components=d, mode=mode).fit(X)
    np.testing.assert_allclose(red.inverse_transform(red.transform(X)), X, atol=1e-6)
    # truncation is an orthogonal projection: reconstruct, reduce again, nothing changes
    k = max(1, d // 2)
    red = FFTEmbeddingReducer(n_components=k, mode=mode).fit(X)
    Y = red.transform(X)
    np.testing.assert_allclose(red.transform(red.inverse_transform(Y)), Y, atol=1e-9)


@pytest.mark.parametrize("mode", ["magnitude", "fourier", "dct"])
def test_energy_selection_against_brute_force(mode):
    rng = np.random.default_rng(1)
    d = 20
    X = rng.normal(size=(200, d)) * np.linspace(0.1, 3.0, d)  # uneven spectrum
    full = FFTEmbeddingReducer(
        n_components=d // 2 + 1 if mode == "magnitude" else d, mode=mode
    ).fit_transform(X)
    energy = (full**2).mean(axis=0)
    red = FFTEmbeddingReducer(n_components=6, mode=mode, select="energy").fit(X)
    np.testing.assert_allclose(red.energy_, energy, rtol=1e-10)
    np.testing.assert_array_equal(red.components_, np.argsort(-energy, kind="stable")[:6])
    np.testing.assert_allclose(red.transform(X), full[:, red.components_], atol=1e-10)


def test_partial_fit_equals_fit():
    X = _data(90, 16, seed=3) * np.arange(1, 17)
    whole = FFTEmbeddingReducer(4, mode="dct", select="energy", output_dtype="int8").fit(X)
    parts = FFTEmbeddingReducer(4, mode="dct", select="energy", output_dtype="int8")
    for chunk in np.array_split(X, 3):
        parts.partial_fit(chunk)
    assert parts.n_samples_seen_ == 90
    np.testing.assert_allclose(parts.energy_, whole.energy_, rtol=1e-10)
    np.testing.assert_array_equal(parts.components_, whole.components_)
    # the int8 scale is a running maximum: the same as one fit when the selection is stable
    stable = FFTEmbeddingReducer(4, mode="dct", output_dtype="int8")
    for chunk in np.array_split(X, 3):
        stable.partial_fit(chunk)
    full = FFTEmbeddingReducer(4, mode="dct", output_dtype="int8").fit(X)
    assert stable.quantization_scale_ == pytest.approx(full.quantization_scale_, rel=1e-12)
    with pytest.raises(ValueError, match="features"):
        parts.partial_fit(X[:, :8])


def test_stateless_modes_ignore_training_values():
    X = _data(20, 16)
    a = FFTEmbeddingReducer(5, mode="fourier").fit(X)
    b = FFTEmbeddingReducer(5, mode="fourier").fit(np.zeros((1, 16)))
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_output_dtypes_and_normalization():
    X = _data(50, 32, np.float32)
    ref = FFTEmbeddingReducer(8, mode="dct").fit(X).transform(X)
    y16 = FFTEmbeddingReducer(8, mode="dct", output_dtype="float16").fit(X).transform(X)
    assert y16.dtype == np.float16
    np.testing.assert_allclose(y16, ref, rtol=2e-3, atol=2e-3)
    red8 = FFTEmbeddingReducer(8, mode="dct", output_dtype="int8").fit(X)
    y8 = red8.transform(X)
    assert y8.dtype == np.int8 and np.abs(y8).max() == 127
    np.testing.assert_allclose(y8 * red8.quantization_scale_, ref, atol=red8.quantization_scale_)
    # decoded then reconstructed: close to the float reconstruction
    np.testing.assert_allclose(
        red8.inverse_transform(y8),
        FFTEmbeddingReducer(8, mode="dct").fit(X).inverse_transform(ref),
        atol=2 * red8.quantization_scale_ * np.sqrt(8),
    )
    yn = FFTEmbeddingReducer(8, mode="dct", normalize=True).fit(X).transform(X)
    np.testing.assert_allclose(np.linalg.norm(yn, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(yn, ref / np.linalg.norm(ref, axis=1, keepdims=True), rtol=1e-5)


def test_default_fraction_and_limits():
    X = _data(5, 10)
    # the default: the linear DCT map, a fourfold reduction rounded up
    red = FFTEmbeddingReducer().fit(X)
    assert red.mode == "dct" and red.n_components_ == 3
    assert FFTEmbeddingReducer().fit(X[:, :1]).n_components_ == 1
    assert FFTEmbeddingReducer(0.5).fit(X).n_components_ == 5
    # a fraction is capped at the limit of the map; an int beyond it is an error
    assert FFTEmbeddingReducer(1.0, mode="magnitude").fit(X).n_components_ == 6
    assert FFTEmbeddingReducer(6, mode="magnitude").fit(X).n_components_ == 6
    with pytest.raises(ValueError, match="at most 6 .the distinct frequencies of a real FFT"):
        FFTEmbeddingReducer(7, mode="magnitude").fit(X)
    with pytest.raises(ValueError, match="at most 10"):
        FFTEmbeddingReducer(11, mode="dct").fit(X)
    FFTEmbeddingReducer(10, mode="fourier").fit(X)
    with pytest.raises(ValueError, match="n_components"):
        FFTEmbeddingReducer("auto").fit(X)  # no JL bound for this map: not accepted


def test_grid_search_over_fractions_scores_every_candidate():
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 12))
    y = X @ rng.standard_normal(12)
    search = GridSearchCV(
        make_pipeline(FFTEmbeddingReducer(), Ridge()),
        {"fftembeddingreducer__n_components": [0.25, 0.5, 1.0, 4, 12]},
        cv=3,
        error_score="raise",
    ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_bad_input():
    X = _data(5, 10)
    red = FFTEmbeddingReducer(3, mode="dct").fit(X)
    bad = X.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FFTEmbeddingReducer(3).fit(bad)
    with pytest.raises(ValueError, match="NaN"):
        red.transform(bad)
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        red.transform(bad)
    with pytest.raises(ValueError, match="10 features"):
        red.transform(X[:, :9])
    with pytest.raises(ValueError, match="n_components_=3"):
        red.inverse_transform(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="mode"):
        FFTEmbeddingReducer(mode="phase").fit(X)
    with pytest.raises(ValueError, match="0 sample"):
        FFTEmbeddingReducer().fit(np.zeros((0, 4)))


def test_pandas_output_and_feature_names():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_data(6, 8), columns=[f"f{i}" for i in range(8)])
    red = FFTEmbeddingReducer(3).set_output(transform="pandas").fit(X)
    out = red.transform(X)
    assert list(out.columns) == [
        "fftembeddingreducer0",
        "fftembeddingreducer1",
        "fftembeddingreducer2",
    ]
    assert list(red.feature_names_in_) == list(X.columns)


def test_n_jobs_does_not_change_results():
    X = _data(64, 48, np.float32)
    a = FFTEmbeddingReducer(12, mode="fourier", n_jobs=1).fit(X).transform(X)
    b = FFTEmbeddingReducer(12, mode="fourier", n_jobs=2).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["magnitude", "fourier", "dct"])
@pytest.mark.parametrize("select", ["low", "energy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_array_api_path_matches_numpy(mode, select, dtype):
    xps = pytest.importorskip("array_api_strict")
    import sklearn

    X = _data(12, 15, dtype=dtype)
    ref = FFTEmbeddingReducer(6, mode=mode, select=select).fit(X)
    with sklearn.config_context(array_api_dispatch=True):
        est = FFTEmbeddingReducer(6, mode=mode, select=select).fit(xps.asarray(X))
        Y = est.transform(xps.asarray(X))
        back = est.inverse_transform(Y) if mode != "magnitude" else None
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_array_equal(np.asarray(est.components_), ref.components_)
    np.testing.assert_allclose(np.asarray(Y), ref.transform(X), rtol=tol, atol=tol)
    if back is not None:
        np.testing.assert_allclose(
            np.asarray(back), ref.inverse_transform(ref.transform(X)), rtol=tol, atol=tol
        )


@pytest.mark.parametrize("mode", ["magnitude", "fourier", "dct"])
def test_sparse_input_and_overflow(mode):
    import scipy.sparse

    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 16)) * (rng.random((30, 16)) < 0.3)
    est = FFTEmbeddingReducer(5, mode=mode, select="energy").fit(scipy.sparse.csr_matrix(X))
    ref = FFTEmbeddingReducer(5, mode=mode, select="energy").fit(X)
    np.testing.assert_array_equal(est.components_, ref.components_)
    np.testing.assert_allclose(est.transform(scipy.sparse.csr_matrix(X)), ref.transform(X))
    with pytest.raises(ValueError, match="overflow"):
        ref.transform(np.full((2, 16), 1e308))


@pytest.mark.parametrize("d", [1, 2, 3, 7, 16, 97, 384])
@pytest.mark.parametrize("mode", ["magnitude", "dct"])
def test_nonfinite_anywhere_is_caught_on_the_output(d, mode):
    # these modes check finiteness on the (smaller) output: a NaN or inf in any position of a
    # row must reach every kept coefficient of that row
    for value in (np.nan, np.inf, -np.inf):
        X = np.ones((d, d))
        X[np.arange(d), np.arange(d)] = value
        for dtype in (np.float32, np.float64):
            red = FFTEmbeddingReducer(1, mode=mode).fit(np.ones((2, d), dtype=dtype))
            for i in range(d):
                with pytest.raises(ValueError, match="NaN or infinity"):
                    red.transform(X[i : i + 1].astype(dtype))
