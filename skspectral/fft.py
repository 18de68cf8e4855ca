"""Fast transforms shared by every skspectral estimator.

* :func:`fwht` / :func:`fwht_inplace`: the fast Walsh-Hadamard transform (Sylvester / natural
  order, the order of :func:`scipy.linalg.hadamard`), numba-compiled, cache-blocked.
* :func:`bit_reversal_permutation`, :func:`fftbr` / :func:`ifftbr`: the FFT in bit-reversed order
  of Rathinavel and Hickernell, used for shift-invariant kernels on rank-1 lattices in
  radical-inverse order. With orthonormal scaling, a circulant-in-bit-reversed-order matrix ``K``
  acts as ``K @ y == ifftbr(lam * fftbr(y))`` with ``lam = sqrt(n) * fftbr(K[:, 0])``. The
  bit reversal costs no pass of its own: it is folded into the steps of a four-step FFT (see
  ``_fftbr_rows``).
* :func:`fftbr_double` / :func:`fwht_double`: the doubling ("butterfly") update, the transform of
  ``2n`` values from the transforms of its two halves in O(n), which lets a design grow from ``n``
  to ``2n`` points without redoing the transform.
* :func:`convolve_grid` / :func:`grid_kernel`: the aperiodic convolution of values on an
  equispaced 1-D or 2-D grid with a translation-invariant kernel, through a circulant embedding
  of FFT-friendly size and real FFTs (the repulsive field of FFT-accelerated t-SNE, binned
  kernel densities).

All functions accept any leading batch shape, transform along ``axis``, preserve single precision
(float32 in, float32 / complex64 out), and take ``workers`` with :mod:`scipy.fft`'s meaning.
NumPy input runs the numba kernels; an Array API array (a CuPy array on a GPU, for one) is
transformed with its own namespace's operations and stays on its device.

References
----------
R. Jagadeeswaran and F. J. Hickernell, "Fast automatic Bayesian cubature using lattice sampling",
Statistics and Computing 29 (2019). -- "Fast automatic Bayesian cubature using Sobol' sampling",
Advances in Modeling and Simulation (2022). A. G. Sorokin and R. Jagadeeswaran, "Fast Gaussian
process regression on rank-1 lattices and digital nets", QMCPy documentation (2023).
D. H. Bailey, "FFTs in external or hierarchical memory", The Journal of Supercomputing 4 (1990).
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np
import scipy.fft
from numba import njit, prange

from ._backend import complex_dtype, effective_n_jobs, float_dtype, parallel_launch

__all__ = [
    "GridKernel",
    "bit_reversal_permutation",
    "convolve_grid",
    "fftbr",
    "fftbr_double",
    "fwht",
    "fwht_double",
    "fwht_inplace",
    "grid_kernel",
    "ifftbr",
]

_NORMS = ("ortho", "backward", "forward")
# Stages of the transform with butterfly span below this run inside one block that stays in
# L1 cache; the larger spans are done in radix-4 passes over the whole row.
_BLOCK = 2048
# Arrays up to this many elements are transformed on the calling thread.
_SERIAL_SIZE = 1 << 15


# --------------------------------------------------------------------------------------------
# numba kernels (plain arrays in, nothing returned: they work in place)
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, inline="always")
def _butterfly2(a, b):
    """One radix-2 butterfly stage on equal-length contiguous views: (a, b) <- (a + b, a - b)."""
    for j in range(a.shape[0]):
        u = a[j]
        v = b[j]
        a[j] = u + v
        b[j] = u - v


@njit(cache=True, nogil=True, inline="always")
def _butterfly4(a, b, c, d):
    """Two radix-2 stages at once (spans h and 2h) on four equal-length contiguous views."""
    for j in range(a.shape[0]):
        s1 = a[j] + b[j]
        d1 = a[j] - b[j]
        s2 = c[j] + d[j]
        d2 = c[j] - d[j]
        a[j] = s1 + s2
        b[j] = d1 + d2
        c[j] = s1 - s2
        d[j] = d1 - d2


@njit(cache=True, nogil=True, inline="always")
def _fwht_block(v, scale):
    """Whole in-place FWHT of the contiguous view ``v`` (power-of-two length, in cache), scaled
    first. Loops run over slice views with ``range`` indices, which the compiler vectorizes."""
    n = v.shape[0]
    if scale != 1.0:
        for j in range(n):
            v[j] = v[j] * scale
    h = 1
    if n >= 4:
        # spans 1 and 2 together, unrolled: these strides do not vectorize otherwise
        for i in range(0, n, 4):
            a = v[i]
            b = v[i + 1]
            c = v[i + 2]
            d = v[i + 3]
            s1 = a + b
            d1 = a - b
            s2 = c + d
            d2 = c - d
            v[i] = s1 + s2
            v[i + 1] = d1 + d2
            v[i + 2] = s1 - s2
            v[i + 3] = d1 - d2
        h = 4
    while h < n:
        if 4 * h <= n:
            for i in range(0, n, 4 * h):
                _butterfly4(
                    v[i : i + h],
                    v[i + h : i + 2 * h],
                    v[i + 2 * h : i + 3 * h],
                    v[i + 3 * h : i + 4 * h],
                )
            h *= 4
        else:
            for i in range(0, n, 2 * h):
                _butterfly2(v[i : i + h], v[i + h : i + 2 * h])
            h *= 2


@njit(cache=True, nogil=True, inline="always")
def _fwht_large_task(x, h, radix4, t, chunk):
    """Task ``t`` of a pass of span ``h`` (and ``2h`` when ``radix4``) over a row: the
    butterflies of one contiguous chunk of one group."""
    per_group = h // chunk
    width = 4 * h if radix4 else 2 * h
    i = (t // per_group) * width + (t % per_group) * chunk
    if radix4:
        _butterfly4(
            x[i : i + chunk],
            x[i + h : i + h + chunk],
            x[i + 2 * h : i + 2 * h + chunk],
            x[i + 3 * h : i + 3 * h + chunk],
        )
    else:
        _butterfly2(x[i : i + chunk], x[i + h : i + h + chunk])


@njit(cache=True, nogil=True)
def fwht_row(x, scale):
    """In-place FWHT of the 1-D contiguous array ``x`` (power-of-two length), scaled by ``scale``.

    Serial; meant to be called from other numba kernels (one row per thread). Spans below
    ``_BLOCK`` run block by block in cache; larger spans run in radix-4 passes over the row.
    """
    n = x.shape[0]
    block = min(n, _BLOCK)
    for start in range(0, n, block):
        _fwht_block(x[start : start + block], scale)
    h = block
    while h < n:
        radix4 = 4 * h <= n
        tasks = n // (4 * h) if radix4 else n // (2 * h)
        for t in range(tasks):
            _fwht_large_task(x, h, radix4, t, h)
        h = h * 4 if radix4 else h * 2


@njit(cache=True, nogil=True)
def _fwht_rows_serial(x, scale):
    """In-place FWHT of every row of the C-contiguous 2-D array ``x``, on the calling thread."""
    for r in range(x.shape[0]):
        fwht_row(x[r], scale)


@njit(cache=True, nogil=True, parallel=True)
def _fwht_rows_kernel(x, scale):
    """In-place FWHT of every row of the C-contiguous 2-D array ``x``; rows in parallel."""
    for r in prange(x.shape[0]):
        fwht_row(x[r], scale)


@njit(cache=True, nogil=True, parallel=True)
def _fwht_long_kernel(x, scale):
    """In-place FWHT of each row of ``x`` with the work *inside* the row in parallel (for a few
    long rows)."""
    n = x.shape[1]
    block = min(n, _BLOCK)
    for r in range(x.shape[0]):
        row = x[r]
        for b in prange(n // block):
            _fwht_block(row[b * block : (b + 1) * block], scale)
        h = block
        while h < n:
            radix4 = 4 * h <= n
            chunk = min(h, 1024)
            for t in prange(n // (4 * chunk) if radix4 else n // (2 * chunk)):
                _fwht_large_task(row, h, radix4, t, chunk)
            h = h * 4 if radix4 else h * 2


@njit(cache=True, nogil=True)
def _permute_rows_inplace(x, rev):
    """``x[i] = x[i, rev]`` for every row, by swaps (``rev`` is an involution)."""
    for i in range(x.shape[0]):
        xi = x[i]
        for j in range(rev.shape[0]):
            k = rev[j]
            if j < k:
                t = xi[j]
                xi[j] = xi[k]
                xi[k] = t


@njit(cache=True, nogil=True)
def _permute_rows(x, out, rev):
    """``out[b, r, c] = x[b, r, rev[c]]``: rows short enough to stay in cache."""
    for b in range(x.shape[0]):
        for r in range(x.shape[1]):
            xr = x[b, r]
            orow = out[b, r]
            for c in range(rev.shape[0]):
                orow[c] = xr[rev[c]]


@njit(cache=True, nogil=True)
def _pack_rows(re, im, out, rev):
    """``out[b, r, c] = re[b, r, rev[c]] + 1j * im[b, r, rev[c]]`` (two real rows, one complex)."""
    for b in range(re.shape[0]):
        for r in range(re.shape[1]):
            rr = re[b, r]
            ir = im[b, r]
            orow = out[b, r]
            for c in range(rev.shape[0]):
                orow[c] = complex(rr[rev[c]], ir[rev[c]])


@njit(cache=True, nogil=True, inline="always")
def _twiddle(j, tw_hi, tw_lo, s):
    """``exp(-2 pi i j / n)`` from the two tables of :func:`_twiddles`."""
    return tw_hi[j >> s] * tw_lo[j & ((1 << s) - 1)]


@njit(cache=True, nogil=True, inline="always")
def _scaled(z, scale):
    """``z * scale`` for a real ``scale`` (two products, not a complex one)."""
    return complex(z.real * scale, z.imag * scale)


@njit(cache=True, nogil=True)
def _twiddle_rows(z, t, rev, tw_hi, tw_lo, s, scale, inverse):
    """The middle step of the four-step FFT, with the row index read bit-reversed.

    For ``z`` and ``t`` of shape ``(batch, R, C)`` and ``w = exp(-2 pi i / (R * C))``, writes
    ``t[b, r, k] = scale * w**(r * k) * z[b, rev[r], k]``, or with ``inverse``
    ``t[b, r, k] = scale * conj(w)**(rev[r] * k) * z[b, rev[r], k]``.
    """
    for b in range(z.shape[0]):
        for r in range(z.shape[1]):
            src = z[b, rev[r]]
            dst = t[b, r]
            step = rev[r] if inverse else r
            for k in range(dst.shape[0]):
                w = _twiddle(step * k, tw_hi, tw_lo, s)
                if inverse:
                    w = w.conjugate()
                dst[k] = _scaled(w * src[k], scale)


@njit(cache=True, nogil=True)
def _radix4_rows(z, y, w, scale):
    """The last step of a four-step FFT with four rows, its twiddles and 4-point column
    transforms fused: for row spectra ``z[b] = (z0, z1, z2, z3)`` of length ``C`` read in
    bit-reversed row order ``(z0, z2, z1, z3)``, ``y[b, q C + k] = scale * sum_r (-i)**(q r)
    w**(r k) z[b, rev(r), k]`` with the table ``w[j] = exp(-2 pi i j / (4 C))``, ``j < 2 C``."""
    c = z.shape[2]
    for b in range(z.shape[0]):
        z0, z1, z2, z3 = z[b, 0], z[b, 1], z[b, 2], z[b, 3]
        yb = y[b]
        for k in range(c):
            w1 = w[k]
            w2 = w[2 * k]
            t0 = z0[k]
            t1 = w1 * z2[k]
            t2 = w2 * z1[k]
            t3 = (w1 * w2) * z3[k]
            a0 = t0 + t2
            a1 = t0 - t2
            b0 = t1 + t3
            d = t1 - t3
            b1 = complex(d.imag, -d.real)  # -i d
            yb[k] = _scaled(a0 + b0, scale)
            yb[k + c] = _scaled(a1 + b1, scale)
            yb[k + 2 * c] = _scaled(a0 - b0, scale)
            yb[k + 3 * c] = _scaled(a1 - b1, scale)


@njit(cache=True, nogil=True)
def _unradix4_rows(y, z, w, scale):
    """Inverse of :func:`_radix4_rows` up to scale: unnormalized 4-point inverse transforms of
    the four quarters of ``y[b]``, twiddles undone, rows put back in bit-reversed order."""
    c = z.shape[2]
    for b in range(y.shape[0]):
        yb = y[b]
        z0, z1, z2, z3 = z[b, 0], z[b, 1], z[b, 2], z[b, 3]
        for k in range(c):
            y0 = yb[k]
            y1 = yb[k + c]
            y2 = yb[k + 2 * c]
            y3 = yb[k + 3 * c]
            a0 = y0 + y2
            a1 = y0 - y2
            b0 = y1 + y3
            d = y1 - y3
            b1 = complex(-d.imag, d.real)  # i d
            w1 = w[k].conjugate()
            w2 = w[2 * k].conjugate()
            z0[k] = _scaled(a0 + b0, scale)
            z2[k] = _scaled(w1 * (a1 + b1), scale)
            z1[k] = _scaled(w2 * (a0 - b0), scale)
            z3[k] = _scaled((w1 * w2) * (a1 - b1), scale)


@njit(cache=True, nogil=True)
def _untangle(y, tw_hi, tw_lo, s, scale):
    """Spectrum of a real signal ``x`` from ``u = DFT_br(x1 + 1j x2)`` held in ``y[:, :h]``.

    ``x1``, ``x2`` are the halves of ``x`` (``n = 2h``), and the bit-reversed DFT of each is the
    conjugate-even / conjugate-odd part of ``u``: ``A_k = (u_k + conj u_{-k}) / 2``,
    ``B_k = (u_k - conj u_{-k}) / 2i``. The doubling step then gives ``y_k = A_k + w**k B_k``,
    ``y_{k+h} = A_k - w**k B_k`` (``w = exp(-2 pi i / n)``), times ``scale``. Pairs ``k, h - k``
    are read and written together, so ``y`` is filled in place.
    """
    h = y.shape[1] // 2
    for b in range(y.shape[0]):
        yb = y[b]
        u0 = yb[0]
        yb[0] = (u0.real + u0.imag) * scale
        yb[h] = (u0.real - u0.imag) * scale
        half_scale = 0.5 * scale  # the 1/2 of A and B folded in
        for k in range(1, h // 2 + 1):
            j = h - k
            uk = yb[k]
            uj = yb[j].conjugate()
            a = _scaled(uk + uj, half_scale)
            d = uk - uj
            wb = _twiddle(k, tw_hi, tw_lo, s) * complex(d.imag * half_scale, -d.real * half_scale)
            yb[k] = a + wb
            yb[k + h] = a - wb
            if j != k:  # w**j = -conj(w**k), A_j = conj(A_k), B_j = conj(B_k)
                a = a.conjugate()
                wb = -wb.conjugate()
                yb[j] = a + wb
                yb[j + h] = a - wb


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _log2_length(n: int, what: str = "length") -> int:
    """Return ``m`` with ``n == 2**m``; raise a clear ValueError otherwise."""
    n = int(n)
    if n < 1 or n & (n - 1):
        raise ValueError(
            f"the transform {what} must be a power of two, got {n}; pad the data (e.g. to "
            f"{1 << max(n - 1, 0).bit_length()}) or choose a power-of-two size"
        )
    return n.bit_length() - 1


def _as_float_array(x) -> np.ndarray:
    """``x`` as a native-byte-order float32 / float64 / complex64 / complex128 array (the
    precision follows the input's, whatever its byte order)."""
    x = np.asarray(x)
    if x.dtype.kind == "c":
        return x.astype(complex_dtype(x.dtype), copy=False)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"expected a numeric array, got dtype {x.dtype}")
    return x.astype(float_dtype(x.dtype), copy=False)


