"""The fitted KDI map, its inverse and the normal CDF / quantile in Array API operations.

Everything here takes the namespace ``xp`` of the input (NumPy's compatible wrapper,
array-api-strict, CuPy, ...) and uses only operations of the Array API standard, so the
transform of a device array stays on its device. It mirrors the numba kernels of
``_kdi_kernels`` (same formulas, same safeguards), so its results equal theirs up to the order
of the floating-point sums:

* :func:`ndtr_xp`: the standard normal CDF (the standard has no ``erf``), from two Chebyshev
  series computed for this module in 40-digit arithmetic (mpmath): on ``|x| < 1``,
  ``Phi(x) = 1/2 + x f(x^2)``; beyond, ``Phi(-a) = exp(-a^2 / 2) g(a) / a`` with ``g`` (the
  Mills ratio times ``a / sqrt(2 pi)``) a series in ``y = (a - 2) / (a + 2)``, and
  ``exp(-a^2 / 2)`` split as ``exp(-a_h^2 / 2) exp(-(a - a_h)(a + a_h) / 2)`` (``a_h`` = ``a``
  cut to 1/16, so ``a_h^2`` is exact). Absolute error below ``1e-16`` everywhere and relative
  error about ``1e-15`` in the lower tail down to underflow (tested against
  ``scipy.special.ndtr``).
* :func:`ndtri_xp`: the normal quantile, a rational / Chebyshev first guess refined by one
  Newton step on :func:`ndtr_xp` (relative error about ``1e-15``).
* :func:`direct_cdf_xp`: the exact KDE CDF over stored sorted data, summed over the kernel's
  truncated support in blocks of rows and support offsets of at most :data:`BLOCK` elements,
  so the memory is bounded whatever the number of rows or of points in the support.
* :func:`forward_xp` / :func:`inverse_xp`: the fitted map (table interpolation, direct sums,
  extrapolation through the tails) and its inverse (bisection on the interpolating cubic,
  safeguarded Newton on the direct sums).
"""

from __future__ import annotations

import numpy as np

from . import _kdi_kernels as K

# elements of the largest temporary (rows x support offsets) of a direct sum
BLOCK = 1 << 18

# (Phi(x) - 1/2) / x as a Chebyshev series in t = 2 x^2 - 1 on |x| <= 1 (first coefficient
# halved, as _clenshaw takes it)
_CENTRAL = (
    0.3690955161047672,
    -0.028768099550741277,
    0.001047259750914927,
    -3.065264562641616e-05,
    7.371168584164308e-07,
    -1.496603254968702e-08,
    2.6239166153334063e-10,
    -4.043933706377385e-12,
    5.556950740668912e-14,
    -6.887180239708937e-16,
    7.771932123131337e-18,
    -8.048852735243063e-20,
    7.701331055737142e-22,
)
# a Phi(-a) exp(a^2 / 2) for a >= 1 as a Chebyshev series in t = (y - _YLO) / (1 - _YLO) * 2 - 1,
# y = (a - 2) / (a + 2)
_YLO = -1.0 / 3.0
_TAIL = (
    0.3538464065966576,
    0.06548203144471267,
    -0.023688460600976492,
    0.003273082975277901,
    0.00010480798790522921,
    -7.524226906127125e-05,
    -2.6642082706985286e-06,
    2.1853972935949522e-06,
    2.1027668475765698e-07,
    -6.439959337344184e-08,
    -1.4698268360681534e-08,
    1.0596802522497601e-09,
    8.093346316858538e-10,
    6.815504999846368e-11,
    -2.9888351103625656e-11,
    -8.80442584623623e-12,
    3.01780907077533e-15,
    5.03393115541315e-13,
    1.0485711435422024e-13,
    -7.79220089689074e-15,
    -8.382754537634655e-15,
    -1.489640623562027e-15,
    1.9003591194608167e-16,
    1.5011723739968994e-16,
    2.6253457559398673e-17,
    -3.609633613052392e-18,
    -2.9224384239094176e-18,
    -5.662582092045363e-19,
)
_SQRT2PI = 2.5066282746310002

