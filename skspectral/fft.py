"""Fast transforms shared by every skspectral estimator.

* :func:`fwht` / :func:`fwht_inplace`: the fast Walsh-Hadamard transform (Sylvester / natural
  order, the order of :func:`scipy.linalg.hadamard`), numba-compiled, cache-blocked.
* :func:`bit_reversal_permutation`, :func:`fftbr` / :func:`ifftbr`: the FFT in bit-reversed order
  of Rathinavel and Hickernell, used for shift-invariant kernels on rank-1 lattices in
  radical-inverse order. With orthonormal scaling, a circulant-in-bit-reversed-order matrix ``K``
  acts as ``K @ y == ifftbr(lam * fftbr(y))`` with ``lam = sqrt(n) * fftbr(K[:, 0])``.
* :func:`fftbr_double` / :func:`fwht_double`: the doubling ("butterfly") update, the transform of
  ``2n`` values from the transforms of its two halves in O(n), which lets a design grow from ``n``
  to ``2n`` points without redoing the transform.

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
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np
import scipy.fft
from numba import njit, prange

from ._backend import complex_dtype, effective_n_jobs, float_dtype, numba_threads

__all__ = [
    "bit_reversal_permutation",
    "fftbr",
    "fftbr_double",
    "fwht",
    "fwht_double",
    "fwht_inplace",
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


@njit(cache=True, nogil=True, inline="always")
def _bit_reverse_tile(x, out, rev_q, rev_mid, src_hi, q, shift_hi, t):
    """Task ``t`` of ``out[r, i] = x[r, bitrev(i)]`` (C-contiguous 2-D, ``2**m`` columns).

    Cache-blocked (Carter and Gatlin, "Towards an optimal bit-reversal permutation program",
    FOCS 1998): index ``i`` is split into high, middle and low fields of ``q``, ``m - 2q`` and
    ``q`` bits; reversal maps ``(a, b, c)`` to ``(rev c, rev b, rev a)``, so for a fixed middle
    field ``b`` (task ``t`` = row and ``b``) a ``2**q x 2**q`` tile of reads and writes stays in
    L1 cache. ``rev_q`` and ``rev_mid`` are the bit-reversal tables on ``q`` and ``m - 2q`` bits,
    ``shift_hi = m - q`` and ``src_hi = rev_q << shift_hi``.
    """
    nq = rev_q.shape[0]
    nmid = rev_mid.shape[0]
    r = t // nmid
    b = t % nmid
    xr = x[r]
    orow = out[r]
    rb = rev_mid[b] << q
    bq = b << q
    for a in range(nq):
        src_lo = rb | rev_q[a]
        dst = (a << shift_hi) | bq
        tile_row = orow[dst : dst + nq]
        for c in range(nq):
            tile_row[c] = xr[src_hi[c] | src_lo]


@njit(cache=True, nogil=True)
def _bit_reverse_rows_serial(x, out, rev_q, rev_mid, src_hi, q, shift_hi):
    """Bit-reversal permutation of every row, on the calling thread (see _bit_reverse_tile)."""
    for t in range(x.shape[0] * rev_mid.shape[0]):
        _bit_reverse_tile(x, out, rev_q, rev_mid, src_hi, q, shift_hi, t)


@njit(cache=True, nogil=True, parallel=True)
def _bit_reverse_rows_kernel(x, out, rev_q, rev_mid, src_hi, q, shift_hi):
    """Bit-reversal permutation of every row, tiles in parallel (see _bit_reverse_tile)."""
    for t in prange(x.shape[0] * rev_mid.shape[0]):
        _bit_reverse_tile(x, out, rev_q, rev_mid, src_hi, q, shift_hi, t)


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
    x = np.asarray(x)
    if x.dtype.kind == "c":
        return x if x.dtype in (np.complex64, np.complex128) else x.astype(np.complex128)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"expected a numeric array, got dtype {x.dtype}")
    return x if x.dtype in (np.float32, np.float64) else x.astype(float_dtype(x.dtype))


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
    with numba_threads(workers) as n_threads:
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
# Inputs up to this size get their bit-reversed copy in a per-thread buffer that is reused from
# call to call: a fresh buffer costs a page fault per 4 KiB, as much as the permutation itself.
_SCRATCH_MAX_BYTES = 1 << 26


def _scratch_like(a: np.ndarray) -> np.ndarray:
    """A per-thread reusable scratch array of ``a``'s shape and dtype (fresh above 64 MiB).

    Valid until the next call on the same thread: only for temporaries that do not escape.
    """
    if a.nbytes > _SCRATCH_MAX_BYTES:
        return np.empty_like(a)
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.nbytes < a.nbytes:
        buf = _scratch.buf = np.empty(a.nbytes, dtype=np.uint8)
    return buf[: a.nbytes].view(a.dtype).reshape(a.shape)


def _permute_last(x2d: np.ndarray, workers, out=None) -> np.ndarray:
    """``x2d[:, bit_reversal_permutation(m)]``, written into ``out`` (a new array if None)."""
    m = _log2_length(x2d.shape[1])
    # tile side 2**q = 8: measured best on x86-64 for 2**16 ... 2**22 (power-of-two strides make
    # larger tiles collide in cache)
    q = min(m // 2, 3)
    if out is None:
        out = np.empty_like(x2d)
    rev_q = bit_reversal_permutation(q)
    args = (x2d, out, rev_q, bit_reversal_permutation(m - 2 * q), rev_q << (m - q), q, m - q)
    if x2d.size <= _SERIAL_SIZE or effective_n_jobs(workers) == 1:
        _bit_reverse_rows_serial(*args)
    else:
        with numba_threads(workers):
            _bit_reverse_rows_kernel(*args)
    return out


def fftbr(x, axis=-1, *, workers=None):
    """Orthonormal FFT of ``x`` read in bit-reversed order.

    ``fftbr(x) == scipy.fft.fft(x[..., bit_reversal_permutation(m)], norm="ortho")`` for
    ``x.shape[axis] == 2**m``. For a matrix ``K`` that is circulant once its rows and columns are
    put in bit-reversed order (the Gram matrix of a shift-invariant kernel on a rank-1 lattice in
    radical-inverse order), ``K @ y == ifftbr(lam * fftbr(y))`` with
    ``lam = sqrt(n) * fftbr(K[:, 0])``.

    Parameters
    ----------
    x : array_like
        Real or complex input; ``x.shape[axis]`` a power of two.
    axis : int, default=-1
        Axis to transform.
    workers : int, optional
        Threads to use, as in :mod:`scipy.fft`.

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
    if _is_array_api(x):
        return _fftbr_xp(x, axis, inverse=False)
    x = _as_float_array(x)
    x2d, moved_shape, axis = _rows_view(x, axis)
    xr = _permute_last(x2d, workers, out=_scratch_like(x2d))
    y = scipy.fft.fft(xr, axis=-1, norm="ortho", workers=workers)
    y = y.astype(complex_dtype(x.dtype), copy=False)
    return _from_rows(y, moved_shape, axis)


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
        Threads to use, as in :mod:`scipy.fft`.

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
    if _is_array_api(y):
        return _fftbr_xp(y, axis, inverse=True)
    y = _as_float_array(y)
    y2d, moved_shape, axis = _rows_view(y, axis)
    z = scipy.fft.ifft(y2d, axis=-1, norm="ortho", workers=workers)
    z = _permute_last(z.astype(complex_dtype(y.dtype), copy=False), workers)
    return _from_rows(z, moved_shape, axis)


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
# Array API path (CuPy on a GPU, or any other Array API library): the same transforms written
# with whole-array operations of the input's own namespace, so data stays on its device.
# --------------------------------------------------------------------------------------------


def _is_array_api(x) -> bool:
    return not isinstance(
        x, (np.ndarray, np.generic, list, tuple, int, float, complex)
    ) and hasattr(x, "__array_namespace__")


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