def _check_norm(norm):
    norm = "backward" if norm is None else norm
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS} or None, got {norm!r}")
    return norm


def _fwht_scale(n: int, norm: str) -> float:
    if norm == "ortho":
        return 1.0 / math.sqrt(n)
    if norm == "forward":
        return 1.0 / n
    return 1.0


def _rows_view(x: np.ndarray, axis: int):
    """A C-contiguous 2-D ``(batch, n)`` view or copy of ``x`` with ``axis`` last (``n`` checked
    to be a power of two), and how to undo it."""
    axis = _normalize_axis(axis, x.ndim)
    n = x.shape[axis]
    _log2_length(n)
    moved = x if axis == x.ndim - 1 else np.moveaxis(x, axis, -1)
    rows = math.prod(moved.shape[:-1])
    return np.ascontiguousarray(moved).reshape(rows, n), moved.shape, axis


def _from_rows(y2d: np.ndarray, moved_shape, axis: int) -> np.ndarray:
    """Undo :func:`_rows_view` on a result of the same shape."""
    y = y2d.reshape(moved_shape)
    return y if axis == len(moved_shape) - 1 else np.moveaxis(y, -1, axis)


def _normalize_axis(axis: int, ndim: int) -> int:
    if ndim == 0:
        raise ValueError("the transform needs at least a 1-D array, got a scalar")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