# Acklam's rational approximation of the normal quantile on [0.02425, 0.97575] (P. J. Acklam,
# "An algorithm for computing the inverse normal cumulative distribution function", 2003)
_ACK_A = (
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.3577518672690,
    -30.66479806614716,
    2.506628277459239,
)
_ACK_B = (
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
    1.0,
)
# tail: ndtri(p) = -g(sqrt(-2 log p)) for p < 0.02425, g a Chebyshev series on the interval of
# sqrt(-2 log p) for p in [5e-8, 0.02425] (fitted to scipy.special.ndtri by least squares)
_TAIL_T = (2.727393870198672, 5.79848994679102)
_TAIL_CHEB = (
    -3.669117735151598,
    -1.67408494340245,
    0.018854892892434635,
    -0.0027317130145241043,
    0.00041020370611959703,
    -6.313819191217359e-05,
    9.907032339503795e-06,
    -1.579876095138878e-06,
    2.5553748426428656e-07,
    -4.1855580600949335e-08,
    6.933110153083791e-09,
    -1.1595167771788239e-09,
    1.956926326112263e-10,
    -3.2781209230985425e-11,
    5.612417500503927e-12,
)


def _horner(coef, t):
    acc = coef[0] + 0.0 * t
    for a in coef[1:]:
        acc = acc * t + a
    return acc


def _clenshaw(coef, u):
    """``sum_k coef[k] T_k(u)`` (``coef[0]`` taken as it is)."""
    b1 = 0.0 * u
    b2 = 0.0 * u
    for a in coef[:0:-1]:
        b1, b2 = 2.0 * u * b1 - b2 + a, b1
    return u * b1 - b2 + coef[0]


def _lower_tail(a, xp):
    """``Phi(-a)`` for ``a >= 1`` (``a`` clipped to ``[1, 40]``; ``Phi(-40)`` underflows)."""
    a = xp.clip(a, 1.0, 40.0)
    y = (a - 2.0) / (a + 2.0)
    t = (y - _YLO) * (2.0 / (1.0 - _YLO)) - 1.0
    g = _clenshaw(_TAIL, t)
    ah = xp.floor(a * 16.0) / 16.0
    e = xp.exp(-0.5 * (ah * ah)) * xp.exp(-0.5 * ((a - ah) * (a + ah)))
    return e * g / a


def ndtr_xp(x, xp):
    """The standard normal CDF of the float64 array ``x`` in Array API operations (NaN kept,
    ``+-inf`` to 1 and 0)."""
    a = xp.abs(x)
    s = xp.clip(x * x, 0.0, 1.0)
    central = 0.5 + x * _clenshaw(_CENTRAL, 2.0 * s - 1.0)
    q = _lower_tail(a, xp)
    tail = xp.where(x < 0.0, q, 1.0 - q)
    out = xp.where(a < 1.0, central, tail)
    return xp.where(xp.isnan(x), xp.nan, out)


def _ndtri_guess(p, xp):
    plow = 0.02425
    q = p - 0.5
    r = q * q
    central = q * _horner(_ACK_A, r) / _horner(_ACK_B, r)
    tail_p = xp.clip(xp.where(p < 0.5, p, 1.0 - p), 5e-8, 0.5)
    t = xp.sqrt(-2.0 * xp.log(tail_p))
    t0, t1 = _TAIL_T
    u = xp.clip((2.0 * t - (t0 + t1)) / (t1 - t0), -1.0, 1.0)
    tail = _clenshaw(_TAIL_CHEB, u)
    tail = xp.where(p < 0.5, tail, -tail)
    return xp.where((p >= plow) & (p <= 1.0 - plow), central, tail)


