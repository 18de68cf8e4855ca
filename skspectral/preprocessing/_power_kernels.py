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

import numpy as np
from numba import njit, prange

from .._backend import threaded_kernel

# statistics layout
N, MEAN_T, MEAN_D, M2_D, MEAN_G, C_DG = range(6)
N_STATS = 6

_BLOCK = 256

# Taylor coefficients k / (k + 1)! of h(u) = sum_{k>=1} k/(k+1)! u^(k-1), k = 1..16
_H_COEF = np.array(
    [k / float(np.prod(np.arange(1, k + 2, dtype=np.float64))) for k in range(1, 17)]
)
_ROWS_PER_TASK = 1 << 16


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
    NaN. Parallel over chunks of rows (each chunk reads its rows once, in order)."""
    n, p = X.shape
    n_chunks = max(1, (n + _ROWS_PER_TASK - 1) // _ROWS_PER_TASK)
    los = np.full((n_chunks, p), np.inf)
    his = np.full((n_chunks, p), -np.inf)
    for c in prange(n_chunks):
        start = c * _ROWS_PER_TASK
        stop = min(n, start + _ROWS_PER_TASK)
        for i in range(start, stop):
            for j in range(p):
                x = np.float64(X[i, j])
                if yeo:
                    if x >= 0.0:
                        s = log1p_fast(x)
                    else:
                        s = -log1p_fast(-x)
                else:
                    s = np.log(x)
                out[j, i] = s
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


# ---------------------------------------------------------------------------------------------
# per-lambda statistics
# ---------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _frame_values(s, kind, lam, r, logk, want_g, fast=False):
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
        em = (np.exp(u) - 1.0) if fast else expm1_fast(u)
        d = em / lam
        g = 0.0
        if want_g:
            if abs(u) < 0.5:
                g = t * t * h_fun(u)
            else:
                g = t * t * ((u * em + u - em) / (u * u))
    return t, d, g


@threaded_kernel()
def lambda_stats(S, kinds, lams, refs, logks, active, fast, want_g, out):
    """Statistics of every column of ``S`` (columns in rows: ``S[j]``) at one lambda each.

    ``out[j]`` receives the six merged statistics of column ``j`` (NaN values skipped; columns
    with ``active[j]`` false are left at zero). Rows are
    split into tasks of ``_ROWS_PER_TASK`` so that narrow data still runs in parallel.
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
        _chunk_stats(
            S[j, start:stop], kinds[j], lams[j], refs[j], logks[j], want_g, fast[j], parts[task]
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
def _chunk_stats(col, kind, lam, r, logk, want_g, fast, acc):
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
            t, d, g = _frame_values(s, kind, lam, r, logk, want_g, fast)
            bt[m] = t
            bd[m] = d
            bg[m] = g
            m += 1
        if m == 0:
            continue
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
        merge_into(acc, blk)


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
def forward(X, yeo, standardize, kinds, lams, refs, logks, means, scales, signs, fast, big, out):
    """Transform ``X`` into ``out``; returns the number of saturated entries.

    With ``standardize``: ``out = sign * (d - mean) / scale`` in each column's frame; else
    ``out = psi``. Non-representable results saturate at ``+-big``. Columns with ``fast[j]``
    (one-sided frames whose spread ``scale * |l|`` is large, so that an absolute error of
    ``2 eps / |l|`` in ``d`` is below ``1e-12`` of ``scale``) form ``d`` with ``exp(u) - 1``.
    """
    n, p = X.shape
    sat = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        for j in range(p):
            x = np.float64(X[i, j])
            if x != x:
                out[i, j] = x
                continue
            if standardize:
                d = _d_fast(x, yeo, kinds[j], lams[j], refs[j]) if fast[j] else np.nan
                if d != d:
                    d = d_of(x, yeo, kinds[j], lams[j], refs[j], logks[j])
                z = signs[j] * (d - means[j]) / scales[j]
            else:
                z = psi_of(x, yeo, lams[j])
            if z > big:
                z = big
                sat[i] += 1
            elif z < -big:
                z = -big
                sat[i] += 1
            elif z != z:
                z = 0.0
                sat[i] += 1
            out[i, j] = z
    return sat.sum()


@njit(cache=True, nogil=True)
def _d_fast(x, yeo, kind, l, r):
    """``d`` of :func:`d_of` by ``exp(u) - 1`` for values on the frame's own side (NaN
    elsewhere, where the caller uses :func:`d_of`)."""
    if yeo:
        v = x if kind == 0 else -x
        if v < 0.0:
            return np.nan
        t = log1p_fast(v) - r
    else:
        t = np.log(x) - r
    u = l * t
    if u == 0.0:
        return t
    return (np.exp(u) - 1.0) / l


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
            if x > big:
                x = big
                sat[i] += 1
            elif x < -big:
                x = -big
                sat[i] += 1
            elif x != x:
                x = 0.0
                sat[i] += 1
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
