"""Numba kernels of the random Fourier feature maps and of their quantizers (plain arrays).

* A cosine / sine evaluated in registers: Cody-Waite reduction by pi/2 in three parts and
  Taylor polynomials on [-pi/4, pi/4], written so that LLVM vectorizes the loop (float64: error
  about 1 ulp for |t| < 2**19; float32: about 1e-6 for |t| < 8192). A row with a larger argument
  is recomputed with ``math.cos`` in float64, so no argument loses accuracy silently.
* :func:`cos_rows` / :func:`cossin_rows`: the features ``scale * cos(t + b)`` (or the pair cos,
  sin) of a block of projections ``t = X @ W``, written in place while the block is in cache: no
  second pass over a large temporary.
* :func:`sorf_rows`: structured features ``cos(s * (H D1 H D2 H D3 x) + b)``, ``H`` the
  Walsh-Hadamard transform (:func:`skspectral.fft.fwht_row`), one row per thread.
* :func:`quantize_rows`: Sigma-Delta (orders 1 and 2), distributed noise shaping, memoryless
  and stochastic rounding of features in [-1, 1], block by block, with the condensation
  ``V`` applied on the fly.

Compiled lazily (first use), each kernel twice (serial and parallel) through
:func:`skspectral._backend.threaded_kernel`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from .._backend import threaded_kernel
from ..fft import fwht_row

_F64 = np.float64
_F32 = np.float32

# pi/2 split in three parts (fdlibm's medium-range constants for float64; short float32 parts)
_P64 = (
    _F64(1.57079632673412561417e00),
    _F64(6.07710050630396597660e-11),
    _F64(2.02226624871116645580e-21),
)
_P32 = (_F32(1.5703125), _F32(4.837512969970703125e-4), _F32(7.54978995489188216e-8))
_LIM64 = _F64(2.0**19)
_LIM32 = _F32(8192.0)
_C64 = tuple(_F64((-1) ** k / math.factorial(2 * k)) for k in range(1, 9))
_S64 = tuple(_F64((-1) ** k / math.factorial(2 * k + 1)) for k in range(1, 9))
_C32 = tuple(_F32((-1) ** k / math.factorial(2 * k)) for k in range(1, 6))
_S32 = tuple(_F32((-1) ** k / math.factorial(2 * k + 1)) for k in range(1, 6))
_TWO_OVER_PI64 = _F64(2.0 / math.pi)
_TWO_OVER_PI32 = _F32(2.0 / math.pi)
_HALF64, _ONE64 = _F64(0.5), _F64(1.0)
_HALF32, _ONE32 = _F32(0.5), _F32(1.0)


@njit(cache=True, nogil=True, inline="always", fastmath={"contract"})
def _csk64(t):
    """(cos r, sin r, k) with t = k pi/2 + r, |r| <= pi/4 (float64)."""
    k = np.floor(t * _TWO_OVER_PI64 + _HALF64)
    r = ((t - k * _P64[0]) - k * _P64[1]) - k * _P64[2]
    z = r * r
    c = _ONE64 + z * (
        _C64[0]
        + z
        * (
            _C64[1]
            + z
            * (
                _C64[2]
                + z * (_C64[3] + z * (_C64[4] + z * (_C64[5] + z * (_C64[6] + z * _C64[7]))))
            )
        )
    )
    s = r + r * z * (
        _S64[0]
        + z
        * (
            _S64[1]
            + z
            * (
                _S64[2]
                + z * (_S64[3] + z * (_S64[4] + z * (_S64[5] + z * (_S64[6] + z * _S64[7]))))
            )
        )
    )
    return c, s, np.int64(k)


@njit(cache=True, nogil=True, inline="always", fastmath={"contract"})
def _csk32(t):
    """(cos r, sin r, k) with t = k pi/2 + r, |r| <= pi/4 (float32)."""
    k = np.floor(t * _TWO_OVER_PI32 + _HALF32)
    r = ((t - k * _P32[0]) - k * _P32[1]) - k * _P32[2]
    z = r * r
    c = _ONE32 + z * (_C32[0] + z * (_C32[1] + z * (_C32[2] + z * (_C32[3] + z * _C32[4]))))
    s = r + r * z * (_S32[0] + z * (_S32[1] + z * (_S32[2] + z * (_S32[3] + z * _S32[4]))))
    return c, s, np.int64(k)


# cos alone in float32: reduction by pi (the parts of pi/2 doubled, still exact products for
# |k| < 2**16) and one even Taylor polynomial of degree 14 on [-pi/2, pi/2] (truncation
# 6e-9); the sign (-1)**k in float arithmetic, so every step runs in 8-wide float32 lanes
_PI32 = tuple(_F32(2 * p) for p in _P32)
_ONE_OVER_PI32 = _F32(1.0 / math.pi)
_TWO32 = _F32(2.0)
_CC32 = tuple(_F32((-1) ** k / math.factorial(2 * k)) for k in range(1, 8))


@njit(cache=True, nogil=True, inline="always", fastmath={"contract"})
def _cos_pi32(t):
    """cos(t) in float32 for |t| < 8192 (absolute error about 1e-7)."""
    k = np.floor(t * _ONE_OVER_PI32 + _HALF32)
    r = ((t - k * _PI32[0]) - k * _PI32[1]) - k * _PI32[2]
    z = r * r
    c = _ONE32 + z * (
        _CC32[0]
        + z
        * (
            _CC32[1]
            + z * (_CC32[2] + z * (_CC32[3] + z * (_CC32[4] + z * (_CC32[5] + z * _CC32[6]))))
        )
    )
    # (-1)**k = 1 - 2 (k mod 2)
    odd = k - _TWO32 * np.floor(k * _HALF32)
    return c - _TWO32 * odd * c


def _cos1(t):  # pragma: no cover - replaced by the overload below inside numba
    """cos(t) in t's precision (in registers)."""


