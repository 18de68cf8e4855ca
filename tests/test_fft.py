"""The fast transforms against dense, obviously correct references."""

import numpy as np
import pytest
import scipy.fft
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import hadamard

from skspectral.fft import (
    bit_reversal_permutation,
    fftbr,
    fftbr_double,
    fwht,
    fwht_double,
    fwht_inplace,
    ifftbr,
)

# sizes on both sides of the in-cache block (2048) and of the radix-4 / radix-2 pass split
SIZES = [1, 2, 4, 8, 32, 512, 2048, 4096, 8192, 2**15]


def _reference_bitrev(m):
    return np.array([int(format(i, f"0{m}b")[::-1], 2) if m else 0 for i in range(2**m)])


def _dense_hadamard_apply(x, norm):
    n = x.shape[-1]
    if n <= 4096:
        y = x @ hadamard(n).T.astype(x.dtype)
    else:  # Sylvester order: H_{ab} = kron(H_a, H_b), so H x = H_a X H_b^T for X = x.reshape(a, b)
        a, b = n // 1024, 1024
        X = x.reshape(*x.shape[:-1], a, b)
        y = (hadamard(a) @ X @ hadamard(b).T).reshape(x.shape)
    return y / {"backward": 1.0, "ortho": np.sqrt(n), "forward": n}[norm]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("norm", ["ortho", "backward", "forward"])
def test_fwht_matches_dense_hadamard(n, norm):
    rng = np.random.default_rng(n)
    x = rng.normal(size=(3, n))
    expected = _dense_hadamard_apply(x, norm)
    np.testing.assert_allclose(fwht(x, norm=norm), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 64, 4096, 2**14])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_fwht_matches_dense_hadamard(n, dtype):
    rng = np.random.default_rng(n)
    x = (rng.normal(size=(2, n)) + 1j * rng.normal(size=(2, n))).astype(dtype)
    expected = _dense_hadamard_apply(x.astype(np.complex128), "ortho")
    tol = 1e-4 if dtype == np.complex64 else 1e-10
    y = fwht(x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, expected, rtol=tol, atol=tol)
    z = x.copy()
    fwht_inplace(z, norm="backward")
    np.testing.assert_allclose(z, expected * np.sqrt(n), rtol=tol, atol=tol * np.sqrt(n))


def test_fwht_norm_none_is_backward():
    x = np.arange(8.0)
    np.testing.assert_array_equal(fwht(x, norm=None), fwht(x, norm="backward"))


@pytest.mark.parametrize("n", [2**16, 2**18])
@pytest.mark.parametrize("workers", [1, 2, -1])
def test_fwht_long_rows_parallel_matches_dense(n, workers):
    # one long row goes through the kernel that parallelizes inside the row
    x = np.random.default_rng(1).normal(size=n)
    expected = _dense_hadamard_apply(x, "ortho")
    np.testing.assert_allclose(fwht(x, workers=workers), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fwht(expected, workers=workers), x, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_fwht_preserves_dtype_and_round_trips(dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 64)).astype(dtype)
    if np.iscomplexobj(x):
        x = x + 1j * rng.normal(size=x.shape).astype(x.real.dtype)
    y = fwht(x)
    assert y.dtype == dtype
    tol = 1e-5 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(fwht(y), x, rtol=tol, atol=tol)
    # orthonormal: norms kept
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(x, axis=1), rtol=tol)


def test_fwht_integer_input_is_computed_in_float64():
    y = fwht(np.array([1, 0, 0, 0]), norm="backward")
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [1.0, 1.0, 1.0, 1.0])


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_fwht_batch_shapes_and_axis(axis):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 8, 16))
    y = fwht(x, axis=axis, norm="backward")
    moved = np.moveaxis(x, axis, -1)
    expected = np.moveaxis(moved @ hadamard(moved.shape[-1]).T, -1, axis)
    assert y.shape == x.shape
    np.testing.assert_allclose(y, expected, atol=1e-10)


