"""Numba kernels of the random Fourier feature maps and of their quantizers (plain arrays).

* A cosine / sine evaluated in registers: Cody-Waite reduction by pi/2 in three parts and
  Taylor polynomials on [-pi/4, pi/4], written so that LLVM vectorizes the loop (float64: error
  about 1 ulp for |t| < 2**19, the cosine alone with one polynomial per lane; float32: about
  1e-6 for |t| < 8192). A row with a larger argument is recomputed with ``math.cos`` in
  float64, so no argument loses accuracy silently.
* :func:`cos_rows` / :func:`cossin_rows`: the features ``scale * cos(t + b)`` (or the pair cos,
  sin) of a block of projections ``t = X @ W``, written in place while the block is in cache: no
  second pass over a large temporary.
* :func:`sorf_rows`: structured features ``cos(s * (H D1 H D2 H D3 x) + b)``, ``H`` the
  Walsh-Hadamard transform (:func:`skspectral.fft.fwht_row`), one row per thread.
* :func:`quantize_rows`: Sigma-Delta (orders 1 and 2), distributed noise shaping, memoryless
  and stochastic rounding of features in [-1, 1], block by block, with the condensation
  ``V`` applied on the fly; ``_LANES`` rows at a time, one per SIMD lane.

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


@njit(cache=True, nogil=True, inline="always", fastmath={"contract"})
def _cos64(t):
    """cos(t) in float64, the value of ``_quadrant_cos(*_csk64(t))`` bit for bit, with one
    polynomial per lane: in an odd quadrant the sine coefficients are selected, so a vector
    of lanes evaluates 8 terms instead of both series' 16 (``1 + z C(z)`` is ``x + x z C(z)``
    with ``x = 1``, ``r + r z S(z)`` the same with ``x = r``)."""
    k = np.floor(t * _TWO_OVER_PI64 + _HALF64)
    r = ((t - k * _P64[0]) - k * _P64[1]) - k * _P64[2]
    z = r * r
    q = np.int64(k)
    odd = (q & 1) != 0
    a0 = _S64[0] if odd else _C64[0]
    a1 = _S64[1] if odd else _C64[1]
    a2 = _S64[2] if odd else _C64[2]
    a3 = _S64[3] if odd else _C64[3]
    a4 = _S64[4] if odd else _C64[4]
    a5 = _S64[5] if odd else _C64[5]
    a6 = _S64[6] if odd else _C64[6]
    a7 = _S64[7] if odd else _C64[7]
    x = r if odd else _ONE64
    v = x + x * z * (a0 + z * (a1 + z * (a2 + z * (a3 + z * (a4 + z * (a5 + z * (a6 + z * a7)))))))
    return -v if ((q + 1) & 2) != 0 else v


@overload(_cos1, inline="always")
def _cos1_impl(t):
    if t == types.float32:
        return lambda t: _cos_pi32(t)
    return lambda t: _cos64(t)


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
def _mix64(z):
    """splitmix64 finalizer (a counter-based hash) on uint64."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def _row_keys(Y, r0, rows, seed, keys):
    """``keys[g]``: a hash of the values of row ``r0 + g`` and the seed, so the stochastic
    dither depends on the row only and a row is rounded alike in any batch. The rows' hash
    chains run side by side, one per lane."""
    for g in range(rows):
        keys[g] = np.uint64(seed)
    for j in range(Y.shape[1]):
        for g in range(rows):
            v = np.float64(Y[r0 + g, j])
            keys[g] = _mix64(keys[g] ^ np.uint64(np.int64(v * 4503599627370496.0)) + np.uint64(j))


# rows quantized together, one per SIMD lane: the recursion runs along the features of a
# block, so across rows (independent) it vectorizes; 16 float64 lanes are two AVX-512 vectors
_LANES = 16