def ndtri_xp(p, xp):
    """Standard normal quantile of ``p`` in ``[1e-7, 1 - 1e-7]`` in Array API operations:
    Acklam's rational approximation on ``[0.02425, 0.97575]`` and a Chebyshev series in
    ``sqrt(-2 log p)`` in the tails (valid for ``p >= 5e-8``; relative error below
    ``1.2e-9``), then one Newton step on :func:`ndtr_xp`, taken on the lower side
    (``1 - p`` is exact for ``p >= 1/2``) where the CDF has full relative precision. Relative
    error about ``1e-15``, tested against ``scipy.special.ndtri``. The normal output is
    clipped to that range first."""
    upper = p > 0.5
    r = xp.where(upper, 1.0 - p, p)  # exact (Sterbenz) for p in [1/2, 1]
    x = _ndtri_guess(r, xp)  # <= 0
    x = x - (ndtr_xp(x, xp) - r) * (_SQRT2PI * xp.exp(0.5 * (x * x)))
    return xp.where(upper, -x, x)


# ----------------------------------------------------------------------------- kernel sums
def _kernel_cdf(u, kernel, gammas, xp):
    if kernel == K.GAUSSIAN:
        return ndtr_xp(u, xp)
    a = xp.abs(u)
    tail = xp.exp(-xp.clip(a, 0.0, 745.0)) * _horner(tuple(float(v) for v in gammas[::-1]), a)
    tail = xp.where(a > 745.0, 0.0, tail)
    return xp.where(u < 0.0, tail, 1.0 - tail)


def _kernel_pdf(u, kernel, betas, xp):
    a = xp.abs(u)
    if kernel == K.GAUSSIAN:
        d = K._INV_SQRT2PI * xp.exp(-0.5 * xp.clip(u * u, 0.0, 1600.0))
        return xp.where(a > 40.0, 0.0, d)
    d = xp.exp(-xp.clip(a, 0.0, 745.0)) * _horner(tuple(float(v) for v in betas[::-1]), a)
    return xp.where(a > 745.0, 0.0, d)