@njit(cache=True, nogil=True, inline="always")
def _quadrant_cos(c, s, k):
    q = k & 3
    v = s if (q & 1) else c
    return -v if ((q + 1) & 2) else v


@njit(cache=True, nogil=True, inline="always")
def _quadrant_sin(c, s, k):
    # sin(k pi/2 + r) = cos((k - 1) pi/2 + r)
    return _quadrant_cos(c, s, k - 1)


def _csk(t):  # pragma: no cover - replaced by the overload below inside numba
    """(cos r, sin r, k) with t = k pi/2 + r, in t's precision."""


def _lim(t):  # pragma: no cover
    """Largest argument the in-register reduction handles in t's precision."""


@overload(_csk, inline="always")
def _csk_impl(t):
    if t == types.float32:
        return lambda t: _csk32(t)
    return lambda t: _csk64(t)


@overload(_cos1, inline="always")
def _cos1_impl(t):
    if t == types.float32:
        return lambda t: _cos_pi32(t)

    def f(t):
        c, s, k = _csk64(t)
        return _quadrant_cos(c, s, k)

    return f


@overload(_lim, inline="always")
def _lim_impl(t):
    if t == types.float32:
        return lambda t: _LIM32
    return lambda t: _LIM64


@njit(cache=True, nogil=True)
def _cos_row(t, b, scale, out):
    """``out[j] = scale * cos(t[j] + b[j])``; returns False where an argument is not finite."""
    big = False
    for j in range(t.shape[0]):
        a = t[j] + b[j]
        big |= not (abs(a) <= _lim(a))
        out[j] = _cos1(a) * scale
    if big:
        ok = True
        for j in range(t.shape[0]):
            a = np.float64(t[j]) + np.float64(b[j])
            ok &= np.isfinite(a)
            out[j] = math.cos(a) * scale
        return ok
    return True


@njit(cache=True, nogil=True)
def _cos_row_inplace(t, b, scale):
    """``t[j] = scale * cos(t[j] + b[j])`` in place; False where an argument is not finite.

    A separate first pass looks for large arguments: written in place, the vectorized loop
    reads and writes one array only (an output that aliases the input would make LLVM's
    runtime alias check fail and fall back to scalar code)."""
    big = False
    for j in range(t.shape[0]):
        a = t[j] + b[j]
        big |= not (abs(a) <= _lim(a))
    if big:
        ok = True
        for j in range(t.shape[0]):
            a = np.float64(t[j]) + np.float64(b[j])
            ok &= np.isfinite(a)
            t[j] = math.cos(a) * scale
        return ok
    for j in range(t.shape[0]):
        t[j] = _cos1(t[j] + b[j]) * scale
    return True