@njit(cache=True, nogil=True, inline="always")
def _nearest(w, inv, lo, hi):
    """Signed index ``f`` in ``[-K, K)`` of the mid-rise level ``(f + 1/2) delta`` nearest to
    ``w`` (``inv = 1 / delta``, ``lo = -K``, ``hi = K - 1``), in float: no branch."""
    return min(max(np.floor(w * inv), lo), hi)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _quantize_lanes(Y, r0, scheme, K, delta, beta, lam, v, c, seed, out, codes, write_codes):
    """Quantize rows ``r0 .. r0 + _LANES`` of ``Y`` (values in [-1, 1]; fewer rows at the end)
    block by block, the state restarting in each block of ``lam``; ``out[r, blk] = c * sum_l
    v[l] q[r, blk lam + l]``. Returns the largest |state| of these rows.

    Each block of the rows is first copied, transposed, into a ``lam x _LANES`` tile (float64,
    row index innermost); the recursion then steps through the tile with every operation a
    lane-wise one: the nearest level ``floor(w / delta)`` clipped to the alphabet by ``min`` /
    ``max`` in float, the choices by selects, no branch on the data."""
    n, m = Y.shape
    G = _LANES
    rows = min(G, n - r0)
    p = m // lam
    tile = np.zeros((lam, G))
    level = np.zeros((lam, G))
    u1 = np.zeros(G)
    u2 = np.zeros(G)
    acc = np.zeros(G)
    umax = np.zeros(G)
    keys = np.zeros(G, dtype=np.uint64)
    if scheme == 5:
        _row_keys(Y, r0, rows, seed, keys)
    lo = np.float64(-K)
    hi = np.float64(K - 1)
    half = 0.5 * delta
    inv = 1.0 / delta
    top = np.float64(2 * K - 2)
    golden = np.uint64(0x9E3779B97F4A7C15)
    for blk in range(p):
        j0 = blk * lam
        for g in range(rows):
            for l in range(lam):
                tile[l, g] = Y[r0 + g, j0 + l]
        u1[:] = 0.0
        u2[:] = 0.0
        acc[:] = 0.0
        for l in range(lam):
            vl = v[l]
            y = tile[l]
            f = level[l]
            if scheme == 0:
                for g in range(G):
                    f[g] = _nearest(y[g], inv, lo, hi)
                    acc[g] += vl * (f[g] * delta + half)
            elif scheme == 1:
                for g in range(G):
                    w = u1[g] + y[g]
                    f[g] = _nearest(w, inv, lo, hi)
                    u = w - (f[g] * delta + half)
                    u1[g] = u
                    umax[g] = max(umax[g], abs(u))
                    acc[g] += vl * (f[g] * delta + half)
            elif scheme == 2:
                for g in range(G):
                    w = 2.0 * u1[g] - u2[g] + y[g]
                    f[g] = _nearest(w, inv, lo, hi)
                    u = w - (f[g] * delta + half)
                    u2[g] = u1[g]
                    u1[g] = u
                    umax[g] = max(umax[g], abs(u))
                    acc[g] += vl * (f[g] * delta + half)
            elif scheme == 3:
                # one bit, the stable second-order rule (K = 1: levels -delta/2, delta/2)
                for g in range(G):
                    a, b = u1[g], u2[g]
                    w = 2.0 * a - b + y[g]
                    f[g] = 0.0 if a + 0.5 * (y[g] - b) >= 0 else -1.0
                    u = w - (f[g] * delta + half)
                    u2[g] = a
                    u1[g] = u
                    umax[g] = max(umax[g], abs(u))
                    acc[g] += vl * (f[g] * delta + half)
            elif scheme == 4:
                for g in range(G):
                    w = beta * u1[g] + y[g]
                    f[g] = _nearest(w, inv, lo, hi)
                    u = w - (f[g] * delta + half)
                    u1[g] = u
                    umax[g] = max(umax[g], abs(u))
                    acc[g] += vl * (f[g] * delta + half)
            else:
                # stochastic rounding to the levels -1 + t delta, t = 0 .. 2K-1 (delta = 2 /
                # (2K - 1)); the dither of feature j of a row hashes the row's key and j
                h = np.uint64(j0 + l) * golden
                for g in range(G):
                    pos = (y[g] + 1.0) / delta
                    t0 = min(max(np.floor(pos), 0.0), top)
                    r = _mix64(keys[g] + h)
                    uni = np.float64(r >> np.uint64(11)) * (1.0 / 9007199254740992.0)
                    f[g] = t0 + 1.0 - K if uni < pos - t0 else t0 - K
                    acc[g] += vl * (f[g] * delta + half)
        for g in range(rows):
            out[r0 + g, blk] = c * acc[g]
        if write_codes:
            for g in range(rows):
                for l in range(lam):
                    codes[r0 + g, j0 + l] = np.uint8(level[l, g] + K)
    worst = 0.0
    for g in range(rows):
        worst = max(worst, umax[g])
    return worst


@threaded_kernel()
def quantize_rows(Y, scheme, K, delta, beta, lam, v, c, seed, out, codes, write_codes):
    """:func:`_quantize_lanes` on every group of ``_LANES`` rows of ``Y``, quantized into
    ``out`` (and the level indices into ``codes`` when ``write_codes``); returns the largest
    |state| of all rows."""
    groups = (Y.shape[0] + _LANES - 1) // _LANES
    worst = np.zeros(groups)
    for i in prange(groups):
        worst[i] = _quantize_lanes(
            Y, i * _LANES, scheme, K, delta, beta, lam, v, c, seed, out, codes, write_codes
        )
    return worst.max() if groups else 0.0
