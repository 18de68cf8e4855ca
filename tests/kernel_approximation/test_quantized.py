"""QuantizedRandomFourierFeatures: quantizers against plain NumPy loops, kernel error, codes."""

import math
import warnings

import numpy as np
import pytest
from sklearn.metrics.pairwise import rbf_kernel

from skspectral.kernel_approximation import QuantizedRandomFourierFeatures
from skspectral.kernel_approximation._quantized import QuantizationStabilityWarning

RNG = np.random.default_rng(7)


def nearest(w, K, delta):
    i = np.clip(np.floor(w / delta) + K, 0, 2 * K - 1)
    return (i - K + 0.5) * delta


def reference_quantize(Y, scheme, K, delta, beta, lam):
    """Plain loops: each row, each block from a zero state."""
    Q = np.empty_like(Y)
    for r in range(Y.shape[0]):
        for start in range(0, Y.shape[1], lam):
            u1 = u2 = 0.0
            for j in range(start, start + lam):
                y = Y[r, j]
                if scheme == "msq":
                    q = nearest(y, K, delta)
                elif scheme == "sd1":
                    q = nearest(u1 + y, K, delta)
                    u1 = u1 + y - q
                elif scheme == "sd2":
                    w = 2 * u1 - u2 + y
                    q = nearest(w, K, delta)
                    u1, u2 = w - q, u1
                elif scheme == "sd2_1bit":
                    q = (1.0 if u1 + 0.5 * (y - u2) >= 0 else -1.0) * delta / 2
                    u1, u2 = 2 * u1 - u2 + y - q, u1
                else:  # noise shaping
                    w = beta * u1 + y
                    q = nearest(w, K, delta)
                    u1 = w - q
                Q[r, j] = q
    return Q


CASES = [
    ("msq", dict(quantizer="msq", n_bits=2)),
    ("sd1", dict(quantizer="sigma_delta", order=1, n_bits=1, block_size=8)),
    ("sd1", dict(quantizer="sigma_delta", order=1, n_bits=3, block_size=8)),
    ("sd2", dict(quantizer="sigma_delta", order=2, n_bits=2, block_size=9)),
    ("sd2_1bit", dict(quantizer="sigma_delta", order=2, n_bits=1, block_size=9)),
    ("ns", dict(quantizer="noise_shaping", beta=1.3, n_bits=1, block_size=8)),
    ("ns", dict(quantizer="noise_shaping", beta=1.8, n_bits=2, block_size=8)),
]


