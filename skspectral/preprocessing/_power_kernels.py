"""Numba kernels of the power transform: log-domain columns, per-lambda mergeable statistics,
and the safe forward / inverse maps.

Notation (shared with ``_power.py``). A column is first mapped once to its *log-domain* values

* Box-Cox: ``s = log(x)``;
* Yeo-Johnson: ``s = sign(x) * log1p(|x|)``,

so that every transform below is a function of ``s`` through ``expm1`` alone and never forms
``x ** lambda``. For a given lambda the likelihood needs the variance of ``psi(x; lambda)``;
it is computed in a *frame* ``psi = psi_ref + K * d`` in which the values ``d`` are bounded and
computed to full relative accuracy:

* one-sided frames (``kind`` 0: values ``v = s >= 0``; ``kind`` 1: ``v = -s >= 0``, the mirror
  of a Yeo-Johnson column whose values are all non-positive, with ``l = 2 - lambda``): the
  reference ``r`` is the training extreme of ``v`` towards which ``l * v`` grows, so that
  ``u = l * (v - r) <= 0`` for every training value and ``d = expm1(u) / l`` lies between
  ``-1/|l|`` and ``0`` (or equals ``v - r`` at ``l = 0``); ``log K = l * r``;
* the mixed-sign frame (``kind`` 2): the reference is ``psi = 0`` and ``d = psi / K`` with
  ``log K`` the largest ``log |psi|`` at the training extremes, every ``log |psi|`` computed in
  log space.

Per lambda a chunk of rows gives, per column, the statistics ``(n, mean t, mean d, M2 d,
mean g, C dg)`` where ``t`` is the shifted log value, ``g`` the derivative of ``psi`` in lambda
in the same frame, ``M2`` the sum of squared deviations and ``C`` the co-moment; they merge
exactly with Chan, Golub and LeVeque's pairwise update (``skspectral.utils._mergeable``).
Within a chunk the values are processed in blocks of ``_BLOCK`` with an exact two-pass mean and
sum of squares per block, merged pairwise, so that no long running sum loses precision.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from .._backend import threaded_kernel

# statistics layout
N, MEAN_T, MEAN_D, M2_D, MEAN_G, C_DG = range(6)
N_STATS = 6

_BLOCK = 256

# Taylor coefficients k / (k + 1)! of h(u) = sum_{k>=1} k/(k+1)! u^(k-1), k = 1..16
_H_COEF = np.array(
    [k / float(np.prod(np.arange(1, k + 2, dtype=np.float64))) for k in range(1, 17)]
)
_H_COEF_T = tuple(float(c) for c in _H_COEF)
_ROWS_PER_TASK = 1 << 16
_ROWS_PER_BLOCK = 512


# ---------------------------------------------------------------------------------------------
# branch-free exp and log that LLVM vectorizes (libm's are scalar calls that block it)
# ---------------------------------------------------------------------------------------------

_VEC = {"cache": True, "nogil": True, "error_model": "numpy"}
_VEC_INLINE = {**_VEC, "inline": "always"}
# ln 2 split so that k * _LN2_HI is exact for |k| < 2**21; _LN2_LO = ln 2 - _LN2_HI (to 1e-26)
_LN2_HI = float.fromhex("0x1.62e42fee00000p-1")
_LN2_LO = 1.9082149292705877e-10
_INV_LN2 = 1.0 / math.log(2.0)
_SQRT2 = math.sqrt(2.0)
_TINY = float(np.finfo(np.float64).tiny)
# Taylor coefficients 1/k! of exp (k = 2..13) and 2/(2k+1) of 2 atanh(s)/s - 2 (k = 1..11)
_EXP_C = tuple(1.0 / math.factorial(k) for k in range(2, 14))
_LOG_C = tuple(2.0 / (2 * k + 1) for k in range(1, 12))


@intrinsic
def _f64_from_bits(typingctx, i):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _bits_of_f64(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@njit(**_VEC_INLINE)
def _exp_parts(u):
    """``(p, 2**k)`` with ``exp(u) = 2**k (1 + p)``: ``u = k ln 2 + r``, ``|r| <= ln(2) / 2``
    (Cody and Waite's two-part ``ln 2``), ``p = expm1(r)`` by its Taylor polynomial of degree
    13 (truncation below 4e-18), ``2**k`` built in the exponent bits. ``u`` is clamped to
    ``[-708, 709]``."""
    u = min(max(u, -708.0), 709.0)
    kf = np.floor(u * _INV_LN2 + 0.5)
    r = (u - kf * _LN2_HI) - kf * _LN2_LO
    c = _EXP_C
    q = c[11]
    q = q * r + c[10]
    q = q * r + c[9]
    q = q * r + c[8]
    q = q * r + c[7]
    q = q * r + c[6]
    q = q * r + c[5]
    q = q * r + c[4]
    q = q * r + c[3]
    q = q * r + c[2]
    q = q * r + c[1]
    q = q * r + c[0]
    return r + r * r * q, _f64_from_bits((np.int64(kf) + 1023) << 52)


@njit(**_VEC_INLINE)
def vexp(u):
    """``exp(u)`` to 1 ulp (measured against mpmath), branch-free so that loops calling it
    vectorize (see :func:`_exp_parts`). Below ``u = -708`` it returns ``exp(-708) ~ 3e-308``
    instead of a smaller number; above 709 callers must not ask."""
    p, scale = _exp_parts(u)
    return scale * (1.0 + p)


@njit(**_VEC_INLINE)
def vexpm1(u):
    """``expm1(u)`` to 2 ulp (measured against mpmath), branch-free: the polynomial itself
    where ``k = 0`` (``|u| <= ln(2) / 2``: no cancellation), ``2**k p + (2**k - 1)`` elsewhere.
    Clamped as :func:`vexp` (``-1`` below ``u = -708``)."""
    p, scale = _exp_parts(u)
    return p if scale == 1.0 else scale * p + (scale - 1.0)


@njit(**_VEC_INLINE)
def vlog(x):
    """``log(x)`` for finite ``x > 0`` to 1 ulp (measured against mpmath), branch-free:
    ``x = 2**k m`` with ``m`` in ``[sqrt(1/2), sqrt(2))`` read from the bits (subnormals scaled
    by ``2**54`` first), and ``log m = log1p(f) = f - f^2/2 + s (f^2/2 + R)`` with
    ``s = f / (2 + f)`` and ``R`` the series of ``2 atanh(s) - 2 s`` in ``s^2 <= 0.0295``
    (11 terms). NaN, zero, negative or infinite ``x``: callers select around it."""
    sub = x < _TINY
    x = x * 18014398509481984.0 if sub else x
    b = _bits_of_f64(x)
    k = (b >> 52) - (1023 + 54 if sub else 1023)
    m = _f64_from_bits((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    up = m > _SQRT2
    m = 0.5 * m if up else m
    k = k + 1 if up else k
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    c = _LOG_C
    q = c[10]
    q = q * z + c[9]
    q = q * z + c[8]
    q = q * z + c[7]
    q = q * z + c[6]
    q = q * z + c[5]
    q = q * z + c[4]
    q = q * z + c[3]
    q = q * z + c[2]
    q = q * z + c[1]
    q = q * z + c[0]
    R = q * z
    hfsq = 0.5 * f * f
    kf = np.float64(k)
    return kf * _LN2_HI - ((hfsq - (s * (hfsq + R) + kf * _LN2_LO)) - f)


@njit(**_VEC_INLINE)
def vlog1p(x):
    """``log1p(x)`` for ``x >= 0`` by Goldberg's formula on :func:`vlog` (branch-free)."""
    w = 1.0 + x
    return x if w == 1.0 else vlog(w) * (x / (w - 1.0))


@njit(**_VEC_INLINE)
def vh(u, e):
    """:func:`h_fun` from ``e = exp(u)``, branch-free: its Taylor series for ``|u| < 0.5``,
    the direct form elsewhere."""
    c = _H_COEF_T
    acc = c[15]
    acc = acc * u + c[14]
    acc = acc * u + c[13]
    acc = acc * u + c[12]
    acc = acc * u + c[11]
    acc = acc * u + c[10]
    acc = acc * u + c[9]
    acc = acc * u + c[8]
    acc = acc * u + c[7]
    acc = acc * u + c[6]
    acc = acc * u + c[5]
    acc = acc * u + c[4]
    acc = acc * u + c[3]
    acc = acc * u + c[2]
    acc = acc * u + c[1]
    acc = acc * u + c[0]
    em = e - 1.0
    direct = (u * e - em) / (u * u)
    return acc if abs(u) < 0.5 else direct


@njit(cache=True, nogil=True)
def expm1_fast(u):
    """``expm1(u)`` to within 2 ulp: ``exp(u) - 1`` where that cannot cancel (``|u| > 0.7``,
    about 2.5x faster than libm's ``expm1``), ``expm1`` elsewhere."""
    if u < -0.7 or u > 0.7:
        return np.exp(u) - 1.0
    return np.expm1(u)


@njit(cache=True, nogil=True)
def log1p_fast(x):
    """``log1p(x)`` for ``x >= 0`` to within a few ulp with one ``log`` (about 3x faster than
    libm's ``log1p``): ``log(u) * x / (u - 1)`` with ``u = 1 + x`` rounded, which corrects the
    rounding of ``1 + x`` (Goldberg's formula); ``x`` itself where ``1 + x`` rounds to 1."""
    u = 1.0 + x
    if u == 1.0:
        return x
    return np.log(u) * (x / (u - 1.0))


@njit(cache=True, nogil=True)
def em1_over(l, t):
    """``expm1(l * t) / l``, with its limit ``t`` at ``l = 0`` (accurate for tiny ``l * t``)."""
    u = l * t
    if u == 0.0:
        return t
    return expm1_fast(u) / l


@njit(cache=True, nogil=True)
def l1p_over(l, d):
    """``log1p(l * d) / l``, the inverse of :func:`em1_over`; ``d`` at ``l = 0``. NaN where
    ``1 + l * d <= 0`` (outside the image): the callers clip before."""
    u = l * d
    if u == 0.0:
        return d
    return np.log1p(u) / l


@njit(cache=True, nogil=True)
def logabs_em1(l, m):
    """``log(expm1(l * m) / l)`` for ``m >= 0`` (the log of the one-sided power map of a
    log value ``m``), without overflow; ``-inf`` at ``m = 0``."""
    if m == 0.0:
        return -np.inf
    u = l * m
    if u > 1.0:
        return u + np.log1p(-np.exp(-u)) - np.log(l)
    if u < -1.0:
        return np.log(-np.expm1(u)) - np.log(-l)
    if abs(u) < 1e-8:
        return np.log(m) + np.log1p(0.5 * u)
    return np.log(np.expm1(u) / l)


@njit(cache=True, nogil=True)
def h_fun(u):
    """``(u e^u - expm1(u)) / u^2`` (so that ``d/dl [expm1(l t)/l] = t^2 h(l t)``); its
    Taylor series where the direct form cancels."""
    if abs(u) < 0.5:
        # sum_{k>=1} k/(k+1)! u^(k-1), Horner from k = 16
        acc = 0.0
        for k in range(15, -1, -1):
            acc = acc * u + _H_COEF[k]
        return acc
    em = np.expm1(u)
    return (u * em + u - em) / (u * u)


@njit(cache=True, nogil=True)
def log_h(u):
    """``log h(u)`` without overflow for large ``u``."""
    if u > 1.0:
        return u + np.log(u - 1.0 + np.exp(-u)) - 2.0 * np.log(u)
    return np.log(h_fun(u))


# ---------------------------------------------------------------------------------------------
# log-domain columns
# ---------------------------------------------------------------------------------------------


@threaded_kernel()
def log_columns(X, yeo, out, lo, hi):
    """``out[j, i] = s(X[i, j])`` (a column-major copy in float64); ``lo[j]``, ``hi[j]``: the
    smallest and largest ``s`` of column ``j`` (``+inf`` / ``-inf`` if all are NaN). NaN stays
    NaN. Parallel over chunks of rows; within a chunk, blocks of ``_ROWS_PER_BLOCK`` rows are
    copied to columns in cache and mapped in vectorized loops (:func:`_log_block`)."""
    n, p = X.shape
    n_chunks = max(1, (n + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK)
    los = np.full((n_chunks, p), np.inf)
    his = np.full((n_chunks, p), -np.inf)
    for c in prange(n_chunks):
        stop = min(n, (c + 1) * _ROWS_PER_TASK)
        buf = np.empty((p, _ROWS_PER_BLOCK))
        for b in range(c * _ROWS_PER_TASK, stop, _ROWS_PER_BLOCK):
            e = min(stop, b + _ROWS_PER_BLOCK)
            _rows_to_columns(X, b, e, buf)
            for j in range(p):
                o = out[j, b:e]
                _log_block(buf[j, : e - b], yeo, o)
                for s in o:
                    if s < los[c, j]:
                        los[c, j] = s
                    if s > his[c, j]:
                        his[c, j] = s
    for j in range(p):
        lo[j] = np.inf
        hi[j] = -np.inf
        for c in range(n_chunks):
            lo[j] = min(lo[j], los[c, j])
            hi[j] = max(hi[j], his[c, j])


@njit(cache=True, nogil=True)
def _rows_to_columns(X, b, e, buf):
    """``buf[j, k] = X[b + k, j]`` in float64 (rows ``b:e`` of ``X`` as contiguous columns)."""
    for k in range(e - b):
        for j in range(X.shape[1]):
            buf[j, k] = X[b + k, j]


@njit(**_VEC)
def _log_block(x, yeo, out):
    """``out[k] = s(x[k])``: ``log x`` or ``sign(x) log1p|x|``, NaN kept (vectorized)."""
    if yeo:
        for k in range(x.shape[0]):
            v = np.float64(x[k])
            s = vlog1p(abs(v))
            s = -s if v < 0.0 else s
            out[k] = v if v != v else s
    else:
        for k in range(x.shape[0]):
            v = np.float64(x[k])
            out[k] = v if v != v else vlog(v)


# ---------------------------------------------------------------------------------------------
# per-lambda statistics
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _frame_values(s, kind, lam, r, logk, want_g):
    """``(t, d, g)`` of one log value ``s`` in the frame ``(kind, lam, r, logk)``.

    For kinds 0/1 ``lam`` is the frame's exponent ``l`` (``lambda`` or ``2 - lambda``); for
    kind 2 it is Yeo-Johnson's ``lambda``.
    """
    if kind == 2:
        if s >= 0.0:
            l = lam
            m = s
            sign = 1.0
        else:
            l = 2.0 - lam
            m = -s
            sign = -1.0
        if m == 0.0:
            return s, 0.0, 0.0
        la = logabs_em1(l, m)
        d = sign * np.exp(la - logk)
        g = 0.0
        if want_g:
            g = np.exp(2.0 * np.log(m) + log_h(l * m) - logk)
        return s, d, g
    v = s if kind == 0 else -s
    t = v - r
    u = lam * t
    if u == 0.0:
        d = t
        g = 0.5 * t * t
    else:
        em = expm1_fast(u)
        d = em / lam
        g = 0.0
        if want_g:
            if abs(u) < 0.5:
                g = t * t * h_fun(u)
            else:
                g = t * t * ((u * em + u - em) / (u * u))
    return t, d, g


@threaded_kernel()
def lambda_stats(S, kinds, lams, refs, logks, active, clean, want_g, out):
    """Statistics of every column of ``S`` (columns in rows: ``S[j]``) at one lambda each.

    ``out[j]`` receives the six merged statistics of column ``j`` (NaN values skipped; columns
    with ``active[j]`` false are left at zero). Rows are
    split into tasks of ``_ROWS_PER_TASK`` so that narrow data still runs in parallel.
    Columns in a one-sided frame that are ``clean[j]`` (no NaN) run the vectorized
    :func:`_chunk_stats_vec`.
    """
    p, n = S.shape
    n_chunks = max(1, (n + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK)
    parts = np.zeros((p * n_chunks, N_STATS))
    for task in prange(p * n_chunks):
        j = task // n_chunks
        c = task % n_chunks
        if not active[j]:
            continue
        start = c * _ROWS_PER_TASK
        stop = min(n, start + _ROWS_PER_TASK)
        if clean[j] and kinds[j] != 2:
            sign = 1.0 if kinds[j] == 0 else -1.0
            _chunk_stats_vec(S[j, start:stop], sign, lams[j], refs[j], want_g, parts[task])
        else:
            _chunk_stats(
                S[j, start:stop], kinds[j], lams[j], refs[j], logks[j], want_g, parts[task]
            )
    for j in range(p):
        acc = parts[j * n_chunks].copy()
        for c in range(1, n_chunks):
            merge_into(acc, parts[j * n_chunks + c])
        out[j, :] = acc


@njit(cache=True, nogil=True)
def merge_into(a, b):
    """Chan et al.'s pairwise merge of statistics ``b`` into ``a`` (in place)."""
    na = a[N]
    nb = b[N]
    if nb == 0.0:
        return
    if na == 0.0:
        a[:] = b
        return
    n = na + nb
    w = nb / n
    dt = b[MEAN_T] - a[MEAN_T]
    dd = b[MEAN_D] - a[MEAN_D]
    dg = b[MEAN_G] - a[MEAN_G]
    f = na * nb / n
    a[M2_D] = a[M2_D] + b[M2_D] + dd * dd * f
    a[C_DG] = a[C_DG] + b[C_DG] + dd * dg * f
    a[MEAN_T] = a[MEAN_T] + dt * w
    a[MEAN_D] = a[MEAN_D] + dd * w
    a[MEAN_G] = a[MEAN_G] + dg * w
    a[N] = n


@njit(cache=True, nogil=True)
def _chunk_stats(col, kind, lam, r, logk, want_g, acc):
    bt = np.empty(_BLOCK)
    bd = np.empty(_BLOCK)
    bg = np.empty(_BLOCK)
    blk = np.zeros(N_STATS)
    i = 0
    n = col.shape[0]
    while i < n:
        m = 0
        while i < n and m < _BLOCK:
            s = col[i]
            i += 1
            if s != s:
                continue
            t, d, g = _frame_values(s, kind, lam, r, logk, want_g)
            bt[m] = t
            bd[m] = d
            bg[m] = g
            m += 1
        if m == 0:
            continue
        _block_moments(bt, bd, bg, m, blk)
        merge_into(acc, blk)


@njit(**_VEC)
def _chunk_stats_vec(col, sign, l, r, want_g, acc):
    """:func:`_chunk_stats` of a NaN-free column in a one-sided frame (``v = sign * s``): the
    frame values of a block in one vectorized loop (:func:`vexpm1`, as accurate as libm's
    ``expm1``), then its exact two-pass moments."""
    bt = np.empty(_BLOCK)
    bd = np.empty(_BLOCK)
    bg = np.zeros(_BLOCK)
    blk = np.zeros(N_STATS)
    n = col.shape[0]
    for start in range(0, n, _BLOCK):
        c = col[start : start + _BLOCK]  # a view of its own lets LLVM vectorize the loops
        m = c.shape[0]
        if want_g:
            for k in range(m):
                t = sign * c[k] - r
                u = l * t
                em = vexpm1(u)
                bt[k] = t
                bd[k] = t if u == 0.0 else em / l
                bg[k] = t * t * vh(u, em + 1.0)
        else:
            for k in range(m):
                t = sign * c[k] - r
                u = l * t
                bt[k] = t
                bd[k] = t if u == 0.0 else vexpm1(u) / l
        _block_moments(bt, bd, bg, m, blk)
        merge_into(acc, blk)


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _block_moments(bt, bd, bg, m, blk):
    """Exact two-pass count, means, sum of squared deviations and co-moment of the first
    ``m`` entries of a block, into ``blk``."""
    mt = 0.0
    md = 0.0
    mg = 0.0
    for k in range(m):
        mt += bt[k]
        md += bd[k]
        mg += bg[k]
    mt /= m
    md /= m
    mg /= m
    m2 = 0.0
    cdg = 0.0
    for k in range(m):
        dd = bd[k] - md
        m2 += dd * dd
        cdg += dd * (bg[k] - mg)
    blk[N] = m
    blk[MEAN_T] = mt
    blk[MEAN_D] = md
    blk[M2_D] = m2
    blk[MEAN_G] = mg
    blk[C_DG] = cdg


# ---------------------------------------------------------------------------------------------
# forward and inverse maps (per element; the transform saturates, the inverse clips)
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def psi_of(x, yeo, lam):
    """``psi(x; lambda)`` (NaN stays NaN; may be +-inf where not representable)."""
    if x != x:
        return x
    if not yeo:
        y = np.log(x)
        u = lam * y
        if u > 700.0:  # expm1 would overflow before the division by lambda
            return np.sign(lam) * np.exp(u - np.log(abs(lam)))
        return em1_over(lam, y)
    if x >= 0.0:
        m = log1p_fast(x)
        return np.exp(logabs_em1(lam, m)) if m > 0.0 else 0.0
    m = log1p_fast(-x)
    return -np.exp(logabs_em1(2.0 - lam, m))


@njit(cache=True, nogil=True)
def d_of(x, yeo, kind, lam, r, logk):
    """The frame value ``d`` of an input ``x`` (any side of zero), as in :func:`_frame_values`
    but also for inputs on the other side of zero than a one-sided frame's training data
    (there ``d = d(0) + psi / K``, with ``psi / K`` formed in log space)."""
    if not yeo:
        return em1_over(lam, np.log(x) - r)
    s = log1p_fast(x) if x >= 0.0 else -log1p_fast(-x)
    if kind == 2:
        t, d, g = _frame_values(s, 2, lam, r, logk, False)
        return d
    # kind 0: frame exponent l = lambda on v = s; kind 1: l = 2 - lambda on v = -s
    l = lam
    v = s if kind == 0 else -s
    if v >= 0.0:
        return em1_over(l, v - r)
    lo = 2.0 - l  # the other side's exponent (2 - (2 - lambda) = lambda for kind 1)
    d0 = em1_over(l, -r)
    return d0 - np.exp(logabs_em1(lo, -v) - logk)


@njit(cache=True, nogil=True)
def _other_side_from_log(logpsi, lo):
    """Log value ``m >= 0`` with ``|psi| = expm1(lo m) / lo = exp(logpsi)``; ``inf`` where
    ``|psi|`` is outside the image (``lo < 0`` and ``|psi| >= 1/|lo|``)."""
    if logpsi == -np.inf:
        return 0.0
    if lo == 0.0:
        return np.exp(logpsi)
    lq = np.log(abs(lo)) + logpsi
    if lo < 0.0:
        if lq >= 0.0:
            return np.inf
        return np.log1p(-np.exp(lq)) / lo
    if lq > 30.0:
        return (lq + np.log1p(np.exp(-lq))) / lo
    return np.log1p(np.exp(lq)) / lo


@njit(cache=True, nogil=True)
def x_from_d(d, yeo, kind, lam, r, logk):
    """Inverse of :func:`d_of`; may return +-inf (the caller saturates)."""
    if not yeo:
        q = lam * d
        if q <= -1.0:  # outside the image: x -> 0 (lam > 0) or x -> inf (lam < 0)
            return (0.0 if lam > 0.0 else np.inf), True
        return np.exp(r + l1p_over(lam, d)), False
    if kind == 2:
        if d == 0.0:
            return 0.0, False
        lp = np.log(abs(d)) + logk
        if d > 0.0:
            return np.expm1(_other_side_from_log(lp, lam)), False
        return -np.expm1(_other_side_from_log(lp, 2.0 - lam)), False
    l = lam
    lo = 2.0 - l
    d0 = em1_over(l, -r)
    if d >= d0:
        q = l * d
        if q <= -1.0:
            v = np.inf
        else:
            v = r + l1p_over(l, d)
        v = max(v, 0.0)
        return (np.expm1(v) if kind == 0 else -np.expm1(v)), False
    m = _other_side_from_log(np.log(d0 - d) + logk, lo)
    return (-np.expm1(m) if kind == 0 else np.expm1(m)), False


@threaded_kernel()
def forward(X, yeo, standardize, kinds, lams, refs, logks, means, scales, signs, big, out):
    """Transform ``X`` into ``out``; returns the number of saturated entries.

    With ``standardize``: ``out = sign * (d - mean) / scale`` in each column's frame; else
    ``out = psi``. Non-representable results saturate at ``+-big``. Standardized columns in
    one-sided frames run vectorized loops over blocks of rows (:func:`_forward_fast`); the
    few entries these cannot map (NaN, the other side of zero, overflow) take the general
    path.
    """
    n, p = X.shape
    n_blocks = (n + _ROWS_PER_BLOCK - 1) // _ROWS_PER_BLOCK
    sat = np.zeros(n_blocks, dtype=np.int64)
    vec = np.zeros(p, dtype=np.bool_)
    for j in range(p):
        vec[j] = standardize and kinds[j] != 2
    for blk in prange(n_blocks):
        b = blk * _ROWS_PER_BLOCK
        e = min(n, b + _ROWS_PER_BLOCK)
        m = e - b
        redo = np.ones((p, m), dtype=np.bool_)
        if vec.any():
            buf = np.empty((p, m))
            res = np.empty((p, m))
            _rows_to_columns(X, b, e, buf)
            for j in range(p):
                if vec[j]:
                    sign = 1.0 if kinds[j] == 0 else -1.0
                    factor = signs[j] / scales[j]
                    _forward_fast(
                        buf[j], yeo, sign, lams[j], refs[j], means[j], factor, big, res[j], redo[j]
                    )
            for k in range(m):
                for j in range(p):
                    out[b + k, j] = res[j, k]
        for j in range(p):
            for k in range(m):
                if not redo[j, k]:
                    continue
                i = b + k
                x = np.float64(X[i, j])
                if x != x:
                    out[i, j] = x
                    continue
                if standardize:
                    d = d_of(x, yeo, kinds[j], lams[j], refs[j], logks[j])
                    z = signs[j] * (d - means[j]) / scales[j]
                else:
                    z = psi_of(x, yeo, lams[j])
                z, bad = _saturate(z, big)
                sat[blk] += bad
                out[i, j] = z
    return sat.sum()


@njit(cache=True, nogil=True)
def _saturate(z, big):
    """``(z clipped to [-big, big], 1)`` where ``z`` is beyond, ``(0, 1)`` for NaN, else
    ``(z, 0)``."""
    if z > big:
        return big, 1
    if z < -big:
        return -big, 1
    if z != z:
        return 0.0, 1
    return z, 0


@njit(**_VEC)
def _forward_fast(x, yeo, sign, l, r, mean, factor, big, out, redo):
    """``out[k] = factor * (d - mean)`` with ``d = expm1(l t) / l``, ``t = log v - r`` or
    ``log1p v - r`` (``v = sign * x``), in one vectorized loop; ``redo[k]`` marks the entries it
    cannot map (NaN, ``v < 0``, ``l t > 700`` or a result beyond ``big``)."""
    for k in range(x.shape[0]):
        v = sign * np.float64(x[k])
        t = (vlog1p(max(v, 0.0)) if yeo else vlog(v)) - r
        u = l * t
        d = t if u == 0.0 else vexpm1(u) / l
        z = factor * (d - mean)
        out[k] = z
        redo[k] = not (v >= 0.0 and u <= 700.0 and abs(z) <= big)


@threaded_kernel()
def inverse(Z, yeo, standardize, kinds, lams, refs, logks, means, scales, signs, big, out):
    """Inverse of :func:`forward`; returns the number of clipped / saturated entries."""
    n, p = Z.shape
    sat = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        for j in range(p):
            z = np.float64(Z[i, j])
            if z != z:
                out[i, j] = z
                continue
            lam = lams[j]
            if standardize:
                d = signs[j] * z * scales[j] + means[j]
                x, clipped = x_from_d(d, yeo, kinds[j], lam, refs[j], logks[j])
                if clipped:
                    sat[i] += 1
            elif yeo:
                if z >= 0.0:
                    x = np.expm1(_other_side_from_log(np.log(z) if z > 0 else -np.inf, lam))
                else:
                    x = -np.expm1(_other_side_from_log(np.log(-z), 2.0 - lam))
            else:
                if lam * z <= -1.0:
                    x = 0.0 if lam > 0.0 else np.inf
                    sat[i] += lam > 0.0
                else:
                    x = np.exp(l1p_over(lam, z))
            x, bad = _saturate(x, big)
            sat[i] += bad
            out[i, j] = x
    return sat.sum()


@njit(cache=True, nogil=True)
def frames(yeo, lams, smin, smax, kinds, ls, refs, logks):
    """The frame ``(kind, l, r, log K)`` of each column at ``lams`` (see the module notes),
    from the columns' smallest and largest log values."""
    for j in range(lams.shape[0]):
        lam = lams[j]
        lo = smin[j]
        hi = smax[j]
        if (not yeo) or lo >= 0.0:
            kinds[j] = 0
            ls[j] = lam
            refs[j] = hi if lam >= 0.0 else lo
            logks[j] = lam * refs[j]
        elif hi <= 0.0:
            kinds[j] = 1
            mu = 2.0 - lam
            ls[j] = mu
            refs[j] = -lo if mu >= 0.0 else -hi
            logks[j] = mu * refs[j]
        else:
            kinds[j] = 2
            ls[j] = lam
            refs[j] = 0.0
            logks[j] = max(logabs_em1(lam, hi), logabs_em1(2.0 - lam, -lo))