# --------------------------------------------------------------------------------------------
# Walsh-Hadamard
# --------------------------------------------------------------------------------------------


def _fwht_2d_inplace(x2d: np.ndarray, scale: float, workers) -> None:
    if x2d.size == 0:
        return
    if x2d.size <= _SERIAL_SIZE or effective_n_jobs(workers) == 1:
        # one thread asked for, or too small to gain from more: no call into the thread pool
        _fwht_rows_serial(x2d, scale)
        return
    with parallel_launch(workers) as n_threads:
        if x2d.shape[0] >= n_threads or x2d.shape[1] <= _BLOCK:
            _fwht_rows_kernel(x2d, scale)
        else:
            _fwht_long_kernel(x2d, scale)


def fwht(x, axis=-1, norm="ortho", *, workers=None):
    """Fast Walsh-Hadamard transform along ``axis``.

    Computes ``H @ v`` for every 1-D slice ``v`` of ``x`` along ``axis``, where ``H`` is the
    Sylvester-ordered Hadamard matrix of :func:`scipy.linalg.hadamard`, in O(n log n) operations
    per slice instead of O(n^2).

    Parameters
    ----------
    x : array_like
        Input of any shape; ``x.shape[axis]`` must be a power of two. float32 and complex64 are
        kept; integers and booleans are computed in float64.
    axis : int, default=-1
        Axis to transform.
    norm : {"ortho", "backward", "forward"} or None, default="ortho"
        ``"ortho"`` scales by ``n**-0.5`` (the transform is then orthogonal and its own
        inverse); ``"backward"`` (or None) does not scale; ``"forward"`` scales by ``1/n``.
        ``fwht(fwht(x, norm="backward"), norm="forward") == x``.
    workers : int, optional
        Threads to use, as in :mod:`scipy.fft` (None: one; -1: all cores).

    Returns
    -------
    y : ndarray
        The transform, same shape as ``x``; a new array.

    See Also
    --------
    fwht_inplace : the same transform, written into ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.linalg import hadamard
    >>> from skspectral.fft import fwht
    >>> x = np.arange(8.0)
    >>> np.allclose(fwht(x, norm="backward"), hadamard(8) @ x)
    True
    >>> np.allclose(fwht(fwht(x)), x)
    True
    """
    if _is_array_api(x):
        return _fwht_xp(x, axis, _check_norm(norm))
    x = _as_float_array(x)
    norm = _check_norm(norm)
    x2d, moved_shape, axis = _rows_view(x, axis)
    if np.shares_memory(x2d, x):
        x2d = x2d.copy()
    n = x2d.shape[1]
    _fwht_2d_inplace(x2d, _fwht_scale(n, norm), workers)
    return _from_rows(x2d, moved_shape, axis)


