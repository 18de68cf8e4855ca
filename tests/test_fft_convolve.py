"""skspectral.fft.convolve_grid / grid_kernel against direct summation over grid pairs."""

import numpy as np
import pytest

from skspectral.fft import GridKernel, convolve_grid, grid_kernel


def _direct_1d(v, k, h):
    n = v.shape[-1]
    i = np.arange(n)
    K = k((i[:, None] - i[None, :]) * h)  # dense Toeplitz matrix, built from the kernel alone
    return v @ K.T


def _direct_2d(v, k, h1, h2):
    n1, n2 = v.shape[-2:]
    out = np.zeros_like(v, dtype=np.float64)
    for a in range(n1):
        for b in range(n2):
            w = k((a - np.arange(n1))[:, None] * h1, (b - np.arange(n2))[None, :] * h2)
            out[..., a, b] = np.sum(w * v, axis=(-2, -1))
    return out


def _cauchy(dx, dy=0.0):
    return 1.0 / (1.0 + dx**2 + dy**2)


@pytest.mark.parametrize("n", [1, 2, 7, 64, 101])
def test_1d_matches_direct_sum(n):
    rng = np.random.default_rng(n)
    v = rng.standard_normal((3, n))
    out = convolve_grid(v, _cauchy, spacing=0.3)
    np.testing.assert_allclose(out, _direct_1d(v, _cauchy, 0.3), rtol=1e-12, atol=1e-12)


def test_1d_uneven_kernel_has_complex_spectrum_and_is_still_exact():
    rng = np.random.default_rng(0)
    v = rng.standard_normal(33)

    def skew(d):
        return np.exp(-np.abs(d)) * (1 + 0.5 * np.tanh(d))

    k = grid_kernel(skew, 33, spacing=0.2)
    assert k.spectrum.dtype.kind == "c"
    np.testing.assert_allclose(convolve_grid(v, k), _direct_1d(v, skew, 0.2), atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (16, 16), (9, 20)])
def test_2d_matches_direct_sum(shape):
    rng = np.random.default_rng(sum(shape))
    v = rng.standard_normal((2, *shape))
    k = grid_kernel(_cauchy, shape, spacing=(0.25, 0.5))
    assert k.spectrum.dtype.kind == "f"  # even kernel: real spectrum
    out = convolve_grid(v, k)
    np.testing.assert_allclose(out, _direct_2d(v, _cauchy, 0.25, 0.5), rtol=1e-11, atol=1e-11)


def test_2d_non_separable_kernel():
    rng = np.random.default_rng(1)
    v = rng.standard_normal((6, 11))

    def k(dx, dy):
        return np.exp(-((dx + 0.5 * dy) ** 2)) / (1 + dy**2)

    np.testing.assert_allclose(
        convolve_grid(v, k, ndim=2, spacing=0.4), _direct_2d(v, k, 0.4, 0.4), atol=1e-11
    )


def test_kernel_reuse_float32_and_workers():
    rng = np.random.default_rng(2)
    k = grid_kernel(_cauchy, (12, 10), spacing=0.1)
    v = rng.standard_normal((4, 12, 10))
    ref = _direct_2d(v, _cauchy, 0.1, 0.1)
    np.testing.assert_allclose(convolve_grid(v, k, workers=2), ref, atol=1e-11)
    out32 = convolve_grid(v.astype(np.float32), k)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, ref, rtol=1e-4, atol=1e-4)


def test_input_unchanged_and_int_input():
    v = np.arange(10)
    before = v.copy()
    out = convolve_grid(v, _cauchy)
    np.testing.assert_array_equal(v, before)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, _direct_1d(v.astype(float), _cauchy, 1.0), atol=1e-11)


def test_fft_size_is_fast_and_embeds_without_wrap():
    k = grid_kernel(_cauchy, (100, 37))
    assert isinstance(k, GridKernel)
    for n, m in zip(k.shape, k.fft_shape, strict=True):
        assert m >= 2 * n - 1


def test_bad_input():
    with pytest.raises(ValueError, match="1-D or 2-D"):
        grid_kernel(_cauchy, (2, 2, 2))
    with pytest.raises(ValueError, match="positive integers"):
        grid_kernel(_cauchy, 0)
    with pytest.raises(ValueError, match="spacing"):
        grid_kernel(_cauchy, 4, spacing=-1.0)
    with pytest.raises(ValueError, match="not finite"), np.errstate(divide="ignore"):
        grid_kernel(lambda d: 1 / d, 4)
    with pytest.raises(ValueError, match="shape"):
        convolve_grid(np.ones(5), grid_kernel(_cauchy, 4))
    with pytest.raises(TypeError, match="GridKernel"):
        convolve_grid(np.ones(5), "cauchy")
    with pytest.raises(TypeError, match="real numbers"):
        convolve_grid(np.ones(5, dtype=complex), _cauchy)


def test_array_api_strict_matches_numpy():
    xps = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(3)
    v = rng.standard_normal((2, 8, 6))
    k = grid_kernel(_cauchy, (8, 6), spacing=0.3)
    out = convolve_grid(xps.asarray(v), k)
    assert type(out).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(out), convolve_grid(v, k), atol=1e-12)