@njit(cache=True, nogil=True)
def _cossin_row(t, scale, out):
    """``out[:m] = scale * cos(t)``, ``out[m:] = scale * sin(t)``; False if t is not finite."""
    m = t.shape[0]
    big = False
    for j in range(m):
        a = t[j]
        big |= not (abs(a) <= _lim(a))
        c, s, k = _csk(a)
        out[j] = _quadrant_cos(c, s, k) * scale
        out[m + j] = _quadrant_sin(c, s, k) * scale
    if big:
        ok = True
        for j in range(m):
            a = np.float64(t[j])
            ok &= np.isfinite(a)
            out[j] = math.cos(a) * scale
            out[m + j] = math.sin(a) * scale
        return ok
    return True


@threaded_kernel()
def cos_rows(T, b, scale, out):
    """``out[i, j] = scale * cos(T[i, j] + b[j])`` (``out`` a separate array: see
    :func:`cos_rows_inplace`); returns the number of rows with a non-finite argument."""
    bad = 0
    for i in prange(T.shape[0]):
        if not _cos_row(T[i], b, scale, out[i]):
            bad += 1
    return bad


@threaded_kernel()
def cos_rows_inplace(T, b, scale):
    """``T[i, j] = scale * cos(T[i, j] + b[j])`` in place; returns the number of rows with a
    non-finite argument."""
    bad = 0
    for i in prange(T.shape[0]):
        if not _cos_row_inplace(T[i], b, scale):
            bad += 1
    return bad


@threaded_kernel()
def cossin_rows(T, scale, out):
    """``out[i] = scale * [cos(T[i]), sin(T[i])]``; returns the number of non-finite rows."""
    bad = 0
    for i in prange(T.shape[0]):
        if not _cossin_row(T[i], scale, out[i]):
            bad += 1
    return bad


@njit(cache=True, nogil=True)
def _sorf_block(xr, signs, blk, buf):
    """``buf = H D1 H D2 H D3 x`` (unnormalized ``H``) for block ``blk``."""
    d = xr.shape[0]
    p = buf.shape[0]
    s3 = signs[2, blk]
    for j in range(d):
        buf[j] = xr[j] * s3[j]
    for j in range(d, p):
        buf[j] = 0
    fwht_row(buf, 1.0)
    s2 = signs[1, blk]
    for j in range(p):
        buf[j] *= s2[j]
    fwht_row(buf, 1.0)
    s1 = signs[0, blk]
    for j in range(p):
        buf[j] *= s1[j]
    fwht_row(buf, 1.0)


@threaded_kernel()
def sorf_rows(X, signs, radial, b, scale, mode, out):
    """Structured features of the rows of ``X``.

    ``t = radial * (H D1 H D2 H D3 x)`` per block of ``p`` frequencies (``radial`` carries the
    ``p**-1.5`` of the three unnormalized transforms); ``mode`` 0: ``out = t`` (the bare
    projection), 1: ``scale * cos(t + b)``, 2: ``scale * [cos t, sin t]``. Returns the number
    of rows with a non-finite argument.
    """
    n = X.shape[0]
    nb = signs.shape[1]
    p = signs.shape[2]
    m = radial.shape[0]
    bad = 0
    for i in prange(n):
        buf = np.empty(p, dtype=X.dtype)
        t = np.empty(m, dtype=X.dtype)
        xr = X[i]
        for blk in range(nb):
            _sorf_block(xr, signs, blk, buf)
            lo = blk * p
            hi = min(m, lo + p)
            for j in range(lo, hi):
                t[j] = buf[j - lo] * radial[j]
        if mode == 0:
            out[i, :] = t
        elif mode == 1:
            if not _cos_row(t, b, scale, out[i]):
                bad += 1
        else:
            if not _cossin_row(t, scale, out[i]):
                bad += 1
    return bad


# ---------------------------------------------------------------------------- quantizers
# scheme codes (see _quantized.py): 0 memoryless (MSQ), 1 Sigma-Delta order 1 (greedy),
# 2 Sigma-Delta order 2 (greedy), 3 Sigma-Delta order 2, 1 bit (the stable rule),
# 4 distributed noise shaping (beta), 5 stochastic rounding


@njit(cache=True, nogil=True, inline="always")
def _level(w, K, inv_delta):
    """Index in [0, 2K) of the nearest level ``(i - K + 1/2) delta`` of the mid-rise alphabet
    (``inv_delta = 1 / delta``)."""
    i = np.int64(np.floor(w * inv_delta)) + K
    if i < 0:
        i = 0
    elif i > 2 * K - 1:
        i = 2 * K - 1
    return i