def test_fwht_does_not_modify_input_including_strided_views():
    x = np.random.default_rng(3).normal(size=(8, 16))
    before = x.copy()
    fwht(x)
    fwht(x.T, axis=0)
    fwht(x[:, ::2])
    np.testing.assert_array_equal(x, before)


def test_fwht_inplace_writes_into_input():
    x = np.random.default_rng(4).normal(size=(3, 2, 32))
    expected = fwht(x)
    out = fwht_inplace(x)
    assert out is x
    np.testing.assert_allclose(x, expected, atol=1e-12)


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (np.ones(8, dtype=np.int64), TypeError, "float32/float64/complex"),
        (np.ones((8, 4))[:, 0], ValueError, "C-contiguous"),
        (np.ones(6), ValueError, "power of two"),
        ([1.0, 2.0], TypeError, "NumPy array"),
    ],
)
def test_fwht_inplace_rejects_what_it_cannot_do_in_place(bad, exc, match):
    with pytest.raises(exc, match=match):
        fwht_inplace(bad)


@pytest.mark.parametrize("n", [0, 3, 6, 12, 1000])
def test_non_power_of_two_lengths_raise(n):
    x = np.ones((2, n))
    for f in (fwht, fftbr, ifftbr):
        with pytest.raises(ValueError, match="power of two"):
            f(x)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="norm must be one of"):
        fwht(np.ones(4), norm="unitary")
    with pytest.raises(ValueError, match="out of bounds"):
        fwht(np.ones(4), axis=1)
    with pytest.raises(ValueError, match="scalar"):
        fwht(np.float64(1.0))
    with pytest.raises(TypeError, match="numeric"):
        fwht(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="int"):
        bit_reversal_permutation(3.0)
    with pytest.raises(ValueError, match=r"\[0, 40\]"):
        bit_reversal_permutation(-1)


@pytest.mark.parametrize("m", range(0, 13))
def test_bit_reversal_permutation_matches_string_reversal(m):
    p = bit_reversal_permutation(m)
    np.testing.assert_array_equal(p, _reference_bitrev(m))
    np.testing.assert_array_equal(p[p], np.arange(2**m))  # an involution
    assert not p.flags.writeable
    assert bit_reversal_permutation(m) is p  # cached


@pytest.mark.parametrize("m", [0, 1, 3, 8, 11, 12, 15, 16])
def test_fftbr_and_ifftbr_match_scipy_with_explicit_permutation(m):
    rng = np.random.default_rng(m)
    x = rng.normal(size=(2, 2**m)) + 1j * rng.normal(size=(2, 2**m))
    perm = _reference_bitrev(m)
    np.testing.assert_allclose(fftbr(x), scipy.fft.fft(x[:, perm], norm="ortho"), atol=1e-10)
    np.testing.assert_allclose(ifftbr(x), scipy.fft.ifft(x, norm="ortho")[:, perm], atol=1e-10)
    np.testing.assert_allclose(ifftbr(fftbr(x)), x, atol=1e-10)
    np.testing.assert_allclose(fftbr(ifftbr(x)), x, atol=1e-10)


# Every route of fftbr / ifftbr: a short 1-D transform (m <= 12); rows whole (complex length up
# to 2**11); four rows and a fused radix-4 pass (2**12 to 2**15); the four-step split (2**16
# on). A real input is packed into a complex transform of half its length, so it takes the
# route of m - 1.
ROUTE_LENGTHS = [0, 1, 2, 5, 11, 12, 13, 15, 16, 17]


def _random(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.normal(size=shape)
    return x.astype(dtype)


@pytest.mark.parametrize("m", ROUTE_LENGTHS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32, np.complex64])
@pytest.mark.parametrize("rows", [None, 3])
def test_every_fftbr_route_matches_scipy_with_explicit_permutation(m, dtype, rows):
    shape = (2**m,) if rows is None else (rows, 2**m)
    x = _random(shape, dtype, seed=m)
    x_before = x.copy()
    perm = _reference_bitrev(m)
    exact = x.astype(np.complex128)
    single = np.dtype(dtype) in (np.float32, np.complex64)
    tol = dict(rtol=2e-5, atol=2e-5) if single else dict(rtol=1e-12, atol=1e-12)
    y = fftbr(x)
    assert y.dtype == (np.complex64 if single else np.complex128)
    assert y.shape == x.shape
    np.testing.assert_allclose(y, scipy.fft.fft(exact[..., perm], norm="ortho"), **tol)
    z = ifftbr(x)
    assert z.dtype == y.dtype
    np.testing.assert_allclose(z, scipy.fft.ifft(exact, norm="ortho")[..., perm], **tol)
    np.testing.assert_allclose(ifftbr(y), x, **tol)
    np.testing.assert_array_equal(x, x_before)  # the input is left alone


