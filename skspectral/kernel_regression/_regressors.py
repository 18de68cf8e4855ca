"""LatticeKernelRegressor and DigitalNetKernelRegressor."""

from __future__ import annotations

import math

import numpy as np

from .. import fft as sfft
from .._backend import effective_n_jobs
from ..qmc import DigitalNet, Lattice, periodize
from . import _kernels as K
from ._base import _SpectralKernelRegressor

_DOC_PARAMS = """
    Parameters
    ----------
    design : {design} or None, default=None
        The design ``X`` was sampled from (its generators, shift, box and periodization are
        used). ``None``: the shipped default generators on the unit cube, any shift.
    smoothness : int in {{1, 2, 3, 4}}, default={default}
        Smoothness of the kernel.
    decay : float in (0, 1), "auto" or None, default=None
        Lattice only. When set, the analytic shift-invariant kernel
        ``(1 - r**2) / (1 - 2 r cos(2 pi t) + r**2) - 1`` (Fourier coefficients ``r**|h|``)
        replaces the Bernoulli one: exponentially decaying spectrum, for smooth (e.g.
        periodized non-periodic) targets. ``"auto"`` picks ``r`` from a small grid by the
        fitted criterion.
    weights : float or array-like of shape (n_features,), default=1.0
        Per-dimension weights ``w_j`` (initial values when ``objective`` is set).
    scale : float, default=1.0
        Kernel scale ``s`` (initial value when ``objective`` is set).
    nugget : float, default=1e-10
        Noise variance ``eta`` on the standardized targets (initial value if learned).
    learn_nugget : bool, default=False
        Optimize the nugget too.
    objective : {{"mle", "gcv", "loo"}} or None, default="mle"
        Hyper-parameter criterion, minimized by L-BFGS-B over the log-parameters with
        analytic gradients: negative log marginal likelihood, generalized cross-validation, or
        leave-one-out squared error. On a design the leave-one-out diagonal is constant, so
        "gcv" and "loo" coincide there. ``None`` keeps the given values.
    max_iter : int, default=200
        L-BFGS-B iterations.
    max_dense : int, default=4096
        Largest ``n`` fitted by dense Cholesky when ``X`` is not a design (with a
        :class:`DenseFallbackWarning`); beyond it ``fit`` raises ValueError.
    tol : float, default=1e-8
        Tolerance (in unit-cube coordinates) of the design recognition.
    normalize_y : bool, default=True
        Standardize the targets (mean 0, variance 1) before fitting.
    batch_size : int, default=1024
        Training points per cache block in ``predict``.
    n_jobs : int, default=None
        Threads (joblib's meaning) of the numba kernels and transforms.
    verbose : int, default=0

    Attributes
    ----------
    fast_path_ : bool
        Whether the fit ran on the fast transform path.
    scale_, weights_, nugget_ : fitted hyper-parameters.
    eigenvalues_ : ndarray of shape (n_samples,)
        Eigenvalues of ``K = s R + eta I`` (fast path), in transform order.
    design_order_ : ndarray of int (fast path)
        Training row at each position of the design order.
    dual_coef_ : ndarray of shape (n_samples, n_targets)
        ``K^{{-1}} y`` (standardized ``y``), in design order on the fast path.
    log_marginal_likelihood_value_ : float
    objective_value_ : float
    design_ : the design in use.
    n_features_in_, feature_names_in_
"""


