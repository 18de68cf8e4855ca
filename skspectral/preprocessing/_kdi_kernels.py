"""Numba kernels of the kernel density integral transformation (plain arrays in and out).

Every feature is mapped into a *standard frame* ``z = (x - c) / s`` with ``c`` the midrange
and ``s`` the half range of its training values, so that the training values fill ``[-1, 1]``
whatever their magnitude (values near the float limits, or subnormal ones, never overflow
here). The kernels work in that frame:

* :func:`column_stats`, :func:`column_moments`: range, weight and moments of each column
  (NaN and zero-weight rows skipped);
* :func:`bin_columns`: linear binning of the values onto each feature's equispaced grid (the
  binned Gaussian KDE is then a grid convolution, done by the caller);
* :func:`polyexp_grid`: the exact CDF and density of the poly-exponential kernel's KDE at grid
  nodes, by Hofmeyr's recursion over sorted data, in ``O(n + m)``;
* :func:`direct_cdf`: the exact KDE CDF at one point, by a sorted sweep over the kernel's
  truncated support;
* :func:`transform_kernel` / :func:`inverse_kernel`: the fitted map, by monotone cubic Hermite
  interpolation in the table (or direct evaluation), and its inverse.

Compiled lazily, on first use.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._backend import threaded_kernel

# kernel ids
GAUSSIAN = 0
POLYEXP = 1
# the packed table of a fit, in this order (``tab`` of the map kernels)
TABLE_FIELDS = ("mode", "c", "s", "h", "lo", "hi", "T", "M", "toff", "gsize", "xs", "ws", "cw",
                "doff", "fmin", "fspan", "support", "kernel", "betas", "gammas")
# feature modes
MODE_EMPTY = 0  # no finite training value
MODE_CONSTANT = 1  # one distinct training value
MODE_GRID = 2  # interpolation table on an equispaced grid
MODE_DIRECT = 3  # exact evaluation over the stored sorted data

_SQRT1_2 = 0.7071067811865476
_INV_SQRT2PI = 0.3989422804014327
_BIG = 1.0e300


@njit(cache=True, nogil=True, inline="always")
def to_z(x, c, s):
    """``(x - c) / s`` without overflow of the difference."""
    d = x - c
    if abs(d) <= 1.0e308:
        return d / s
    return (0.5 * x - 0.5 * c) / (0.5 * s)


@njit(cache=True, nogil=True, inline="always")
def from_z(z, c, s, lo, hi):
    """``c + s z`` clipped to ``[lo, hi]`` (the training range)."""
    x = c + s * z
    if not abs(x) <= 1.0e308:
        x = 2.0 * (0.5 * c + (0.5 * s) * z)
    if x < lo:
        x = lo
    if x > hi:
        x = hi
    return x


# ----------------------------------------------------------------------------- kernels' CDFs
@njit(cache=True, nogil=True)
def kernel_cdf(u, kernel, gammas):
    """CDF of the unit kernel at ``u``: Gaussian, or poly-exponential with coefficients
    ``gammas`` (``C(-|u|) = exp(-|u|) sum_i gammas[i] |u|^i``)."""
    if kernel == GAUSSIAN:
        return 0.5 * math.erfc(-u * _SQRT1_2)
    a = abs(u)
    if a > 745.0:
        tail = 0.0
    else:
        p = 0.0
        for i in range(gammas.shape[0] - 1, -1, -1):
            p = p * a + gammas[i]
        tail = math.exp(-a) * p
    if u < 0:
        return tail
    return 1.0 - tail


@njit(cache=True, nogil=True)
def kernel_pdf(u, kernel, betas):
    """Density of the unit kernel at ``u``."""
    if kernel == GAUSSIAN:
        if abs(u) > 40.0:
            return 0.0
        return _INV_SQRT2PI * math.exp(-0.5 * u * u)
    a = abs(u)
    if a > 745.0:
        return 0.0
    p = 0.0
    for i in range(betas.shape[0] - 1, -1, -1):
        p = p * a + betas[i]
    return math.exp(-a) * p


# ----------------------------------------------------------------------------- statistics
@threaded_kernel()
def column_stats(X, w, has_w, lo, hi, wsum, count):
    """Per column: min and max of the finite values of positive weight, their total weight and
    number."""
    n, d = X.shape
    for j in prange(d):
        a = np.inf
        b = -np.inf
        tot = 0.0
        cnt = 0
        for i in range(n):
            x = X[i, j]
            if x != x:
                continue
            wi = w[i] if has_w else 1.0
            if wi <= 0.0:
                continue
            if x < a:
                a = x
            if x > b:
                b = x
            tot += wi
            cnt += 1
        lo[j] = a
        hi[j] = b
        wsum[j] = tot
        count[j] = cnt


@threaded_kernel()
def column_moments(X, w, has_w, c, s, wsum, mean, var):
    """Per column: weighted mean and (population) variance of ``z = (x - c) / s``, in two passes."""
    n, d = X.shape
    for j in prange(d):
        if wsum[j] <= 0.0 or s[j] <= 0.0:
            mean[j] = 0.0
            var[j] = 0.0
            continue
        cj = c[j]
        sj = s[j]
        acc = 0.0
        for i in range(n):
            x = X[i, j]
            if x != x:
                continue
            wi = w[i] if has_w else 1.0
            if wi <= 0.0:
                continue
            acc += wi * to_z(x, cj, sj)
        m = acc / wsum[j]
        acc = 0.0
        for i in range(n):
            x = X[i, j]
            if x != x:
                continue
            wi = w[i] if has_w else 1.0
            if wi <= 0.0:
                continue
            e = to_z(x, cj, sj) - m
            acc += wi * e * e
        mean[j] = m
        var[j] = acc / wsum[j]


@threaded_kernel()
def bin_columns(X, w, has_w, c, s, features, starts, sizes, out):
    """Linear binning: the weight of each value of column ``features[f]`` is split between the two
    nearest nodes of the grid ``-1 + k * 2 / (sizes[f] - 1)``, into ``out[starts[f]:...]``."""
    n = X.shape[0]
    for f in prange(features.shape[0]):
        j = features[f]
        g = sizes[f]
        o = starts[f]
        inv = (g - 1) / 2.0
        cj = c[j]
        sj = s[j]
        for i in range(n):
            x = X[i, j]
            if x != x:
                continue
            wi = w[i] if has_w else 1.0
            if wi <= 0.0:
                continue
            u = (to_z(x, cj, sj) + 1.0) * inv
            if u < 0.0:
                u = 0.0
            k = int(u)
            if k > g - 2:
                k = g - 2
            t = u - k
            if t > 1.0:
                t = 1.0
            out[o + k] += wi * (1.0 - t)
            out[o + k + 1] += wi * t


@njit(cache=True, nogil=True)
def unique_weighted(v, w, has_w, xs, ws):
    """Distinct finite values of the sorted ``v`` (NaN last) with their summed weights (rows of
    non-positive weight dropped); returns how many were written into ``xs``/``ws``."""
    m = 0
    for i in range(v.shape[0]):
        x = v[i]
        if x != x:
            break
        wi = w[i] if has_w else 1.0
        if wi <= 0.0:
            continue
        if m > 0 and xs[m - 1] == x:
            ws[m - 1] += wi
        else:
            xs[m] = x
            ws[m] = wi
            m += 1
    return m


# ----------------------------------------------------------------------------- polyexp sums
@njit(cache=True, nogil=True, inline="always")
def _shift(acc, delta, binom, tmp):
    """``acc_i <- exp(-delta) sum_{l<=i} C(i, l) delta^(i-l) acc_l`` (all terms non-negative)."""
    q = acc.shape[0]
    if delta > 745.0:
        for i in range(q):
            acc[i] = 0.0
        return
    if delta == 0.0:
        return
    e = math.exp(-delta)
    # tmp[k] = delta^k
    p = 1.0
    for k in range(q):
        tmp[k] = p
        p *= delta
    for i in range(q - 1, -1, -1):  # from the top: acc[l < i] are still the old values
        t = acc[i]
        for l in range(i):
            t += binom[i, l] * tmp[i - l] * acc[l]
        acc[i] = e * t


@njit(cache=True, nogil=True)
def polyexp_grid(xs, ws, nodes, h, betas, gammas, binom, F, dens):
    """Exact CDF (``F``, in weight units) and density times ``h`` (``dens``) of the weighted
    poly-exponential KDE of the sorted ``xs`` at the sorted ``nodes``.

    Hofmeyr (2019), "Fast exact evaluation of univariate kernel sums": with the kernel
    ``K(u) = sum_k beta_k |u|^k exp(-|u|)``, the sums ``L_i(t) = sum_{x_j <= t} w_j d_j^i
    exp(-d_j)``, ``d_j = (t - x_j) / h``, move from one sorted point to the next by a binomial
    shift, and likewise the right sums; every term is non-negative, so the recursion is stable.
    """
    n = xs.shape[0]
    m = nodes.shape[0]
    q = betas.shape[0]
    acc = np.zeros(q)
    tmp = np.zeros(q)
    left_w = np.zeros(m)
    L = np.zeros((m, q))
    # left to right: data at a node's position counts as left of it
    j = 0
    pos = -np.inf
    wl = 0.0
    for k in range(m):
        t = nodes[k]
        while j < n and xs[j] <= t:
            if pos > -np.inf:
                _shift(acc, (xs[j] - pos) / h, binom, tmp)
            pos = xs[j]
            acc[0] += ws[j]
            wl += ws[j]
            j += 1
        if pos > -np.inf:
            _shift(acc, (t - pos) / h, binom, tmp)
            pos = t
        for i in range(q):
            L[k, i] = acc[i]
        left_w[k] = wl
    # right to left: data strictly right of the node
    for i in range(q):
        acc[i] = 0.0
    j = n - 1
    pos = np.inf
    for k in range(m - 1, -1, -1):
        t = nodes[k]
        while j >= 0 and xs[j] > t:
            if pos < np.inf:
                _shift(acc, (pos - xs[j]) / h, binom, tmp)
            pos = xs[j]
            acc[0] += ws[j]
            j -= 1
        if pos < np.inf:
            _shift(acc, (pos - t) / h, binom, tmp)
            pos = t
        fl = 0.0
        fr = 0.0
        de = 0.0
        for i in range(q):
            fl += gammas[i] * L[k, i]
            fr += gammas[i] * acc[i]
            de += betas[i] * (L[k, i] + acc[i])
        F[k] = left_w[k] - fl + fr
        dens[k] = de


# ----------------------------------------------------------------------------- direct sums
@njit(cache=True, nogil=True)
def _search(xs, a, b, v, right):
    """First index in ``xs[a:b]`` with ``xs[i] > v`` (``right``) or ``xs[i] >= v``."""
    lo = a
    hi = b
    while lo < hi:
        mid = (lo + hi) >> 1
        if (xs[mid] <= v) if right else (xs[mid] < v):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def direct_cdf(z, xs, ws, cw, a, b, h, support, kernel, betas, gammas):
    """Exact KDE CDF (weight units) at ``z`` over the sorted data ``xs[a:b]`` (weights ``ws``,
    cumulative weights ``cw`` with ``cw[a] = 0``): values more than ``support`` bandwidths left of
    ``z`` count fully, those more than ``support`` right count zero, the rest one by one.
    Returns ``(F, density * h)``."""
    if z != z:
        return np.nan, np.nan
    i0 = _search(xs, a, b, z - support * h, False)
    i1 = _search(xs, i0, b, z + support * h, True)
    F = cw[i0] - cw[a]
    dens = 0.0
    for i in range(i0, i1):
        u = (z - xs[i]) / h
        F += ws[i] * kernel_cdf(u, kernel, gammas)
        dens += ws[i] * kernel_pdf(u, kernel, betas)
    return F, dens


# ----------------------------------------------------------------------------- the fitted map
@njit(cache=True, nogil=True)
def _hermite(T, M, o, g, u):
    """Clipped cubic Hermite interpolation of the table ``T`` (values) and ``M`` (slopes per
    grid step) at grid coordinate ``u`` in ``[0, g - 1]``."""
    k = int(u)
    if k > g - 2:
        k = g - 2
    if k < 0:
        k = 0
    t = u - k
    if t < 0.0:
        t = 0.0
    if t > 1.0:
        t = 1.0
    y0 = T[o + k]
    y1 = T[o + k + 1]
    t2 = t * t
    t3 = t2 * t
    y = (
        (2.0 * t3 - 3.0 * t2 + 1.0) * y0
        + (t3 - 2.0 * t2 + t) * M[o + k]
        + (-2.0 * t3 + 3.0 * t2) * y1
        + (t3 - t2) * M[o + k + 1]
    )
    if y < y0:
        y = y0
    if y > y1:
        y = y1
    return y


@njit(cache=True, nogil=True)
def _forward_one(x, j, tab, extrapolate):
    """The fitted map of feature ``j`` at ``x``; ``tab`` is the packed table (see
    :data:`TABLE_FIELDS`)."""
    (mode, c, s, h, lo, hi, T, M, toff, gsize, xs, ws, cw, doff, fmin, fspan, support, kernel,
     betas, gammas) = tab
    if x != x:
        return np.nan
    m = mode[j]
    if m == MODE_EMPTY:
        return 0.5
    if m == MODE_CONSTANT:
        return 0.0 if x <= lo[j] else 1.0
    inside = lo[j] <= x <= hi[j]
    if not inside and not extrapolate:
        return 0.0 if x < lo[j] else 1.0
    z = to_z(x, c[j], s[j])
    if m == MODE_GRID and inside:
        g = gsize[j]
        u = (z + 1.0) * (0.5 * (g - 1))
        return _hermite(T, M, toff[j], g, u)
    F, _ = direct_cdf(z, xs, ws, cw, doff[j], doff[j + 1], h[j], support, kernel, betas, gammas)
    y = (F - fmin[j]) / fspan[j]
    if inside:
        if y < 0.0:
            y = 0.0
        if y > 1.0:
            y = 1.0
    return y


@threaded_kernel()
def transform_table(X, features, mode, c, scale, lo, hi, T, M, toff, gsize, out, n_blocks):
    """``out[i, j]`` for the features ``j`` in ``features`` whose map is a table (or constant /
    empty), at points clamped to the training range: ``u = (x - c) * scale[j] + (g - 1) / 2``
    is the grid coordinate, then the clipped cubic Hermite interpolation. In parallel over
    blocks of rows."""
    n = X.shape[0]
    nf = features.shape[0]
    for b in prange(n_blocks):
        for i in range(b * n // n_blocks, (b + 1) * n // n_blocks):
            for f in range(nf):
                j = features[f]
                x = X[i, j]
                if x != x:
                    out[i, j] = np.nan
                    continue
                m = mode[j]
                if m == MODE_GRID:
                    if x <= lo[j]:
                        out[i, j] = 0.0
                    elif x >= hi[j]:
                        out[i, j] = 1.0
                    else:
                        g = gsize[j]
                        u = (x - c[j]) * scale[j] + 0.5 * (g - 1)
                        out[i, j] = _hermite(T, M, toff[j], g, u)
                elif m == MODE_CONSTANT:
                    out[i, j] = 0.0 if x <= lo[j] else 1.0
                else:
                    out[i, j] = 0.5


@threaded_kernel()
def transform_kernel(X, features, tab, extrapolate, out, n_blocks):
    """``out[i, j]``: the fitted KDI map of feature ``j`` (among ``features``) at ``X[i, j]``
    (NaN kept), in every mode, in parallel over blocks of rows."""
    n = X.shape[0]
    for b in prange(n_blocks):
        for i in range(b * n // n_blocks, (b + 1) * n // n_blocks):
            for f in range(features.shape[0]):
                j = features[f]
                out[i, j] = _forward_one(X[i, j], j, tab, extrapolate)


@njit(cache=True, nogil=True)
def _invert_hermite(T, M, o, g, y):
    """Grid coordinate ``u`` with ``_hermite(u) = y`` (``y`` in ``[T[o], T[o + g - 1]]``)."""
    # the interval: last k with T[k] <= y (on flat stretches, their middle)
    a = 0
    b = g - 1
    while b - a > 1:
        mid = (a + b) >> 1
        if T[o + mid] <= y:
            a = mid
        else:
            b = mid
    lo_t = 0.0
    hi_t = 1.0
    if T[o + a + 1] <= T[o + a]:
        return a + 0.5
    # bisection on the clipped monotone cubic, then it is exact to the float spacing
    for _ in range(60):
        t = 0.5 * (lo_t + hi_t)
        if _hermite(T, M, o, g, a + t) < y:
            lo_t = t
        else:
            hi_t = t
        if hi_t - lo_t < 1e-15:
            break
    return a + 0.5 * (lo_t + hi_t)


@njit(cache=True, nogil=True)
def _inverse_one(y, j, tab):
    (mode, c, s, h, lo, hi, T, M, toff, gsize, xs, ws, cw, doff, fmin, fspan, support, kernel,
     betas, gammas) = tab
    if y != y:
        return np.nan
    m = mode[j]
    if m == MODE_EMPTY:
        return np.nan
    if m == MODE_CONSTANT:
        return lo[j]
    if y <= 0.0:
        return lo[j]
    if y >= 1.0:
        return hi[j]
    if m == MODE_GRID:
        g = gsize[j]
        u = _invert_hermite(T, M, toff[j], g, y)
        z = u / (0.5 * (g - 1)) - 1.0
        return from_z(z, c[j], s[j], lo[j], hi[j])
    # direct: bisection over the data points, then safeguarded Newton between two of them
    a = doff[j]
    b = doff[j + 1] - 1
    target = fmin[j] + y * fspan[j]
    hj = h[j]
    while b - a > 1:
        mid = (a + b) >> 1
        F, _ = direct_cdf(
            xs[mid], xs, ws, cw, doff[j], doff[j + 1], hj, support, kernel, betas, gammas
        )
        if F <= target:
            a = mid
        else:
            b = mid
    za = xs[a]
    zb = xs[b]
    z = 0.5 * (za + zb)
    for _ in range(100):
        F, dens = direct_cdf(
            z, xs, ws, cw, doff[j], doff[j + 1], hj, support, kernel, betas, gammas
        )
        if F < target:
            za = z
        else:
            zb = z
        step_ok = False
        if dens > 0.0:
            zn = z - (F - target) * hj / dens
            if za < zn < zb:
                step_ok = True
        if not step_ok:
            zn = 0.5 * (za + zb)
        if abs(zn - z) <= 1e-15 * (1.0 + abs(z)) or zb - za <= 1e-15 * (1.0 + abs(z)):
            z = zn
            break
        z = zn
    return from_z(z, c[j], s[j], lo[j], hi[j])


@threaded_kernel()
def inverse_kernel(Y, tab, out, n_blocks):
    """``out[i, j]``: the inverse of the fitted map of feature ``j`` at ``Y[i, j]``."""
    n, d = Y.shape
    for b in prange(n_blocks):
        for i in range(b * n // n_blocks, (b + 1) * n // n_blocks):
            for j in range(d):
                out[i, j] = _inverse_one(Y[i, j], j, tab)