@pytest.mark.parametrize("m", [5, 12, 13, 15])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_fftbr_of_strided_views_and_other_axes(m, dtype):
    base = _random((4, 2**m, 2), dtype, seed=m)
    x = base[::2, :, 0]  # non-contiguous rows
    perm = _reference_bitrev(m)
    np.testing.assert_allclose(fftbr(x), scipy.fft.fft(x[:, perm], norm="ortho"), atol=1e-12)
    np.testing.assert_allclose(ifftbr(x), scipy.fft.ifft(x, norm="ortho")[:, perm], atol=1e-12)
    np.testing.assert_allclose(fftbr(x.T, axis=0), fftbr(x).T, atol=1e-12)
    np.testing.assert_allclose(ifftbr(x[0], axis=0), ifftbr(x)[0], atol=1e-12)


@pytest.mark.parametrize("m", [4, 13, 17])
@pytest.mark.parametrize("dtype", [">f8", ">c16"])
def test_fftbr_of_non_native_byte_order(m, dtype):
    x = _random((2, 2**m), np.dtype(dtype).newbyteorder("="), seed=m).astype(dtype)
    native = x.astype(np.dtype(dtype).newbyteorder("="))
    perm = _reference_bitrev(m)
    np.testing.assert_allclose(fftbr(x), scipy.fft.fft(native[:, perm], norm="ortho"), atol=1e-10)
    np.testing.assert_allclose(
        ifftbr(x[0]), scipy.fft.ifft(native[0], norm="ortho")[perm], atol=1e-10
    )


@pytest.mark.parametrize("m", [3, 10, 14, 17])
@pytest.mark.parametrize("precision", ["f4", "f8", "c8", "c16"])
def test_fftbr_dtype_depends_on_precision_alone(m, precision):
    """Neither the byte order nor the history of calls changes the output dtype."""
    expected = np.complex64 if precision in ("f4", "c8") else np.complex128
    x = _random((2**m,), np.dtype("=" + precision), seed=m)
    for order in ("<", ">", "<", ">"):  # native first, then big-endian, and again
        y = x.astype(order + precision)
        assert fftbr(y).dtype == expected
        assert ifftbr(y).dtype == expected
        assert fftbr(y[None, :]).dtype == expected


def test_fft_inplace_copies_back_when_scipy_returns_a_new_array(monkeypatch):
    from skspectral import fft as fft_module

    a = _random((2, 8), np.complex128, seed=1)
    expected = scipy.fft.fft(a, axis=1)
    real_fft = scipy.fft.fft
    monkeypatch.setattr(scipy.fft, "fft", lambda x, **kw: real_fft(np.array(x), **kw))
    fft_module._fft_inplace(a, 1, None)
    np.testing.assert_allclose(a, expected, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 2**16), (5, 2**13)])
def test_threaded_paths_match_the_serial_ones(shape):
    # workers=None runs on the calling thread; workers=2 goes through the parallel kernels
    rng = np.random.default_rng(11)
    x = rng.normal(size=shape)
    perm = _reference_bitrev(shape[1].bit_length() - 1)
    np.testing.assert_allclose(fftbr(x, workers=2), scipy.fft.fft(x[:, perm], norm="ortho"))
    np.testing.assert_allclose(ifftbr(x, workers=2), scipy.fft.ifft(x, norm="ortho")[:, perm])
    np.testing.assert_allclose(
        fwht(x, workers=2), _dense_hadamard_apply(x, "ortho"), rtol=1e-10, atol=1e-10
    )
    # and bit for bit what one thread gives
    np.testing.assert_array_equal(fftbr(x, workers=2), fftbr(x))