@pytest.mark.parametrize("scheme,params", CASES)
def test_quantizer_matches_numpy_loop(scheme, params):
    # 37 rows: two full groups of rows quantized side by side in SIMD lanes, and a partial one
    n = 37
    X = RNG.normal(size=(n, 5))
    m = 72
    q = QuantizedRandomFourierFeatures(n_components=m, gamma=0.3, random_state=0, **params).fit(X)
    Y = np.cos(X @ q.random_weights_ + q.random_offset_)
    ref = reference_quantize(Y, scheme, q._K, q.step_, q.beta, q.block_size_)
    v = q.condensation_
    lam = q.block_size_
    Zref = (ref.reshape(n, m // lam, lam) @ v) * math.sqrt(2 / (m // lam)) / np.linalg.norm(v)
    np.testing.assert_allclose(q.transform(X), Zref, atol=1e-12)
    Yfull = (Y.reshape(n, m // lam, lam) @ v) * math.sqrt(2 / (m // lam)) / np.linalg.norm(v)
    np.testing.assert_allclose(q.transform_unquantized(X), Yfull, atol=1e-12)
    # codes hold exactly the same information
    codes = q.encode(X)
    assert codes.shape == (n, -(-q.bits_per_sample_ // 8))
    np.testing.assert_allclose(q.decode(codes), q.transform(X), atol=1e-12)


@pytest.mark.parametrize(
    "params",
    [
        dict(quantizer="sigma_delta", block_size=8),
        dict(quantizer="sigma_delta", order=2, n_bits=2, block_size=9),
        dict(quantizer="noise_shaping", block_size=8),
        dict(quantizer="stochastic", n_bits=2),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blockwise_quantization_equals_one_pass_over_all_features(params, dtype):
    # the transform quantizes each row block while its features are in cache (several blocks
    # here, on one and on two threads); the same kernel over the whole feature matrix at once
    # must give the same bits
    from skspectral.kernel_approximation import _kernels

    X = RNG.normal(size=(301, 7)).astype(dtype)
    m = 4032 if params.get("order") == 2 else 4096
    q = QuantizedRandomFourierFeatures(n_components=m, gamma=0.3, random_state=0, **params).fit(X)
    assert q._block_rows(dtype, m, X.shape[0]) < X.shape[0] // 2
    Y = q._map(X, 1, 1.0, m)
    whole = np.empty((X.shape[0], q.n_condensed_), dtype=dtype)
    codes = np.zeros((X.shape[0], m), np.uint8)
    args = (q._scheme, q._K, q.step_, float(q.beta), q.block_size_, q.condensation_, q._scale)
    _kernels.quantize_rows.serial(Y, *args, np.uint64(q._seed), whole, codes, True)
    np.testing.assert_array_equal(q.transform(X), whole)
    np.testing.assert_array_equal(q.set_params(n_jobs=2).transform(X), whole)
    np.testing.assert_array_equal(q._quantize(X, True)[1], codes)


def test_sigma_delta_condensation_filters():
    from skspectral.kernel_approximation._quantized import _sigma_delta_filter

    np.testing.assert_array_equal(_sigma_delta_filter(1, 4), [1, 1, 1, 1])
    np.testing.assert_array_equal(_sigma_delta_filter(2, 5), [1, 2, 3, 2, 1])
    # V D^r annihilates all but the block edges: (1 - z)^r (1 + ... + z^(t-1))^r = (1 - z^t)^r
    v = _sigma_delta_filter(2, 7)
    edge = np.convolve(v, [1, -2, 1])
    np.testing.assert_array_equal(edge, [1, 0, 0, 0, -2, 0, 0, 0, 1])


def test_stochastic_rounding_is_unbiased_between_neighbours():
    X = RNG.normal(size=(400, 6))
    q = QuantizedRandomFourierFeatures(
        n_components=64, quantizer="stochastic", n_bits=2, gamma=0.5, random_state=1
    ).fit(X)
    Y = np.cos(X @ q.random_weights_ + q.random_offset_)
    Z = q.transform(X) / math.sqrt(2 / 64)
    delta = q.step_
    lo = -1 + np.floor((Y + 1) / delta).clip(0, 2) * delta
    assert np.all((np.isclose(Z, lo)) | np.isclose(Z, lo + delta))
    err = Z - Y
    # mean error 0 within 4 standard errors (each |error| <= delta)
    assert abs(err.mean()) < 4 * delta / 2 / math.sqrt(err.size)
    # deterministic and batch invariant
    np.testing.assert_array_equal(q.transform(X[5:9]), q.transform(X)[5:9])


def _kernel_err(X, **params):
    K = rbf_kernel(X, gamma=0.1)
    errs = []
    for seed in range(3):
        q = QuantizedRandomFourierFeatures(gamma=0.1, random_state=seed, **params).fit(X)
        if params.get("quantizer") == "semi":
            A = q.transform(X) @ q.transform_unquantized(X).T
        else:
            Z = q.transform(X)
            A = Z @ Z.T
        errs.append(np.linalg.norm(A - K) / np.linalg.norm(K))
    return np.mean(errs)


def test_kernel_error_decays_with_m_for_sigma_delta_and_noise_shaping():
    X = RNG.normal(size=(80, 6))
    for params in (
        dict(quantizer="sigma_delta", block_size=8),
        dict(quantizer="sigma_delta", order=2, n_bits=2, block_size=9),
        dict(quantizer="noise_shaping", block_size=8),
        dict(quantizer="semi"),
        dict(quantizer="stochastic", n_bits=2),
    ):
        m0 = 9 * 64 if params.get("order") == 2 else 512
        small = _kernel_err(X, n_components=m0, **params)
        big = _kernel_err(X, n_components=16 * m0, **params)
        assert big < small / 2.5, (params, small, big)


def test_memoryless_one_bit_is_biased_and_sigma_delta_is_not():
    X = RNG.normal(size=(80, 6))
    msq = _kernel_err(X, n_components=16384, quantizer="msq")
    sd = _kernel_err(X, n_components=16384, quantizer="sigma_delta", block_size=8)
    assert sd < msq / 2


def test_one_bit_codes_take_a_thirty_second_of_float32():
    X = RNG.normal(size=(10, 6))
    for quantizer in ("msq", "semi", "noise_shaping"):
        q = QuantizedRandomFourierFeatures(
            n_components=1024, quantizer=quantizer, block_size=8, random_state=0
        ).fit(X)
        codes = q.encode(X)
        assert q.bits_per_sample_ == 1024
        assert codes.nbytes * 32 <= np.zeros((10, 1024), np.float32).nbytes * 1
    q = QuantizedRandomFourierFeatures(n_components=1024, block_size=8, random_state=0).fit(X)
    # Sigma-Delta stores condensed integers in [0, 8]: 4 bits per block of 8 features
    assert q.code_bits_ == 4 and q.bits_per_sample_ == 128 * 4


def test_stability_warnings():
    X = RNG.normal(size=(50, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for params in (
            dict(order=1, n_bits=2),
            dict(order=2, n_bits=2, block_size=9),
            dict(quantizer="noise_shaping", beta=1.9),
        ):
            q = QuantizedRandomFourierFeatures(
                n_components=72 if "block_size" in params else 64, random_state=0, **params
            ).fit(X)
            assert q.provably_stable_
            q.transform(X)
    with pytest.warns(QuantizationStabilityWarning, match="not provably stable"):
        QuantizedRandomFourierFeatures(
            order=2, n_bits=2, block_size=9, n_components=72, step=0.5
        ).fit(X)
    # a very small step makes the state actually grow: warned at transform
    q = QuantizedRandomFourierFeatures(order=2, n_bits=2, block_size=9, n_components=72, step=0.05)
    with pytest.warns(QuantizationStabilityWarning):
        q.fit(X).transform(X)


def test_bad_parameters():
    X = RNG.normal(size=(10, 4))
    with pytest.raises(ValueError, match="must divide"):
        QuantizedRandomFourierFeatures(n_components=100, block_size=8).fit(X)
    with pytest.raises(ValueError, match="odd"):
        QuantizedRandomFourierFeatures(n_components=64, order=2, n_bits=2, block_size=8).fit(X)
    with pytest.raises(ValueError, match="one-bit"):
        QuantizedRandomFourierFeatures(quantizer="semi", n_bits=2).fit(X)
    with pytest.raises(ValueError, match="beta"):
        QuantizedRandomFourierFeatures(quantizer="noise_shaping", beta=2.5).fit(X)
    q = QuantizedRandomFourierFeatures(random_state=0).fit(X)
    with pytest.raises(ValueError, match="codes"):
        q.decode(np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match="NaN|infinity"):
        q.transform(np.full((2, 4), np.nan))