def fwht_inplace(x, norm="ortho", *, workers=None):
    """Fast Walsh-Hadamard transform of the last axis of ``x``, written into ``x``.

    Parameters
    ----------
    x : ndarray
        Writable, C-contiguous array of dtype float32, float64, complex64 or complex128 whose
        last axis has a power-of-two length. No copy is made.
    norm : {"ortho", "backward", "forward"} or None, default="ortho"
        As in :func:`fwht`.
    workers : int, optional
        Threads to use, as in :mod:`scipy.fft`.

    Returns
    -------
    x : ndarray
        The input array, now holding its transform.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.fft import fwht_inplace
    >>> x = np.ones((2, 4), dtype=np.float32)
    >>> fwht_inplace(x, norm="backward")
    array([[4., 0., 0., 0.],
           [4., 0., 0., 0.]], dtype=float32)
    """
    if not isinstance(x, np.ndarray):
        raise TypeError("fwht_inplace needs a NumPy array; use fwht for other inputs")
    if x.dtype not in (np.float32, np.float64, np.complex64, np.complex128):
        raise TypeError(
            f"fwht_inplace needs a float32/float64/complex array, got {x.dtype}; use fwht"
        )
    if not x.flags.c_contiguous or not x.flags.writeable:
        raise ValueError("fwht_inplace needs a writable C-contiguous array; use fwht")
    if x.ndim == 0:
        raise ValueError("the transform needs at least a 1-D array, got a scalar")
    norm = _check_norm(norm)
    n = x.shape[-1]
    _log2_length(n)
    _fwht_2d_inplace(x.reshape(-1, n), _fwht_scale(n, norm), workers)
    return x


def fwht_double(y1, y2, axis=-1):
    """Orthonormal FWHT of ``concatenate([x1, x2])`` from ``y1 = fwht(x1)`` and ``y2 = fwht(x2)``.

    The doubling update: ``[y1 + y2, y1 - y2] / sqrt(2)``, O(n) instead of O(n log n).

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.fft import fwht, fwht_double
    >>> x = np.random.default_rng(0).normal(size=16)
    >>> np.allclose(fwht_double(fwht(x[:8]), fwht(x[8:])), fwht(x))
    True
    """
    return _double(y1, y2, axis, None)


# --------------------------------------------------------------------------------------------
# FFT in bit-reversed order
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _bit_reversal_cached(m: int) -> np.ndarray:
    n = 1 << m
    i = np.arange(n, dtype=np.int64)
    rev = np.zeros(n, dtype=np.int64)
    for b in range(m):
        rev |= ((i >> b) & 1) << (m - 1 - b)
    rev.setflags(write=False)
    return rev


