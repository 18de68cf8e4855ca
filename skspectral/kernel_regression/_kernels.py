"""Numba kernels of the lattice / digital-net kernel regressors.

One-dimensional kernel factors:

* shift-invariant (SI), on the torus: ``phi_a(t) = (-1)**(a+1) (2 pi)**(2a) / (2a)! B_2a({t})``
  with ``B_2a`` the Bernoulli polynomial, i.e. ``sum_{h != 0} |h|**(-2a) exp(2 pi i h t)``
  (Hickernell 1998; Jagadeeswaran and Hickernell 2019), written in ``u = t (1 - t)``;
* digitally shift-invariant (DSI), of ``t = x XOR y`` on 32-bit integers:
  ``psi_a(t) = 2 sum_{k >= 1} 4**(-mu_a(k)) wal_k(t)`` with ``mu_a(k)`` the sum of the ``a``
  highest bit positions of ``k`` (Dick 2008, higher-order Walsh spaces). For ``a = 1`` this is
  the closed form ``1 - 3 * 2**floor(log2 t)``; for ``a >= 2`` it is evaluated by a recursion
  over the binary digits of ``t`` (one pass, ``a`` accumulators): writing ``s_j = (-1)**t_j``
  and ``H_r(c) = 1 + sum_{j < c} 4**(-j) s_j H_{r-1}(j)``, ``H_0(c) = prod_{j < c} (1 + s_j)``,
  the series is ``2 (H_a(inf) - 1)``.

The product kernel is ``prod_j (1 + w_j f(x_j - y_j))``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._backend import threaded_kernel

_TWO_PI = 2.0 * math.pi
SI_CONST = (
    0.0,
    _TWO_PI**2 / 2.0,
    -(_TWO_PI**4) / 24.0,
    _TWO_PI**6 / 720.0,
    -(_TWO_PI**8) / 40320.0,
)
SI_CONST_ARR = np.array(SI_CONST)
# b_alpha(u) of the Bernoulli polynomials B_2a(t) in u = t (1 - t), coefficients of u**k
BERN_U = np.array(
    [
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [1.0 / 6.0, -1.0, 0.0, 0.0, 0.0],
        [-1.0 / 30.0, 0.0, 1.0, 0.0, 0.0],
        [1.0 / 42.0, 0.0, -0.5, -1.0, 0.0],
        [-1.0 / 30.0, 0.0, 2.0 / 3.0, 4.0 / 3.0, 1.0],
    ]
)
_NET_SCALE = 2.0**-32
_DSI_DIGITS = 60  # digits of the recursion: the tail beyond is below 2**-60 relative


@njit(cache=True, nogil=True, inline="always")
def si_factor(t, alpha, r):
    """``phi_alpha(t)`` for any real ``t`` (taken modulo 1); ``alpha == 0``: the analytic
    kernel ``(1 - r**2) / (1 - 2 r cos(2 pi t) + r**2) - 1 = 2 sum_h r**h cos(2 pi h t)``."""
    if alpha == 0:
        return (1.0 - r * r) / (1.0 - 2.0 * r * math.cos(6.283185307179586 * t) + r * r) - 1.0
    t = t - math.floor(t)
    u = t * (1.0 - t)
    if alpha == 1:
        b = 1.0 / 6.0 - u
    elif alpha == 2:
        b = u * u - 1.0 / 30.0
    elif alpha == 3:
        b = (-u - 0.5) * u * u + 1.0 / 42.0
    else:
        b = ((u + 4.0 / 3.0) * u + 2.0 / 3.0) * u * u - 1.0 / 30.0
    if alpha == 1:
        return 19.739208802178716 * b
    elif alpha == 2:
        return -64.93939402266829 * b
    elif alpha == 3:
        return 85.45681720672748 * b
    return -60.24464137187666 * b


@njit(cache=True, nogil=True, inline="always")
def dsi_factor(t, alpha):
    """``psi_alpha`` of the 32-bit integer ``t`` (``x XOR y`` of the integer coordinates)."""
    if alpha == 1:
        if t == 0:
            return 1.0
        h = t
        h |= h >> np.uint64(1)
        h |= h >> np.uint64(2)
        h |= h >> np.uint64(4)
        h |= h >> np.uint64(8)
        h |= h >> np.uint64(16)
        h = h - (h >> np.uint64(1))  # highest set bit
        return 1.0 - 3.0 * (float(h) * _NET_SCALE)
    h0 = 1.0
    h1 = 1.0
    h2 = 1.0
    h3 = 1.0
    h4 = 1.0
    q = 1.0
    for j in range(1, _DSI_DIGITS + 1):
        q *= 0.25
        if j <= 32:
            s = -1.0 if (t >> np.uint64(32 - j)) & np.uint64(1) else 1.0
        else:
            s = 1.0
        qs = q * s
        if alpha >= 4:
            h4 += qs * h3
        if alpha >= 3:
            h3 += qs * h2
        h2 += qs * h1
        h1 += qs * h0
        h0 *= 1.0 + s
    if alpha == 2:
        return 2.0 * (h2 - 1.0)
    if alpha == 3:
        return 2.0 * (h3 - 1.0)
    return 2.0 * (h4 - 1.0)


@threaded_kernel()
def si_factors(u, alpha, r, out):
    """``out[i, j] = phi_alpha(u[i, j])``."""
    for i in prange(u.shape[0]):
        for j in range(u.shape[1]):
            out[i, j] = si_factor(u[i, j], alpha, r)


@threaded_kernel()
def dsi_factors(t, alpha, out):
    """``out[i, j] = psi_alpha(t[i, j])`` for integer ``t``."""
    for i in prange(t.shape[0]):
        for j in range(t.shape[1]):
            out[i, j] = dsi_factor(t[i, j], alpha)


@njit(cache=True, nogil=True)
def product_columns(phi, w, out):
    """Kernel column minus one: ``out[i] = prod_j (1 + w_j phi[i, j]) - 1``, accumulated as
    ``q <- q + a (1 + q)`` so that the constant part never cancels."""
    n, d = phi.shape
    for i in range(n):
        q = 0.0
        for j in range(d):
            a = w[j] * phi[i, j]
            q = q + a * (1.0 + q)
        out[i] = q


@njit(cache=True, nogil=True, error_model="numpy")  # IEEE results: the caller rejects inf / nan
def spectral_criterion(lam0, S, s, eta, nk, gcv, c):
    """The fast path's criterion, its derivative in each eigenvalue, and its gradient in
    ``log s`` and ``log eta``.

    ``lam = s lam0 + eta`` (eigenvalues), ``S`` the squared transformed targets (summed over
    the ``nk`` targets). Negative log marginal likelihood (less its constant):
    ``sum(S / lam + nk log lam) / 2``; GCV: ``log sum(S / lam**2) - 2 log sum(1 / lam)``.
    ``c[i]`` receives ``d criterion / d lam[i]``; returns the criterion and its derivatives in
    ``log s`` and ``log eta`` (those in ``log w_j`` follow from ``c`` through one transform and
    :func:`weight_gradient`). No BLAS call: these are short vector sums, which a threaded BLAS
    only slows down.
    """
    n = lam0.shape[0]
    A = 0.0
    B = 0.0
    if gcv:
        for i in range(n):
            lam = s * lam0[i] + eta
            A += S[i] / (lam * lam)
            B += 1.0 / lam
        val = math.log(A) - 2.0 * math.log(B)
    else:
        val = 0.0
        for i in range(n):
            lam = s * lam0[i] + eta
            val += S[i] / lam + nk * math.log(lam)
        val *= 0.5
    g_s = 0.0
    g_eta = 0.0
    for i in range(n):
        lam = s * lam0[i] + eta
        if gcv:
            ci = -2.0 * S[i] / (lam * lam * lam) / A + 2.0 / (lam * lam * B)
        else:
            ci = 0.5 * (nk / lam - S[i] / (lam * lam))
        c[i] = ci
        g_s += ci * s * lam0[i]
        g_eta += ci * eta
    return val, g_s, g_eta


@njit(cache=True, nogil=True)
def weight_gradient(phi, w, u, out):
    """``out[j] = sum_i u[i] w_j phi[i, j] prod_{l != j} (1 + w_l phi[i, l])``: the
    derivatives in ``log w_j`` of the kernel column contracted with ``u`` (prefix and suffix
    products, no division)."""
    n, d = phi.shape
    pre = np.empty(d + 1)
    for j in range(d):
        out[j] = 0.0
    for i in range(n):
        pre[0] = 1.0
        for j in range(d):
            pre[j + 1] = pre[j] * (1.0 + w[j] * phi[i, j])
        suf = u[i]
        for j in range(d - 1, -1, -1):
            out[j] += w[j] * phi[i, j] * pre[j] * suf
            suf *= 1.0 + w[j] * phi[i, j]


@njit(cache=True, nogil=True, fastmath=True)
def _si_dim_update(prod, row, a, q0, q1, q2, q3, q4):
    """``prod[i] *= sum_k q_k u_i**k`` with ``u_i = |a - row[i]| (1 - |a - row[i]|)``."""
    for i in range(prod.shape[0]):
        s = abs(a - row[i])
        u = s - s * s
        prod[i] *= (((q4 * u + q3) * u + q2) * u + q1) * u + q0


@njit(cache=True, nogil=True, fastmath=True)
def _an_dim_update(prod, row, a, wj, r):
    for i in range(prod.shape[0]):
        prod[i] *= 1.0 + wj * (
            (1.0 - r * r) / (1.0 - 2.0 * r * math.cos(6.283185307179586 * (a - row[i])) + r * r)
            - 1.0
        )


@threaded_kernel()
def si_predict(xt, xtr, w, coef, alpha, r, block, out):
    """``out[p, k] = sum_i coef[i, k] prod_j (1 + w_j phi(xt[p, j] - xtr[j, i]))``.

    Points in ``[0, 1)``. ``xtr`` is the training design transposed (``(d, n)``, contiguous
    over points so the inner loop vectorizes); training points are visited in blocks of
    ``block`` that stay in cache while a thread runs its 16 test points over them; the
    Bernoulli factor is one branch-free Horner polynomial per point and dimension
    (:func:`si_poly`, ``alpha >= 1``), the analytic one (``alpha == 0``) a cosine.
    """
    m = xt.shape[0]
    d = xtr.shape[0]
    n = xtr.shape[1]
    nk = coef.shape[1]
    q = np.zeros((d, 5))
    if alpha > 0:
        for j in range(d):
            q[j, 0] = 1.0
        for j in range(d):
            c = SI_CONST_ARR[alpha] * w[j]
            for k in range(5):
                q[j, k] += c * BERN_U[alpha, k]
    ntb = (m + 15) // 16
    for tb in prange(ntb):
        p0 = tb * 16
        p1 = min(m, p0 + 16)
        prod = np.empty(block)
        acc = np.zeros((p1 - p0, nk))
        for b0 in range(0, n, block):
            b1 = min(n, b0 + block)
            nb = b1 - b0
            pv = prod[:nb]
            for p in range(p0, p1):
                pv[:] = 1.0
                for j in range(d):
                    if alpha > 0:
                        _si_dim_update(
                            pv, xtr[j, b0:b1], xt[p, j], q[j, 0], q[j, 1], q[j, 2], q[j, 3], q[j, 4]
                        )
                    else:
                        _an_dim_update(pv, xtr[j, b0:b1], xt[p, j], w[j], r)
                for k in range(nk):
                    s = 0.0
                    for i in range(nb):
                        s += pv[i] * coef[b0 + i, k]
                    acc[p - p0, k] += s
        for p in range(p0, p1):
            for k in range(nk):
                out[p, k] = acc[p - p0, k]


@threaded_kernel()
def dsi_predict(xt, xtr, w, coef, alpha, r, block, out):
    """:func:`si_predict` for the DSI kernel on integer coordinates (``x XOR y``)."""
    m = xt.shape[0]
    d = xtr.shape[0]
    n = xtr.shape[1]
    nk = coef.shape[1]
    ntb = (m + 15) // 16
    for tb in prange(ntb):
        p0 = tb * 16
        p1 = min(m, p0 + 16)
        prod = np.empty(block)
        acc = np.zeros((p1 - p0, nk))
        for b0 in range(0, n, block):
            b1 = min(n, b0 + block)
            nb = b1 - b0
            for p in range(p0, p1):
                for i in range(nb):
                    prod[i] = 1.0
                for j in range(d):
                    a = xt[p, j]
                    wj = w[j]
                    row = xtr[j]
                    for i in range(nb):
                        prod[i] *= 1.0 + wj * dsi_factor(a ^ row[b0 + i], alpha)
                for k in range(nk):
                    s = 0.0
                    for i in range(nb):
                        s += prod[i] * coef[b0 + i, k]
                    acc[p - p0, k] += s
        for p in range(p0, p1):
            for k in range(nk):
                out[p, k] = acc[p - p0, k]


@threaded_kernel()
def si_cross(xt, xtr, w, alpha, r, out):
    """``out[p, i] = prod_j (1 + w_j phi(xt[p, j] - xtr[j, i]))`` (points in ``[0, 1)``)."""
    d = xtr.shape[0]
    q = np.zeros((d, 5))
    if alpha > 0:
        for j in range(d):
            q[j, 0] = 1.0
            c = SI_CONST_ARR[alpha] * w[j]
            for k in range(5):
                q[j, k] += c * BERN_U[alpha, k]
    for p in prange(xt.shape[0]):
        row_out = out[p]
        row_out[:] = 1.0
        for j in range(d):
            if alpha > 0:
                _si_dim_update(
                    row_out, xtr[j], xt[p, j], q[j, 0], q[j, 1], q[j, 2], q[j, 3], q[j, 4]
                )
            else:
                _an_dim_update(row_out, xtr[j], xt[p, j], w[j], r)


@threaded_kernel()
def dsi_cross(xt, xtr, w, alpha, r, out):
    """:func:`si_cross` for the DSI kernel on integer coordinates."""
    d = xtr.shape[0]
    n = xtr.shape[1]
    for p in prange(xt.shape[0]):
        for i in range(n):
            out[p, i] = 1.0
        for j in range(d):
            a = xt[p, j]
            wj = w[j]
            for i in range(n):
                out[p, i] *= 1.0 + wj * dsi_factor(a ^ xtr[j, i], alpha)


@threaded_kernel()
def dense_weighted_grad(phi_fun_net, xf, xi, w, alpha, r, W, out):
    """``out[j] = sum_{a, b} W[a, b] d R[a, b] / d log w_j`` for the dense fallback, with the
    factors computed on the fly (``phi_fun_net``: 0 SI on floats ``xf``, 1 DSI on ints ``xi``)."""
    n = W.shape[0]
    d = w.shape[0]
    part = np.zeros((n, d))
    for a in prange(n):
        f = np.empty(d)
        pre = np.empty(d + 1)
        for b in range(n):
            for j in range(d):
                if phi_fun_net == 0:
                    f[j] = si_factor(xf[a, j] - xf[b, j], alpha, r)
                else:
                    f[j] = dsi_factor(xi[a, j] ^ xi[b, j], alpha)
            pre[0] = 1.0
            for j in range(d):
                pre[j + 1] = pre[j] * (1.0 + w[j] * f[j])
            suf = 1.0
            for j in range(d - 1, -1, -1):
                part[a, j] += W[a, b] * w[j] * f[j] * pre[j] * suf
                suf *= 1.0 + w[j] * f[j]
    for j in range(d):
        s = 0.0
        for a in range(n):
            s += part[a, j]
        out[j] = s