def test_fftbr_results_do_not_share_its_scratch_buffer():
    # fftbr reuses a per-thread buffer for the permuted input; results must not alias it, and
    # calls from several threads at once must not disturb each other
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(12)
    xs = [rng.normal(size=(2, 2**m)) for m in (10, 12, 10, 14) * 4]
    expected = [
        scipy.fft.fft(x[:, _reference_bitrev(x.shape[1].bit_length() - 1)], norm="ortho")
        for x in xs
    ]
    first = fftbr(xs[0])
    fftbr(xs[1])
    np.testing.assert_allclose(first, expected[0], atol=1e-12)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(fftbr, xs))
    for got, want in zip(results, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_fftbr_dtypes_axis_and_batch():
    rng = np.random.default_rng(5)
    x32 = rng.normal(size=(3, 4, 16)).astype(np.float32)
    assert fftbr(x32).dtype == np.complex64
    assert ifftbr(fftbr(x32)).dtype == np.complex64
    assert fftbr(x32.astype(np.float64)).dtype == np.complex128
    y = fftbr(x32, axis=1)
    expected = np.moveaxis(fftbr(np.moveaxis(x32, 1, -1)), -1, 1)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    # orthonormal: Parseval
    np.testing.assert_allclose(
        np.linalg.norm(fftbr(x32), axis=-1), np.linalg.norm(x32, axis=-1), rtol=1e-5
    )


def _lattice_radical_inverse(m, g):
    """Rank-1 lattice points x_i = frac(phi(i) * g) with phi the base-2 radical inverse."""
    n = 2**m
    phi = _reference_bitrev(m) / n
    return np.mod(np.outer(phi, g), 1.0)


def _korobov_kernel(delta):
    # product of 1 + 2 pi^2 B_2(frac(delta)) with B_2(t) = t^2 - t + 1/6: shift invariant, p.d.
    t = np.mod(delta, 1.0)
    return np.prod(1.0 + 2 * np.pi**2 * (t * t - t + 1.0 / 6.0), axis=-1)


@pytest.mark.parametrize("m", [3, 6, 9])
def test_lattice_kernel_matvec_is_diagonal_in_fftbr(m):
    """The property fftbr exists for: K y == ifftbr(lam * fftbr(y)) on a lattice in
    radical-inverse order, checked against the dense Gram matrix."""
    g = np.array([1, 433461, 315689])
    pts = _lattice_radical_inverse(m, g)
    K = _korobov_kernel(pts[:, None, :] - pts[None, :, :])
    y = np.random.default_rng(m).normal(size=2**m)
    lam = np.sqrt(2**m) * fftbr(K[:, 0])
    fast = ifftbr(lam * fftbr(y))
    np.testing.assert_allclose(fast.imag, 0.0, atol=1e-8)
    np.testing.assert_allclose(fast.real, K @ y, rtol=1e-9, atol=1e-9)
    # the eigenvalues of a p.d. kernel Gram matrix are real and positive
    assert np.all(lam.real > 0)
    np.testing.assert_allclose(lam.imag, 0.0, atol=1e-8)


@pytest.mark.parametrize("m", [0, 1, 4, 10])
def test_doubling_updates_match_full_transforms(m):
    rng = np.random.default_rng(m)
    x = rng.normal(size=(3, 2 ** (m + 1)))
    half = 2**m
    np.testing.assert_allclose(
        fftbr_double(fftbr(x[:, :half]), fftbr(x[:, half:])), fftbr(x), atol=1e-10
    )
    np.testing.assert_allclose(
        fwht_double(fwht(x[:, :half]), fwht(x[:, half:])), fwht(x), atol=1e-10
    )
    # along another axis
    xt = x.T.copy()
    np.testing.assert_allclose(
        fwht_double(fwht(xt[:half], axis=0), fwht(xt[half:], axis=0), axis=0),
        fwht(xt, axis=0),
        atol=1e-10,
    )


def test_doubling_rejects_mismatched_halves():
    with pytest.raises(ValueError, match="same shape"):
        fwht_double(np.ones(4), np.ones(8))
    with pytest.raises(ValueError, match="power of two"):
        fftbr_double(np.ones(3), np.ones(3))


def test_doubling_keeps_single_precision():
    x = np.ones(8, dtype=np.float32)
    assert fwht_double(fwht(x[:4]), fwht(x[4:])).dtype == np.float32
    assert fftbr_double(fftbr(x[:4]), fftbr(x[4:])).dtype == np.complex64


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(0, 10),
    rows=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_fwht_orthogonal_involution(m, rows, seed):
    x = np.random.default_rng(seed).normal(size=(rows, 2**m))
    y = fwht(x)
    np.testing.assert_allclose(fwht(y), x, atol=1e-10)
    np.testing.assert_allclose(np.sum(y * y), np.sum(x * x), rtol=1e-10)
    # linearity
    z = np.random.default_rng(seed + 1).normal(size=x.shape)
    np.testing.assert_allclose(fwht(2.0 * x - z), 2.0 * y - fwht(z), atol=1e-9)


def test_empty_batch_is_fine():
    x = np.zeros((0, 8))
    assert fwht(x).shape == (0, 8)
    assert fftbr(x).shape == (0, 8)


# ---- the Array API path (CuPy on a GPU), exercised on the CPU with array-api-strict ----


@pytest.fixture
def strict():
    return pytest.importorskip("array_api_strict")


@pytest.mark.parametrize("norm", ["ortho", "backward", "forward"])
def test_array_api_fwht_matches_numpy(strict, norm):
    x = np.random.default_rng(7).normal(size=(3, 5, 16))
    ys = fwht(strict.asarray(x), norm=norm)
    assert type(ys).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(ys), fwht(x, norm=norm), atol=1e-12)
    x0 = np.random.default_rng(8).normal(size=(8, 3))
    np.testing.assert_allclose(
        np.asarray(fwht(strict.asarray(x0), axis=0, norm=norm)), fwht(x0, axis=0, norm=norm)
    )