def direct_cdf_xp(z, data, xp, density=False, block=None):
    """The KDE CDF (weight units) at the 1-D float64 points ``z`` (no NaN) over one feature's
    sorted data ``data = (xs, ws, cw, h, support, kernel, betas, gammas)`` (``cw`` the
    cumulative weights with ``cw[0] = 0``, length ``len(xs) + 1``), as ``direct_cdf`` of the
    kernels: what lies more than ``support`` bandwidths left of a point counts fully, what lies
    more than ``support`` right counts zero, the rest one by one. Summed in blocks of rows and
    support offsets of at most ``block`` elements (:data:`BLOCK` by default). Returns ``F`` or
    ``(F, density * h)``."""
    block = BLOCK if block is None else int(block)
    xs, ws, cw, h, support, kernel, betas, gammas = data
    n = z.shape[0]
    dev = getattr(z, "device", None)
    i0 = xp.searchsorted(xs, z - support * h, side="left")
    i1 = xp.searchsorted(xs, z + support * h, side="right")
    F = xp.take(cw, i0)
    span = i1 - i0
    width = int(xp.max(span)) if n else 0
    if width == 0:
        return (F, xp.zeros_like(F)) if density else F
    lb = min(width, block)
    rows = max(1, block // lb)
    sums, dsums = [], []
    last = xs.shape[0] - 1
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        zz, a0, a1 = z[r0:r1], i0[r0:r1], i1[r0:r1]
        w_r = int(xp.max(a1 - a0))
        acc = xp.zeros(r1 - r0, dtype=xp.float64, device=dev)
        dacc = xp.zeros(r1 - r0, dtype=xp.float64, device=dev)
        for k0 in range(0, w_r, lb):
            k = min(lb, w_r - k0)
            offs = xp.arange(k0, k0 + k, dtype=a0.dtype, device=dev)
            idx = a0[:, None] + offs[None, :]
            valid = idx < a1[:, None]
            flat = xp.reshape(xp.clip(idx, 0, last), (-1,))
            xv = xp.reshape(xp.take(xs, flat), idx.shape)
            wv = xp.where(valid, xp.reshape(xp.take(ws, flat), idx.shape), 0.0)
            u = (zz[:, None] - xv) / h
            acc = acc + xp.sum(wv * _kernel_cdf(u, kernel, gammas, xp), axis=1)
            if density:
                dacc = dacc + xp.sum(wv * _kernel_pdf(u, kernel, betas, xp), axis=1)
        sums.append(acc)
        dsums.append(dacc)
    F = F + xp.concat(sums)
    if density:
        return F, xp.concat(dsums)
    return F


# ----------------------------------------------------------------------------- the fitted map
class _Device:
    """The fitted table (``_table`` of the estimator) as arrays of namespace ``xp`` on
    ``device``, converted on first use."""

    def __init__(self, t, xp, device):
        self.t, self.xp, self.device = t, xp, device
        self._cache = {}

    def __getitem__(self, name):
        if name not in self._cache:
            a = np.asarray(self.t[name])
            self._cache[name] = self.xp.asarray(a, device=self.device)
        return self._cache[name]

    def feature_data(self, j):
        """``data`` of :func:`direct_cdf_xp` for feature ``j``."""
        t = self.t
        a, b = int(t["doff"][j]), int(t["doff"][j + 1])
        xs = self["xs"][a:b]
        ws = self["ws"][a:b]
        cw = self["cw"][a : b + 1] - self["cw"][a]
        return (
            xs,
            ws,
            cw,
            float(t["h"][j]),
            float(t["support"]),
            int(t["kernel"]),
            np.asarray(t["betas"]),
            np.asarray(t["gammas"]),
        )


def _to_z(x, c, s, xp):
    d = x - c
    return xp.where(xp.abs(d) <= 1.0e308, d / s, (0.5 * x - 0.5 * c) / (0.5 * s))


def _from_z(z, c, s, lo, hi, xp):
    x = c + s * z
    x = xp.where(xp.abs(x) <= 1.0e308, x, 2.0 * (0.5 * c + (0.5 * s) * z))
    return xp.clip(x, lo, hi)


def _hermite_xp(T, M, g, u, xp):
    """Clipped cubic Hermite interpolation of one feature's table at grid coordinates ``u``
    (as ``_hermite`` of the kernels)."""
    k = xp.clip(xp.astype(xp.floor(u), xp.int64), 0, g - 2)
    th = xp.clip(u - xp.astype(k, xp.float64), 0.0, 1.0)
    y0, y1 = xp.take(T, k), xp.take(T, k + 1)
    m0, m1 = xp.take(M, k), xp.take(M, k + 1)
    t2 = th * th
    t3 = t2 * th
    y = (2.0 * t3 - 3.0 * t2 + 1.0) * y0 + (t3 - 2.0 * t2 + th) * m0
    y = y + (-2.0 * t3 + 3.0 * t2) * y1 + (t3 - t2) * m1
    return xp.clip(y, y0, y1)


def _fill(mask, values, base, xp):
    """``base`` with ``values`` (one per ``True`` of ``mask``, in order) where ``mask``."""
    pos = xp.clip(xp.cumulative_sum(xp.astype(mask, xp.int64)) - 1, 0, values.shape[0] - 1)
    return xp.where(mask, xp.take(values, pos), base)


def _direct_column(col, j, tab, extrapolate, xp):
    """The map of one directly evaluated (or extrapolated) feature at the finite or NaN
    values ``col`` (float64)."""
    t = tab.t
    c, s, lo, hi = (float(t[k][j]) for k in ("c", "s", "lo", "hi"))
    fmin, fspan = float(t["fmin"][j]), float(t["fspan"][j])
    nan = xp.isnan(col)
    z = _to_z(xp.where(nan, c, col), c, s, xp)
    y = (direct_cdf_xp(z, tab.feature_data(j), xp) - fmin) / fspan
    inside = (col >= lo) & (col <= hi)
    y = xp.where(inside, xp.clip(y, 0.0, 1.0), y)
    if not extrapolate:
        y = xp.where(col < lo, 0.0, xp.where(col > hi, 1.0, y))
    return xp.where(nan, xp.nan, y)


def forward_xp(t, X, extrapolate, xp):
    """The fitted map (uniform output, float64) of the 2-D array ``X`` of namespace ``xp``;
    ``t`` the estimator's ``_table``."""
    dev = getattr(X, "device", None)
    tab = _Device(t, xp, dev)
    Xf = xp.astype(X, xp.float64)
    mode = t["mode"]
    g_np = np.maximum(t["gsize"], 2)
    c, s, lo, hi = tab["c"], tab["s"], tab["lo"], tab["hi"]
    g = xp.asarray(g_np.astype(np.float64), device=dev)
    if t["T"].size:
        T, M = tab["T"], tab["M"]
    else:
        T = M = xp.zeros(2, dtype=xp.float64, device=dev)
    off = xp.asarray(t["toff"], device=dev)
    u = (((Xf - c) / s) + 1.0) * (0.5 * (g - 1.0))
    u = xp.clip(xp.where(xp.isnan(u), 0.0, u), 0.0, g - 1.0)
    k = xp.clip(xp.astype(xp.floor(u), xp.int64), 0, xp.astype(g, xp.int64) - 2)
    th = u - xp.astype(k, xp.float64)
    grid = xp.asarray(mode == K.MODE_GRID, device=dev)
    idx = xp.reshape(xp.where(grid, k + off, 0), (-1,))
    y0 = xp.reshape(xp.take(T, idx), Xf.shape)
    y1 = xp.reshape(xp.take(T, idx + 1), Xf.shape)
    m0 = xp.reshape(xp.take(M, idx), Xf.shape)
    m1 = xp.reshape(xp.take(M, idx + 1), Xf.shape)
    t2, t3 = th * th, th * th * th
    y = (2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + th) * m0 + (-2 * t3 + 3 * t2) * y1
    y = xp.clip(y + (t3 - t2) * m1, y0, y1)
    y = xp.where(Xf < lo, 0.0, xp.where(Xf > hi, 1.0, y))
    const = xp.asarray(mode == K.MODE_CONSTANT, device=dev)
    empty = xp.asarray(mode == K.MODE_EMPTY, device=dev)
    y = xp.where(const, xp.where(Xf <= lo, xp.zeros_like(y), 1.0), y)
    y = xp.where(empty, 0.5, y)
    y = xp.where(xp.isnan(Xf), xp.nan, y)
    special = [
        j
        for j in range(Xf.shape[1])
        if mode[j] == K.MODE_DIRECT or (extrapolate and mode[j] == K.MODE_GRID)
    ]
    if not special:
        return y
    cols = [y[:, j] for j in range(Xf.shape[1])]
    for j in special:
        col = Xf[:, j]
        if mode[j] == K.MODE_DIRECT:
            cols[j] = _direct_column(col, j, tab, extrapolate, xp)
            continue
        # a table feature, extrapolated: the tails from the stored data, outside the range
        outside = (col < float(t["lo"][j])) | (col > float(t["hi"][j]))
        if not bool(xp.any(outside)):
            continue
        pick = xp.nonzero(outside)[0]
        vals = _direct_column(xp.take(col, pick), j, tab, True, xp)
        cols[j] = _fill(outside, vals, cols[j], xp)
    return xp.stack(cols, axis=1)


def _invert_table(y, j, tab, xp):
    """Grid coordinates of ``y`` in ``[0, 1]`` under feature ``j``'s interpolating cubic: its
    interval by a search of the table, then 50 halvings (as ``_invert_hermite``)."""
    t = tab.t
    o, g = int(t["toff"][j]), int(t["gsize"][j])
    T = tab["T"][o : o + g]
    M = tab["M"][o : o + g]
    a = xp.clip(xp.searchsorted(T, y, side="right") - 1, 0, g - 2)
    flat = xp.take(T, a + 1) <= xp.take(T, a)
    af = xp.astype(a, xp.float64)
    lo_t = xp.zeros_like(y)
    hi_t = xp.ones_like(y)
    for _ in range(50):  # the kernel stops when hi - lo < 1e-15, after 50 halvings
        mid = 0.5 * (lo_t + hi_t)
        below = _hermite_xp(T, M, g, af + mid, xp) < y
        lo_t = xp.where(below, mid, lo_t)
        hi_t = xp.where(below, hi_t, mid)
    return xp.where(flat, af + 0.5, af + 0.5 * (lo_t + hi_t))


def _invert_direct(y, j, tab, xp):
    """Standard-frame points ``z`` with ``F(z) = fmin + y fspan`` for feature ``j`` evaluated
    directly: the bracketing pair of data points, then safeguarded Newton (as
    ``_inverse_one``)."""
    t = tab.t
    data = tab.feature_data(j)
    xs, h = data[0], data[3]
    m = xs.shape[0]
    target = float(t["fmin"][j]) + y * float(t["fspan"][j])
    Fx = direct_cdf_xp(xs, data, xp)
    ia = xp.clip(xp.searchsorted(Fx, target, side="right") - 1, 0, m - 2)
    za, zb = xp.take(xs, ia), xp.take(xs, ia + 1)
    z = 0.5 * (za + zb)
    active = xp.ones(y.shape, dtype=xp.bool, device=getattr(y, "device", None))
    for _ in range(100):
        F, dens = direct_cdf_xp(z, data, xp, density=True)
        low = F < target
        za = xp.where(active & low, z, za)
        zb = xp.where(active & ~low, z, zb)
        pos = dens > 0.0
        zn = z - (F - target) * h / xp.where(pos, dens, 1.0)
        zn = xp.where(pos & (za < zn) & (zn < zb), zn, 0.5 * (za + zb))
        tol = 1e-15 * (1.0 + xp.abs(z))
        done = (xp.abs(zn - z) <= tol) | (zb - za <= tol)
        z = xp.where(active, zn, z)
        active = active & ~done
        if not bool(xp.any(active)):
            break
    return z


def inverse_xp(t, Y, xp):
    """The inverse of the fitted map at the uniform-scale float64 array ``Y`` of namespace
    ``xp`` (NaN kept)."""
    dev = getattr(Y, "device", None)
    tab = _Device(t, xp, dev)
    mode = t["mode"]
    cols = []
    for j in range(Y.shape[1]):
        col = Y[:, j]
        lo, hi, c, s = (float(t[k][j]) for k in ("lo", "hi", "c", "s"))
        if mode[j] == K.MODE_EMPTY:
            cols.append(xp.full(col.shape, xp.nan, dtype=xp.float64, device=dev))
            continue
        if mode[j] == K.MODE_CONSTANT:
            cols.append(xp.where(xp.isnan(col), xp.nan, xp.full_like(col, lo)))
            continue
        yc = xp.where(xp.isnan(col), 0.5, xp.clip(col, 0.0, 1.0))
        if mode[j] == K.MODE_GRID:
            g = int(t["gsize"][j])
            z = _invert_table(yc, j, tab, xp) / (0.5 * (g - 1)) - 1.0
        else:
            z = _invert_direct(yc, j, tab, xp)
        x = _from_z(z, c, s, lo, hi, xp)
        x = xp.where(col <= 0.0, lo, xp.where(col >= 1.0, hi, x))
        cols.append(xp.where(xp.isnan(col), xp.nan, x))
    return xp.stack(cols, axis=1)