def bit_reversal_permutation(m: int) -> np.ndarray:
    """The integers ``0`` to ``2**m - 1`` with their ``m`` bits reversed.

    ``bit_reversal_permutation(m)[i]`` is the integer whose binary digits are those of ``i``
    read backwards (on ``m`` bits). The permutation is its own inverse. Results are cached and
    returned read-only.

    Examples
    --------
    >>> from skspectral.fft import bit_reversal_permutation
    >>> bit_reversal_permutation(3)
    array([0, 4, 2, 6, 1, 5, 3, 7])
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
        raise TypeError(f"m must be an int, got {type(m).__name__}")
    if not 0 <= m <= 40:
        raise ValueError(f"m must be in [0, 40], got {m}")
    return _bit_reversal_cached(int(m))


_scratch = threading.local()
# Temporaries up to this size live in a per-thread buffer that is reused from call to call: a
# fresh buffer costs a page fault per 4 KiB, as much as a pass of arithmetic over it.
_SCRATCH_MAX_BYTES = 1 << 26
# Up to this length (log2) a transform permutes its input whole and calls one FFT.
_DIRECT_MAX_LOG = 12
# From this length (log2) on, the four-step split into about sqrt(n) rows (see _fftbr_rows).
_FOUR_STEP_MIN_LOG = 16
# Bit-reversal permutations of the lengths _fftbr_short has seen, for fftbr's first lines.
_SHORT_PERMS: dict = {}
_FFT_DTYPES = frozenset([np.float32, np.float64, np.complex64, np.complex128])


def _scratch_like(shape, dtype) -> np.ndarray:
    """A per-thread reusable scratch array (a fresh one above 64 MiB).

    Valid until the next call on the same thread: only for temporaries that do not escape.
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _SCRATCH_MAX_BYTES:
        return np.empty(shape, dtype=dtype)
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.nbytes < nbytes:
        buf = _scratch.buf = np.empty(nbytes, dtype=np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


@functools.lru_cache(maxsize=64)
def _twiddles(m: int, dtype) -> tuple:
    """``exp(-2 pi i j / 2**m) == hi[j >> s] * lo[j & (2**s - 1)]``: two tables, ``s`` bits."""
    s = (m + 1) // 2
    n = 1 << m
    lo = np.exp(-2j * np.pi * (np.arange(1 << s) / n)).astype(dtype)
    hi = np.exp(-2j * np.pi * (np.arange(1 << (m - s)) * (1 << s) / n)).astype(dtype)
    lo.setflags(write=False)
    hi.setflags(write=False)
    return hi, lo, s


@functools.lru_cache(maxsize=64)
def _twiddle_table(m: int, dtype) -> np.ndarray:
    """``exp(-2 pi i k / 2**m)`` for ``k < 2**(m - 1)``."""
    w = np.exp(-2j * np.pi * (np.arange(1 << max(m - 1, 0)) / (1 << m))).astype(dtype)
    w.setflags(write=False)
    return w


def _fft_inplace(a: np.ndarray, axis: int, workers, inverse=False, ortho=False) -> None:
    """FFT (or inverse FFT) of complex ``a`` along ``axis``, written into ``a``; unnormalized
    unless ``ortho``."""
    if inverse:
        r = scipy.fft.ifft(
            a, axis=axis, norm="ortho" if ortho else "forward", overwrite_x=True, workers=workers
        )
    else:
        r = scipy.fft.fft(
            a, axis=axis, norm="ortho" if ortho else "backward", overwrite_x=True, workers=workers
        )
    # scipy hands back a new array object over ``a``'s buffer when it ran in place
    root = a if a.base is None else a.base
    if r is not a and (r.base is not root or r.strides != a.strides):
        np.copyto(a, r)  # it did not run in place


def _fftbr_last(x: np.ndarray, workers, inverse: bool) -> np.ndarray:
    """:func:`fftbr` (or :func:`ifftbr`) along the last axis of a float or complex array."""
    m = _log2_length(x.shape[-1])
    if x.ndim == 1 and m <= _DIRECT_MAX_LOG:
        return _fftbr_short(x, m, workers, inverse)
    return _ifftbr_rows(x, m, workers) if inverse else _fftbr_rows(x, m, workers)


def _fftbr_short(x: np.ndarray, m: int, workers, inverse: bool) -> np.ndarray:
    """A short 1-D transform: NumPy's gather (the least call overhead) and one FFT."""
    perm = _SHORT_PERMS[1 << m] = _bit_reversal_cached(m)
    if inverse:
        return scipy.fft.ifft(x, norm="ortho", workers=workers)[perm]
    return scipy.fft.fft(x[perm], norm="ortho", overwrite_x=True, workers=workers)


def _split(m: int) -> int:
    """log2 of the number of rows a transform of length ``2**m`` is split into."""
    return 0 if m <= _DIRECT_MAX_LOG - 1 else 2 if m < _FOUR_STEP_MIN_LOG else m // 2


def _fftbr_rows(x: np.ndarray, m: int, workers) -> np.ndarray:
    """:func:`fftbr` along the last axis, ``n = 2**m``, with no pass spent on the permutation.

    1. A real input is packed as ``x1 + 1j x2`` (its two halves), a complex one taken as is:
       a complex transform of length ``L`` (``n / 2`` or ``n``).
    2. That transform is split into ``R`` rows of ``C`` (``R = 1``, ``4`` or about
       ``sqrt(L)``, by size), as in the four-step FFT (Bailey, "FFTs in external or
       hierarchical memory", J. Supercomputing 4, 1990): FFTs of the rows, a twiddle factor
       ``w**(r k)``, FFTs of the columns. Reversing the bits of ``j = r C + c`` gives
       ``rev(c) R + rev(r)``, so

           fftbr(v)[k1 C + k0] = sum_r w_R**(r k1) w**(r k0) sum_c w_C**(c k0) v[rev(r) C + rev(c)]

       (``w_L = exp(-2 pi i / L)``): the rows are gathered bit-reversed within the row (in
       cache, fused with the packing), and the row index is reversed where the twiddle step
       reads its rows. With ``R = 4`` the twiddle and the 4-point column transforms are one
       pass (:func:`_radix4_rows`); with about ``sqrt(L)`` rows each short FFT fits in cache,
       where one long FFT streams the whole array through memory at every stage.
    3. A real input's spectrum is untangled from the packed one (:func:`_untangle`).
    """
    n = 1 << m
    batch = x.size // n
    cdtype = complex_dtype(x.dtype)
    y = np.empty((batch, n), dtype=cdtype)
    if batch == 0:
        return y.reshape(x.shape)
    real = x.dtype.kind != "c" and m > 0
    mc = m - 1 if real else m  # the complex transform has length 2**mc
    dest = y[:, : 1 << mc]
    a = _split(mc)
    rows, cols = 1 << a, 1 << (mc - a)
    work = dest.reshape(batch, 1, cols) if a == 0 else _scratch_like((batch, rows, cols), cdtype)
    rev = _bit_reversal_cached(mc - a)
    xs = np.ascontiguousarray(x).reshape(batch, -1, rows, cols)
    if real:
        _pack_rows(xs[:, 0], xs[:, 1], work, rev)
    else:
        _permute_rows(xs[:, 0], work, rev)
    _fft_inplace(work, 2, workers, ortho=a == 0 and not real)
    scale = np.dtype(cdtype).type(1.0 if real else 1.0 / math.sqrt(n)).real
    if a == 2:
        _radix4_rows(work, dest, _twiddle_table(mc, cdtype), scale)
    elif a > 2:
        t = dest.reshape(batch, rows, cols)
        _twiddle_rows(work, t, _bit_reversal_cached(a), *_twiddles(mc, cdtype), scale, False)
        _fft_inplace(t, 1, workers)
    if real:
        _untangle(y, *_twiddles(m, cdtype), 1.0 / math.sqrt(n))
    return y.reshape(x.shape)


def _ifftbr_rows(x: np.ndarray, m: int, workers) -> np.ndarray:
    """:func:`ifftbr` along the last axis: the steps of :func:`_fftbr_rows` for a complex
    input undone in reverse order (column FFTs and twiddles, or their fused radix-4 pass, row FFTs,
    row-local reversal)."""
    n = 1 << m
    batch = x.size // n
    cdtype = complex_dtype(x.dtype)
    a = _split(m)
    rows, cols = 1 << a, 1 << (m - a)
    rev = _bit_reversal_cached(m - a)
    x2 = np.reshape(x, (batch, n))
    if a == 0 or batch == 0:
        y = scipy.fft.ifft(x2, axis=-1, norm="ortho", workers=workers).astype(cdtype, copy=False)
        _permute_rows_inplace(y, rev)
        return y.reshape(x.shape)
    scale = np.dtype(cdtype).type(1.0 / math.sqrt(n)).real
    z = _scratch_like((batch, rows, cols), cdtype)
    y = np.empty((batch, rows, cols), dtype=cdtype)
    if a == 2:
        _unradix4_rows(x2, z, _twiddle_table(m, cdtype), scale)
        _fft_inplace(z, 2, workers, inverse=True)
        _permute_rows(z, y, rev)
    else:
        np.copyto(z, x2.reshape(z.shape))
        _fft_inplace(z, 1, workers, inverse=True)
        _twiddle_rows(z, y, _bit_reversal_cached(a), *_twiddles(m, cdtype), scale, True)
        _fft_inplace(y, 2, workers, inverse=True)
        _permute_rows_inplace(y.reshape(-1, cols), rev)
    return y.reshape(x.shape)


def fftbr(x, axis=-1, *, workers=None):
    """Orthonormal FFT of ``x`` read in bit-reversed order.

    ``fftbr(x) == scipy.fft.fft(x[..., bit_reversal_permutation(m)], norm="ortho")`` for
    ``x.shape[axis] == 2**m``. For a matrix ``K`` that is circulant once its rows and columns are
    put in bit-reversed order (the Gram matrix of a shift-invariant kernel on a rank-1 lattice in
    radical-inverse order), ``K @ y == ifftbr(lam * fftbr(y))`` with
    ``lam = sqrt(n) * fftbr(K[:, 0])``.

    Up to ``2**12`` the input is gathered in bit-reversed order and transformed in one call;
    from ``2**12`` to ``2**15`` it is split into four rows, whose twiddles and 4-point columns
    are one numba pass; from ``2**16`` on, into about ``sqrt(n)`` rows (the four-step FFT), with
    the bit reversal folded into its cache-sized passes (see ``_fftbr_rows``). A real input costs
    about half a complex one.

    Parameters
    ----------
    x : array_like
        Real or complex input; ``x.shape[axis]`` a power of two.
    axis : int, default=-1
        Axis to transform.
    workers : int, optional
        Threads for the FFTs, as in :mod:`scipy.fft`.

    Returns
    -------
    y : ndarray of complex
        complex64 for float32 / complex64 input, complex128 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.fft import fftbr, ifftbr
    >>> x = np.random.default_rng(0).normal(size=8)
    >>> np.allclose(ifftbr(fftbr(x)).real, x)
    True
    """
    if type(x) is np.ndarray and x.ndim == 1:  # the short 1-D case, with the least overhead
        perm = _SHORT_PERMS.get(x.shape[0])
        if (
            perm is not None
            and x.dtype.type in _FFT_DTYPES
            and x.dtype.isnative
            and axis
            in (
                -1,
                0,
            )
        ):
            # scipy.fft.fft(x[perm], n=None, axis=-1, norm="ortho", overwrite_x=True, workers)
            return scipy.fft.fft(x[perm], None, -1, "ortho", True, workers)
    return _fftbr_api(x, axis, workers, inverse=False)


def ifftbr(y, axis=-1, *, workers=None):
    """Inverse of :func:`fftbr`: orthonormal inverse FFT, output in bit-reversed order.

    ``ifftbr(y) == scipy.fft.ifft(y, norm="ortho")[..., bit_reversal_permutation(m)]``.

    Parameters
    ----------
    y : array_like
        Real or complex input; ``y.shape[axis]`` a power of two.
    axis : int, default=-1
        Axis to transform.
    workers : int, optional
        Threads for the FFTs, as in :mod:`scipy.fft`.

    Returns
    -------
    x : ndarray of complex

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.fft import fftbr, ifftbr
    >>> y = np.fft.fft(np.ones(4))
    >>> np.allclose(fftbr(ifftbr(y)), y)
    True
    """
    if type(y) is np.ndarray and y.ndim == 1:  # the short 1-D case, with the least overhead
        perm = _SHORT_PERMS.get(y.shape[0])
        if (
            perm is not None
            and y.dtype.type in _FFT_DTYPES
            and y.dtype.isnative
            and axis
            in (
                -1,
                0,
            )
        ):
            return scipy.fft.ifft(y, None, -1, "ortho", False, workers)[perm]
    return _fftbr_api(y, axis, workers, inverse=True)


def _fftbr_api(x, axis, workers, inverse):
    if type(x) is not np.ndarray or x.dtype.type not in _FFT_DTYPES or not x.dtype.isnative:
        if _is_array_api(x):
            return _fftbr_xp(x, axis, inverse=inverse)
        x = _as_float_array(x)
    axis = _normalize_axis(axis, x.ndim)
    if axis == x.ndim - 1:
        return _fftbr_last(x, workers, inverse)
    y = _fftbr_last(np.moveaxis(x, axis, -1), workers, inverse)
    return np.moveaxis(y, -1, axis)


def fftbr_double(y1, y2, axis=-1):
    """:func:`fftbr` of ``concatenate([x1, x2])`` from ``y1 = fftbr(x1)``, ``y2 = fftbr(x2)``.

    The doubling update of the decimation-in-time FFT:
    ``[y1 + w * y2, y1 - w * y2] / sqrt(2)`` with ``w = exp(-i pi k / n)``, k = 0 .. n-1.
    O(n) work, so a lattice design can grow from n to 2n points without a new transform.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.fft import fftbr, fftbr_double
    >>> x = np.random.default_rng(0).normal(size=16)
    >>> np.allclose(fftbr_double(fftbr(x[:8]), fftbr(x[8:])), fftbr(x))
    True
    """
    return _double(y1, y2, axis, "fft")


def _double(y1, y2, axis, kind):
    if _is_array_api(y1) or _is_array_api(y2):
        return _double_xp(y1, y2, axis, kind)
    y1 = _as_float_array(y1)
    y2 = _as_float_array(y2)
    if y1.shape != y2.shape:
        raise ValueError(f"the two halves must have the same shape, got {y1.shape} and {y2.shape}")
    axis = _normalize_axis(axis, y1.ndim)
    n = y1.shape[axis]
    _log2_length(n, "half length")
    dtype = np.result_type(y1, y2)
    if kind == "fft":
        dtype = complex_dtype(dtype)
        w = np.exp(-1j * np.pi * np.arange(n) / n).astype(dtype)
        shape = [1] * y1.ndim
        shape[axis] = n
        y2 = y2 * w.reshape(shape)
    inv_sqrt2 = np.asarray(1.0 / math.sqrt(2.0), dtype=np.result_type(dtype, np.float32))
    return np.concatenate([(y1 + y2) * inv_sqrt2, (y1 - y2) * inv_sqrt2], axis=axis).astype(
        dtype, copy=False
    )


# --------------------------------------------------------------------------------------------
# Convolution on a grid with a translation-invariant kernel (circulant embedding, real FFTs)
# --------------------------------------------------------------------------------------------


class GridKernel:
    """A translation-invariant kernel on an equispaced 1-D or 2-D grid, ready to convolve.

    Made by :func:`grid_kernel`; holds the real FFT of the kernel's values embedded in a
    circulant of FFT-friendly size (``fft_shape``), so that repeated convolutions on grids of
    the same ``shape`` pay for the kernel once. Attributes: ``shape``, ``spacing``,
    ``fft_shape``, ``ndim``, ``dtype`` and ``spectrum`` (real when the kernel is even).
    """

    __slots__ = ("dtype", "fft_shape", "ndim", "shape", "spacing", "spectrum")

    def __init__(self, shape, spacing, fft_shape, spectrum, dtype):
        self.shape = shape
        self.spacing = spacing
        self.fft_shape = fft_shape
        self.ndim = len(shape)
        self.spectrum = spectrum
        self.dtype = dtype

    def __repr__(self) -> str:
        return (
            f"GridKernel(shape={self.shape}, spacing={self.spacing}, fft_shape={self.fft_shape}, "
            f"dtype={np.dtype(self.dtype).name})"
        )


def _grid_shape(shape) -> tuple:
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    if len(shape) not in (1, 2):
        raise ValueError(f"grids are 1-D or 2-D, got shape {shape}")
    out = []
    for n in shape:
        if int(n) != n or n < 1:
            raise ValueError(f"grid sizes must be positive integers, got shape {shape}")
        out.append(int(n))
    return tuple(out)


def _grid_spacing(spacing, ndim: int) -> tuple:
    h = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (ndim,))
    if not (np.all(np.isfinite(h)) and np.all(h > 0)):
        raise ValueError(f"spacing must be positive and finite, got {spacing!r}")
    return tuple(float(v) for v in h)