class LatticeKernelRegressor(_SpectralKernelRegressor):
    __doc__ = (
        """Kernel (Gaussian-process) regression with a shift-invariant kernel, fast on lattices.

    The kernel is ``s prod_j (1 + w_j phi_alpha(x_j - x'_j))`` with ``phi_alpha`` the scaled
    Bernoulli polynomial of degree ``2 alpha`` (a Korobov-space kernel of smoothness
    ``smoothness``). When ``X`` is a rank-1 lattice (:class:`skspectral.qmc.Lattice`) of ``2**m``
    points, in any row order, the Gram matrix is circulant in radical-inverse order and
    fit / log-determinant / leave-one-out / posterior variance run in ``O(n log n)`` with
    :func:`skspectral.fft.fftbr` (Jagadeeswaran and Hickernell, "Fast automatic Bayesian
    cubature using lattice sampling", Stat. Comput. 29, 2019; Sorokin et al., arXiv
    2502.14256). Other inputs get the same model by dense Cholesky.
"""
        + _DOC_PARAMS.format(design="Lattice", default=2)
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.qmc import Lattice
    >>> from skspectral.kernel_regression import LatticeKernelRegressor
    >>> X = Lattice(2, seed=0).random(256)
    >>> y = np.sin(2 * np.pi * X[:, 0]) * np.cos(2 * np.pi * X[:, 1])
    >>> reg = LatticeKernelRegressor().fit(X, y)
    >>> reg.fast_path_
    True
    >>> bool(np.abs(reg.predict(X[:5]) - y[:5]).max() < 1e-3)
    True
    """
    )

    _design_class = Lattice
    _net = False

    def _fwd(self, v):
        return sfft.fftbr(v, axis=-1, workers=effective_n_jobs(self.n_jobs))

    def _fwd_real(self, v):
        return self._fwd(v).real

    def _inv_real(self, v):
        return sfft.ifftbr(v, axis=-1, workers=effective_n_jobs(self.n_jobs)).real

    def _double(self, a, b):
        return sfft.fftbr_double(a, b, axis=-1)

    def _coords(self, U):
        U = np.asarray(U, dtype=np.float64)
        return np.ascontiguousarray(U - np.floor(U))  # on the torus, in [0, 1)

    def _factors(self, E):
        phi = np.empty(E.shape)
        K.si_factors(effective_n_jobs(self.n_jobs), E, *self._kargs(), phi)
        return phi

    def _recognize(self, T, extension=False):
        n_rows, d = T.shape
        n = 2 * n_rows if extension else n_rows
        m = int(round(math.log2(n))) if n else -1
        if n == 0 or (1 << m) != n:
            return None
        des = self.design_
        z = des.generating_vector
        fold = des.periodization
        if extension:
            delta = self._origin
        elif self.design is None:
            delta = T[0].copy()
        else:
            delta = des.shift
        zm = (z % n).astype(np.int64)
        z0 = int(zm[0])
        if z0 % 2 == 0:
            return None
        z0inv = pow(z0, -1, n) if n > 1 else 0
        from ..qmc import unperiodize

        v0 = unperiodize(T[:, 0], fold)
        cands = [v0] if fold is None else [v0, 1.0 - v0]
        best_l = None
        best_ok = np.zeros(n_rows, dtype=bool)
        for c in cands:
            t0 = c - delta[0]
            t0 -= np.floor(t0)
            k0 = np.rint(t0 * n).astype(np.int64) % n
            lc = (k0 * z0inv) % n
            E = ((lc[:, None] * zm[None, :]) % n).astype(float) / n
            u = E + delta
            u -= np.floor(u)
            if fold is None:
                e = np.abs(u - T)
                e = np.minimum(e, 1.0 - e)
            else:
                e = np.abs(periodize(u, fold) - T)
            ok = np.all(e <= self.tol, axis=1)
            if best_l is None:
                best_l = lc
            best_l = np.where(ok & ~best_ok, lc, best_l)
            best_ok |= ok
        if not best_ok.all():
            return None
        lv = best_l
        if extension and np.any(lv % 2 == 0):
            return None
        pos = _bitrev(lv, m)
        if extension:
            pos = pos - n_rows
            if np.any(pos < 0):
                return None
        if np.bincount(pos, minlength=n_rows).max(initial=0) != 1 or pos.max() >= n_rows:
            return None
        order = np.empty(n_rows, dtype=np.int64)
        order[pos] = np.arange(n_rows)
        E = ((lv[order][:, None] * zm[None, :]) % n).astype(float) / n
        Xd = E + delta
        Xd -= np.floor(Xd)
        if not extension:
            self._origin = np.asarray(delta, dtype=float).copy()
        return np.ascontiguousarray(Xd), np.ascontiguousarray(E), order


class DigitalNetKernelRegressor(_SpectralKernelRegressor):
    __doc__ = (
        """Kernel regression with a digitally-shift-invariant kernel, fast on digital nets.

    The kernel is ``s prod_j (1 + w_j psi_alpha(x_j XOR x'_j))`` on the 32-bit binary
    expansions of the coordinates, with Walsh coefficients ``4**(-mu_alpha(k))`` (``alpha = 1``:
    the classical ``1 - 3 * 2**floor(log2 t)``; ``alpha >= 2``: Dick's higher-order weights,
    evaluated by a digit recursion, slower to predict). On a base-2 digital net
    (:class:`skspectral.qmc.DigitalNet`) of ``2**m`` points in any row order the Gram matrix is
    diagonalized by the Walsh-Hadamard transform (:func:`skspectral.fft.fwht`)
    (Jagadeeswaran and Hickernell, "Fast automatic Bayesian cubature using Sobol' sampling",
    2022; Dick, "Walsh spaces containing smooth functions...", SIAM J. Numer. Anal. 46, 2008).
"""
        + _DOC_PARAMS.format(design="DigitalNet", default=1)
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.qmc import DigitalNet
    >>> from skspectral.kernel_regression import DigitalNetKernelRegressor
    >>> X = DigitalNet(2, seed=0).random(256)
    >>> y = X[:, 0] + X[:, 1] ** 2
    >>> reg = DigitalNetKernelRegressor(smoothness=1).fit(X, y)
    >>> reg.fast_path_
    True
    >>> bool(np.abs(reg.integrate()[0] - 5 / 6) < 1e-2)
    True
    """
    )

    _design_class = DigitalNet
    _net = True

    def __init__(
        self,
        *,
        design=None,
        smoothness=1,
        decay=None,
        weights=1.0,
        scale=1.0,
        nugget=1e-10,
        learn_nugget=False,
        objective="mle",
        max_iter=200,
        max_dense=4096,
        tol=1e-8,
        normalize_y=True,
        batch_size=1024,
        n_jobs=None,
        verbose=0,
    ):
        super().__init__(
            design=design,
            smoothness=smoothness,
            decay=decay,
            weights=weights,
            scale=scale,
            nugget=nugget,
            learn_nugget=learn_nugget,
            objective=objective,
            max_iter=max_iter,
            max_dense=max_dense,
            tol=tol,
            normalize_y=normalize_y,
            batch_size=batch_size,
            n_jobs=n_jobs,
            verbose=verbose,
        )

    def _fwd(self, v):
        return sfft.fwht(
            np.ascontiguousarray(v, dtype=np.float64),
            axis=-1,
            workers=effective_n_jobs(self.n_jobs),
        )

    _fwd_real = _fwd
    _inv_real = _fwd

    def _double(self, a, b):
        return sfft.fwht_double(a, b, axis=-1)

    def _coords(self, U):
        return np.floor(
            np.clip(np.asarray(U, dtype=np.float64) * 2.0**32, 0.0, 2.0**32 - 1)
        ).astype(np.uint64)

    def _factors(self, E):
        phi = np.empty(E.shape)
        K.dsi_factors(effective_n_jobs(self.n_jobs), E, self.smoothness, phi)
        return phi

    def _recognize(self, T, extension=False):
        n_rows, d = T.shape
        n = 2 * n_rows if extension else n_rows
        m = int(round(math.log2(n))) if n else -1
        if n == 0 or (1 << m) != n:
            return None
        des = self.design_
        C = des.generating_matrices
        if m > C.shape[1]:
            return None
        fold = des.periodization
        from ..qmc import unperiodize

        if extension:
            origin = self._origin
        elif self.design is None:
            origin = _to_int(T[0])
        else:
            origin = des.shift_int
        Ainv = _gf2_top_inverse(C[0], m)
        if Ainv is None:
            return None
        v0 = unperiodize(T[:, 0], fold)
        cands = [v0] if fold is None else [v0, 1.0 - v0]
        best_i = None
        best_ok = np.zeros(n_rows, dtype=bool)
        for c in cands:
            V0 = _to_int(c) ^ origin[0]
            top = (V0 >> np.uint64(32 - m)) if m else np.zeros_like(V0)
            ic = _apply_gf2(Ainv, top, m)
            Vexp = _net_points(C, ic, m)
            u = (Vexp ^ origin[None, :]).astype(float) / 2.0**32
            ref = u if fold is None else periodize(u, fold)
            e = np.abs(ref - T)
            if fold is None:
                e = np.minimum(e, 1.0 - e)
            ok = np.all(e <= self.tol + 2.0**-31, axis=1)
            if best_i is None:
                best_i = ic
            best_i = np.where(ok & ~best_ok, ic, best_i)
            best_ok |= ok
        if not best_ok.all():
            return None
        pos = best_i.astype(np.int64)
        if extension:
            pos = pos - n_rows
            if np.any(pos < 0):
                return None
        if pos.max() >= n_rows or np.bincount(pos, minlength=n_rows).max() != 1:
            return None
        order = np.empty(n_rows, dtype=np.int64)
        order[pos] = np.arange(n_rows)
        Vexp = _net_points(C, best_i[order], m)
        if not extension:
            self._origin = origin.copy()
        Xd = np.ascontiguousarray(Vexp ^ origin[None, :])
        return Xd, np.ascontiguousarray(Vexp), order


def _bitrev(v, m):
    v = np.asarray(v, dtype=np.int64)
    out = np.zeros_like(v)
    for b in range(m):
        out |= ((v >> b) & 1) << (m - 1 - b)
    return out


def _to_int(u):
    return np.floor(np.clip(np.asarray(u, dtype=float) * 2.0**32 + 0.5, 0.0, 2.0**32 - 1)).astype(
        np.uint64
    )


def _net_points(C, i, m):
    """Integer points ``C i`` (no shift) of the indices ``i`` (first ``m`` columns)."""
    i = np.asarray(i, dtype=np.uint64)
    out = np.zeros((i.shape[0], C.shape[0]), dtype=np.uint64)
    for k in range(m):
        bit = ((i >> np.uint64(k)) & np.uint64(1)).astype(bool)
        out[bit] ^= C[:, k]
    return out


def _gf2_top_inverse(c0, m):
    """Inverse over GF(2) of the top ``m x m`` block of one generating matrix, as an
    ``(m, m)`` 0/1 array (``None`` when singular)."""
    if m == 0:
        return np.zeros((0, 0), dtype=np.int64)
    A = np.array(
        [[(int(c0[k]) >> (31 - r)) & 1 for k in range(m)] for r in range(m)], dtype=np.int64
    )
    aug = np.concatenate([A, np.eye(m, dtype=np.int64)], axis=1)
    for col in range(m):
        piv = next((r for r in range(col, m) if aug[r, col]), None)
        if piv is None:
            return None
        aug[[col, piv]] = aug[[piv, col]]
        for r in range(m):
            if r != col and aug[r, col]:
                aug[r] ^= aug[col]
    return aug[:, m:]


def _apply_gf2(Ainv, top, m):
    """Indices ``i`` whose digits solve ``A i = top`` (``top``: m-bit row values)."""
    if m == 0:
        return np.zeros(top.shape[0], dtype=np.uint64)
    bits = (
        (top[:, None] >> np.arange(m - 1, -1, -1, dtype=np.uint64)[None, :]) & np.uint64(1)
    ).astype(np.int64)  # row r of the column vector
    digits = (bits @ Ainv.T) & 1  # digit k of i
    return (digits.astype(np.uint64) << np.arange(m, dtype=np.uint64)[None, :]).sum(
        axis=1, dtype=np.uint64
    )