def test_array_api_fftbr_ifftbr_and_doubling_match_numpy(strict):
    x = np.random.default_rng(9).normal(size=(2, 32)).astype(np.float32)
    xs = strict.asarray(x)
    y = fftbr(xs)
    assert y.dtype == strict.complex64
    np.testing.assert_allclose(np.asarray(y), fftbr(x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ifftbr(y)), x, rtol=1e-5, atol=1e-5)
    h1, h2 = fftbr(xs[:, :16]), fftbr(xs[:, 16:])
    np.testing.assert_allclose(np.asarray(fftbr_double(h1, h2)), fftbr(x), rtol=1e-4, atol=1e-5)
    w1, w2 = fwht(xs[:, :16]), fwht(xs[:, 16:])
    np.testing.assert_allclose(np.asarray(fwht_double(w1, w2)), fwht(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="power of two"):
        fwht(strict.asarray(np.ones(6)))


def test_threaded_transforms_from_several_threads_under_the_workqueue_layer():
    """fwht(workers=2) and fftbr from 4 Python threads at once, under numba's thread-unsafe
    workqueue layer: the launches are serialized, so the process survives and every result is
    the dense reference's."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = textwrap.dedent(
        f"""
        import sys, threading
        import numpy as np
        from scipy.linalg import hadamard
        sys.path.insert(0, {str(root)!r})
        from skspectral.fft import fwht, fftbr
        x = np.random.default_rng(0).normal(size=(64, 1024))
        ref = x @ hadamard(1024).T / 32.0
        errors = []
        def work():
            for _ in range(20):
                if not np.allclose(fwht(x, workers=2), ref, atol=1e-9):
                    errors.append("fwht")
                fftbr(x, workers=2)
        ts = [threading.Thread(target=work) for _ in range(4)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        import numba
        assert not errors, errors
        print("layer", numba.threading_layer())
        """
    )
    env = {**__import__("os").environ, "NUMBA_THREADING_LAYER": "workqueue"}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "layer workqueue" in proc.stdout