def grid_kernel(kernel, shape, spacing=1.0, *, dtype=np.float64):
    """Precompute a translation-invariant kernel for :func:`convolve_grid` on grids of ``shape``.

    Parameters
    ----------
    kernel : callable
        ``kernel(*offsets)`` with one float64 array of offsets per grid axis (broadcast against
        each other), returning the kernel's values there, e.g. ``lambda dx, dy: 1 / (1 + dx**2 +
        dy**2)``. It is evaluated at the offsets ``(i - j) * spacing`` that a grid of ``shape``
        has, once.
    shape : int or tuple of one or two ints
        Number of grid points per axis.
    spacing : float or tuple of floats, default=1.0
        Distance between neighbouring grid points, per axis.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Precision of the convolutions that will use it.

    Returns
    -------
    GridKernel
        The kernel's spectrum on a circulant of ``next_fast_len(2 n - 1)`` points per axis.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.fft import convolve_grid, grid_kernel
    >>> k = grid_kernel(lambda d: np.exp(-d**2), 4, spacing=0.5)
    >>> k.shape, k.fft_shape
    ((4,), (8,))
    >>> out = convolve_grid(np.array([1.0, 0, 0, 0]), k)
    >>> np.allclose(out, np.exp(-(0.5 * np.arange(4)) ** 2))
    True
    """
    shape = _grid_shape(shape)
    h = _grid_spacing(spacing, len(shape))
    dtype = float_dtype(dtype)
    fft_shape = tuple(scipy.fft.next_fast_len(2 * n - 1, real=True) for n in shape)
    offsets, valid = [], []
    for a, (n, m) in enumerate(zip(shape, fft_shape, strict=True)):
        t = np.arange(m)
        o = np.where(t < n, t, t - m).astype(np.float64) * h[a]
        idx = [None] * len(shape)
        idx[a] = slice(None)
        offsets.append(o[tuple(idx)])
        valid.append(((t < n) | (t > m - n))[tuple(idx)])
    c = np.asarray(kernel(*offsets), dtype=np.float64)
    c = np.broadcast_to(c, fft_shape)
    mask = valid[0] if len(valid) == 1 else valid[0] & valid[1]
    c = np.where(mask, c, 0.0)  # positions no pair of grid points reaches
    if not np.all(np.isfinite(c)):
        raise ValueError("the kernel is not finite at some grid offset")
    spectrum = scipy.fft.rfftn(c)
    scale = max(float(np.max(np.abs(spectrum))), np.finfo(np.float64).tiny)
    if float(np.max(np.abs(spectrum.imag))) <= 64 * np.finfo(np.float64).eps * scale:
        spectrum = spectrum.real  # an even kernel: its spectrum is real
    spectrum = spectrum.astype(dtype if spectrum.dtype.kind == "f" else complex_dtype(dtype))
    spectrum.setflags(write=False)
    return GridKernel(shape, h, fft_shape, spectrum, dtype)