@njit(cache=True, nogil=True, inline="always")
def _mix64(z):
    """splitmix64 finalizer (a counter-based hash) on uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def _row_key(y, seed):
    """A hash of the row's values and the seed: the stochastic dither depends on the row only,
    so a row is rounded alike in any batch."""
    h = np.uint64(seed)
    for j in range(y.shape[0]):
        v = np.float64(y[j])
        h = _mix64(h ^ np.uint64(np.int64(v * 4503599627370496.0)) + np.uint64(j))
    return h


@njit(cache=True, nogil=True)
def _quantize_row(y, scheme, K, delta, beta, lam, v, c, seed, out, codes, write_codes):
    """Quantize one row ``y`` (values in [-1, 1]) block by block (the state restarts in each
    block of ``lam``); ``out[j] = c * sum_l v[l] q[j lam + l]``. Returns max |state|.

    The ``p`` blocks run in lockstep (step ``l`` of every block, then step ``l + 1``): their
    recursions are independent, so the inner loop over blocks has no carried dependency."""
    m = y.shape[0]
    p = m // lam
    u1 = np.zeros(p)
    u2 = np.zeros(p)
    acc = np.zeros(p)
    umax = np.zeros(p)
    key = np.uint64(0)
    if scheme == 5:
        key = _row_key(y, seed)
    half = 0.5 * delta
    inv = 1.0 / delta
    for l in range(lam):
        vl = v[l]
        if scheme == 0:
            for blk in range(p):
                j = blk * lam + l
                i = _level(np.float64(y[j]), K, inv)
                if write_codes:
                    codes[j] = i
                acc[blk] += vl * ((i - K) * delta + half)
        elif scheme == 1:
            for blk in range(p):
                j = blk * lam + l
                w = u1[blk] + np.float64(y[j])
                i = _level(w, K, inv)
                u = w - ((i - K) * delta + half)
                u1[blk] = u
                umax[blk] = max(umax[blk], abs(u))
                if write_codes:
                    codes[j] = i
                acc[blk] += vl * (w - u)
        elif scheme == 2 or scheme == 3:
            for blk in range(p):
                j = blk * lam + l
                a, b = u1[blk], u2[blk]
                w = 2.0 * a - b + np.float64(y[j])
                if scheme == 2:
                    i = _level(w, K, inv)
                else:
                    i = 1 if a + 0.5 * (np.float64(y[j]) - b) >= 0 else 0
                q = (i - K) * delta + half
                u = w - q
                u2[blk] = a
                u1[blk] = u
                umax[blk] = max(umax[blk], abs(u))
                if write_codes:
                    codes[j] = i
                acc[blk] += vl * q
        elif scheme == 4:
            for blk in range(p):
                j = blk * lam + l
                w = beta * u1[blk] + np.float64(y[j])
                i = _level(w, K, inv)
                q = (i - K) * delta + half
                u = w - q
                u1[blk] = u
                umax[blk] = max(umax[blk], abs(u))
                if write_codes:
                    codes[j] = i
                acc[blk] += vl * q
        else:
            # stochastic rounding to levels -1 + t delta, t = 0 .. 2K-1 (delta = 2 / (2K - 1))
            for blk in range(p):
                j = blk * lam + l
                pos = (np.float64(y[j]) + 1.0) / delta
                t0 = np.int64(np.floor(pos))
                if t0 < 0:
                    t0 = 0
                elif t0 > 2 * K - 2:
                    t0 = 2 * K - 2
                frac = pos - t0
                r = _mix64(key + np.uint64(j) * np.uint64(0x9E3779B97F4A7C15))
                uni = np.float64(r >> np.uint64(11)) * (1.0 / 9007199254740992.0)
                i = t0 + 1 if uni < frac else t0
                if write_codes:
                    codes[j] = i
                acc[blk] += vl * ((i - K) * delta + half)
    for blk in range(p):
        out[blk] = c * acc[blk]
    return umax.max() if p else 0.0


@threaded_kernel()
def quantize_rows(Y, scheme, K, delta, beta, lam, v, c, seed, out, codes, write_codes, umax):
    """:func:`_quantize_row` on every row of ``Y``; ``umax[i]`` gets the row's largest state."""
    for i in prange(Y.shape[0]):
        umax[i] = _quantize_row(
            Y[i], scheme, K, delta, beta, lam, v, c, seed, out[i], codes[i], write_codes
        )