def convolve_grid(values, kernel, *, spacing=1.0, ndim=None, workers=None):
    """Aperiodic convolution of values on an equispaced grid with a translation-invariant kernel.

    ``out[..., i] = sum_j k((i - j) * spacing) * values[..., j]`` over the last one or two
    axes (``i``, ``j`` grid indices), in O(n log n) per grid: the kernel is embedded in a
    circulant of FFT-friendly size and applied with real FFTs (:mod:`scipy.fft`). Leading axes
    are independent grids (several charge vectors at once).

    Parameters
    ----------
    values : array_like of shape (..., n1) or (..., n1, n2)
        Values on the grid. float32 is kept; other dtypes are computed in float64.
    kernel : GridKernel or callable
        A :func:`grid_kernel` of the grid's shape (reused across calls), or a callable as
        :func:`grid_kernel` takes.
    spacing : float or tuple of floats, default=1.0
        Grid spacing, when ``kernel`` is a callable.
    ndim : {1, 2}, optional
        Number of trailing grid axes, when ``kernel`` is a callable (default 1).
    workers : int, optional
        Threads of the FFTs, as in :mod:`scipy.fft`.

    Returns
    -------
    out : ndarray
        The convolution, of the shape of ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.fft import convolve_grid
    >>> v = np.zeros((3, 3)); v[1, 1] = 1.0
    >>> out = convolve_grid(v, lambda dx, dy: 1 / (1 + dx**2 + dy**2), ndim=2)
    >>> np.allclose(out, 1 / (1 + (np.arange(3)[:, None] - 1) ** 2 + (np.arange(3) - 1) ** 2))
    True
    """
    if _is_array_api(values):
        return _convolve_grid_xp(values, kernel, spacing, ndim)
    v = np.asarray(values)
    if v.dtype.kind not in "biuf":
        raise TypeError(f"values must be real numbers, got dtype {v.dtype}")
    v = v.astype(float_dtype(v.dtype), copy=False)
    k = _as_grid_kernel(kernel, v, spacing, ndim)
    axes = tuple(range(v.ndim - k.ndim, v.ndim))
    spectrum = k.spectrum
    if spectrum.dtype.kind == "f" and spectrum.dtype != v.dtype:
        spectrum = spectrum.astype(v.dtype)
    elif spectrum.dtype.kind == "c" and spectrum.dtype != complex_dtype(v.dtype):
        spectrum = spectrum.astype(complex_dtype(v.dtype))
    if k.ndim == 2:
        # the 2-D transform axis by axis, pruned: the rows of the padding are zero, so the
        # forward row transforms run on the grid's rows only, and the inverse row transforms on
        # the rows that are kept (half the padded rows each way; with scipy.fft's own handling
        # of the padding avoided, about half the time of rfftn/irfftn at 500 x 500 nodes)
        (n1, n2), (m1, m2) = k.shape, k.fft_shape
        f = scipy.fft.rfft(v, n=m2, axis=-1, workers=workers)
        f = scipy.fft.fft(f, n=m1, axis=-2, workers=workers, overwrite_x=True)
        f *= spectrum
        f = scipy.fft.ifft(f, axis=-2, workers=workers, overwrite_x=True)[..., :n1, :]
        out = scipy.fft.irfft(f, n=m2, axis=-1, workers=workers)
        return np.ascontiguousarray(out[..., :n2])
    f = scipy.fft.rfftn(v, s=k.fft_shape, axes=axes, workers=workers)
    f *= spectrum
    out = scipy.fft.irfftn(f, s=k.fft_shape, axes=axes, workers=workers, overwrite_x=True)
    keep = (Ellipsis, *(slice(0, n) for n in k.shape))
    return np.ascontiguousarray(out[keep])


def _as_grid_kernel(kernel, v, spacing, ndim) -> GridKernel:
    if isinstance(kernel, GridKernel):
        if ndim is not None and ndim != kernel.ndim:
            raise ValueError(f"ndim={ndim} does not match the {kernel.ndim}-D grid kernel")
        if v.ndim < kernel.ndim or tuple(v.shape[v.ndim - kernel.ndim :]) != kernel.shape:
            raise ValueError(
                f"values of shape {v.shape} do not end in the grid kernel's shape {kernel.shape}"
            )
        return kernel
    if not callable(kernel):
        raise TypeError("kernel must be a GridKernel (from grid_kernel) or a callable")
    ndim = 1 if ndim is None else ndim
    if ndim not in (1, 2) or v.ndim < ndim:
        raise ValueError(f"ndim must be 1 or 2 and at most values.ndim, got {ndim}")
    return grid_kernel(kernel, v.shape[v.ndim - ndim :], spacing, dtype=v.dtype)


def _convolve_grid_xp(values, kernel, spacing, ndim):
    from ._backend import array_namespace

    xp = array_namespace(values)
    if not xp.isdtype(values.dtype, "real floating"):
        values = xp.astype(values, xp.float64)
    dtype = np.float32 if values.dtype == xp.float32 else np.float64
    probe = np.empty(values.shape, dtype=dtype)  # shape checks and the kernel, on the host
    k = _as_grid_kernel(kernel, probe, spacing, ndim)
    axes = tuple(range(values.ndim - k.ndim, values.ndim))
    sdt = dtype if k.spectrum.dtype.kind == "f" else complex_dtype(dtype)
    spectrum = xp.asarray(k.spectrum.astype(sdt), device=values.device)
    f = xp.fft.rfftn(values, s=k.fft_shape, axes=axes) * spectrum
    out = xp.fft.irfftn(f, s=k.fft_shape, axes=axes)
    keep = (Ellipsis, *(slice(0, n) for n in k.shape))
    return out[keep]


# --------------------------------------------------------------------------------------------
# Array API path (CuPy on a GPU, or any other Array API library): the same transforms written
# with whole-array operations of the input's own namespace, so data stays on its device.
# --------------------------------------------------------------------------------------------


def _is_array_api(x) -> bool:
    """True for an array of another Array API library (CuPy, PyTorch, array-api-strict...)."""
    if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float, complex)):
        return False
    if hasattr(x, "__array_namespace__"):
        return True
    module = type(x).__module__
    return module.startswith(("torch", "cupy", "jax"))


def _xp_float(x):
    from ._backend import array_namespace

    xp = array_namespace(x)
    if xp.isdtype(x.dtype, ("real floating", "complex floating")):
        return xp, x
    if xp.isdtype(x.dtype, ("integral", "bool")):
        return xp, xp.astype(x, xp.float64)
    raise TypeError(f"expected a numeric array, got dtype {x.dtype}")


def _fwht_xp(x, axis, norm):
    xp, x = _xp_float(x)
    axis = _normalize_axis(axis, x.ndim)
    x = xp.moveaxis(x, axis, -1)
    batch, n = tuple(x.shape[:-1]), x.shape[-1]
    _log2_length(n)
    h = 1
    while h < n:
        # butterflies of span h: pairs (j, j + h) inside each group of 2h
        v = xp.reshape(x, (*batch, n // (2 * h), 2, h))
        a, b = v[..., 0, :], v[..., 1, :]
        x = xp.reshape(xp.stack([a + b, a - b], axis=-2), (*batch, n))
        h *= 2
    scale = _fwht_scale(n, norm)
    if scale != 1.0:
        x = x * scale
    return xp.moveaxis(x, -1, axis)


def _xp_complex(xp, x):
    if xp.isdtype(x.dtype, "complex floating"):
        return x
    return xp.astype(x, xp.complex64 if x.dtype == xp.float32 else xp.complex128)


def _fftbr_xp(x, axis, inverse):
    xp, x = _xp_float(x)
    axis = _normalize_axis(axis, x.ndim)
    m = _log2_length(x.shape[axis])
    idx = xp.asarray(bit_reversal_permutation(m), device=x.device)
    x = _xp_complex(xp, x)
    if inverse:
        return xp.take(xp.fft.ifft(x, axis=axis, norm="ortho"), idx, axis=axis)
    return xp.fft.fft(xp.take(x, idx, axis=axis), axis=axis, norm="ortho")


def _double_xp(y1, y2, axis, kind):
    xp, y1 = _xp_float(y1)
    _, y2 = _xp_float(y2)
    if tuple(y1.shape) != tuple(y2.shape):
        raise ValueError(
            f"the two halves must have the same shape, got {tuple(y1.shape)} and {tuple(y2.shape)}"
        )
    axis = _normalize_axis(axis, y1.ndim)
    n = y1.shape[axis]
    _log2_length(n, "half length")
    if kind == "fft":
        y1, y2 = _xp_complex(xp, y1), _xp_complex(xp, y2)
        k = xp.arange(n, dtype=xp.float64, device=y1.device)
        w = xp.astype(xp.exp(xp.astype(-1j * math.pi * k / n, xp.complex128)), y1.dtype)
        shape = [1] * y1.ndim
        shape[axis] = n
        y2 = y2 * xp.reshape(w, tuple(shape))
    c = 1.0 / math.sqrt(2.0)
    return xp.concat([(y1 + y2) * c, (y1 - y2) * c], axis=axis)


def _dct_xp(x, inverse=False):
    """Orthonormal DCT-II (``inverse``: its inverse, the orthonormal DCT-III) along the last
    axis of an Array API array, through one complex FFT of the input's namespace (Makhoul,
    "A fast cosine transform in one and two dimensions", IEEE Trans. ASSP 28 (1980))."""
    xp, x = _xp_float(x)
    n = x.shape[-1]
    dev = x.device
    real = x.dtype
    k = xp.arange(n, dtype=xp.float64, device=dev)
    scale = xp.full((n,), math.sqrt(2.0 / n), dtype=xp.float64, device=dev)
    scale = xp.where(k == 0, math.sqrt(1.0 / n), scale)
    twiddle = xp.exp(xp.astype(-1j * math.pi * k / (2 * n), xp.complex128))
    cdt = xp.complex64 if real == xp.float32 else xp.complex128
    half = (n + 1) // 2
    if not inverse:
        v = xp.concat([x[..., 0::2], xp.flip(x[..., 1::2], axis=-1)], axis=-1)
        y = xp.real(xp.fft.fft(xp.astype(v, cdt), axis=-1) * xp.astype(twiddle, cdt))
        return y * xp.astype(scale, real)
    y = x / xp.astype(scale, real)  # Re(w_k V_k), half the unnormalized coefficients
    zero = xp.zeros((*y.shape[:-1], 1), dtype=real, device=dev)
    mirrored = xp.concat([zero, xp.flip(y[..., 1:], axis=-1)], axis=-1)  # y_{N-k}, y_N = 0
    u = xp.astype(y, cdt) - 1j * xp.astype(mirrored, cdt)  # w_k V_k
    v = xp.real(xp.fft.ifft(u * xp.astype(xp.conj(twiddle), cdt), axis=-1))
    even, odd = v[..., :half], xp.flip(v[..., half:], axis=-1)
    if n % 2:
        odd = xp.concat([odd, zero], axis=-1)
    out = xp.reshape(xp.stack([even, odd], axis=-1), (*v.shape[:-1], 2 * half))
    return out[..., :n]
