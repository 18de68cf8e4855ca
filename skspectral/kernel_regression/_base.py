"""Shared machinery of the lattice and digital-net kernel regressors (this package's own).

The model (on standardized targets): ``y = f(x) + noise``, ``f ~ GP(0, s R)``,
``R(x, x') = prod_j (1 + w_j k1(x_j, x'_j))``, noise variance ``eta``. On a design of the
right kind (rank-1 lattice with a shift-invariant ``k1``, digital net with a
digitally-shift-invariant ``k1``; ``n = 2**m`` points in any row order) the Gram matrix
``K = s R + eta I`` is diagonalized by an orthonormal fast transform ``V`` (FFT in bit-reversed
order, or Walsh-Hadamard): ``K = V* diag(lam) V`` with ``lam = sqrt(n) V K[:, 0]``, so solve,
log-determinant, leave-one-out residuals, posterior variances and the gradients of the
hyper-parameter criteria all cost a few transforms. The eigenvalues are computed from
``R[:, 0] - 1`` (its constant part added to ``lam[0]`` exactly), which keeps the small ones
accurate (the "minus one" trick of Jagadeeswaran and Hickernell 2019). Anywhere else the same
model is fitted by dense Cholesky (up to ``max_dense`` points).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import scipy.linalg
import scipy.optimize
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import (
    check_n_jobs,
    effective_n_jobs,
    get_namespace,
    single_threaded_blas,
    to_numpy,
)
from ..qmc import unperiodize
from ..utils import row_chunks
from . import _kernels as K

_DECAY_GRID = (0.01, 0.03, 0.08, 0.15, 0.3)


class DenseFallbackWarning(UserWarning):
    """X is not a design of the regressor's kind: the model is fitted by dense Cholesky."""


_LOG_BOUNDS = {
    "scale": (-30.0, 30.0),
    "weights": (math.log(1e-8), math.log(1e6)),
    "nugget": (math.log(1e-14), math.log(1e2)),
}


class _SpectralKernelRegressor(RegressorMixin, BaseEstimator):
    _parameter_constraints: dict = {
        "design": "no_validation",
        "smoothness": [Interval(numbers.Integral, 1, 4, closed="both")],
        "weights": [Interval(numbers.Real, 0, None, closed="neither"), "array-like"],
        "scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "nugget": [Interval(numbers.Real, 0, None, closed="neither")],
        "learn_nugget": ["boolean"],
        "decay": [None, Interval(numbers.Real, 0, 1, closed="neither"), StrOptions({"auto"})],
        "objective": [StrOptions({"mle", "gcv", "loo"}), None],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "max_dense": [Interval(numbers.Integral, 0, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "normalize_y": ["boolean"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [None, numbers.Integral],
        "verbose": ["verbose"],
    }

    # subclass hooks ------------------------------------------------------------------------
    _net = False  # DSI kernel on integer coordinates

    def __init__(
        self,
        *,
        design=None,
        smoothness=2,
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
        self.design = design
        self.smoothness = smoothness
        self.decay = decay
        self.weights = weights
        self.scale = scale
        self.nugget = nugget
        self.learn_nugget = learn_nugget
        self.objective = objective
        self.max_iter = max_iter
        self.max_dense = max_dense
        self.tol = tol
        self.normalize_y = normalize_y
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = True
        tags.array_api_support = True
        return tags

    # ------------------------------------------------------------------------- fitting ----
    def _clear(self):
        for k in list(vars(self)):
            if (k.endswith("_") and not k.startswith("__")) or k == "_np":
                delattr(self, k)

    def fit(self, X, y):
        """Fit the kernel model (fast transform path on a design, dense Cholesky otherwise).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._clear()
        check_n_jobs(self.n_jobs)
        xp_in, is_xp = get_namespace(X)
        X_dev = getattr(X, "device", None) if is_xp else None
        if is_xp or not isinstance(y, np.ndarray):  # fitted on the host: a few transforms
            X = _host(X) if is_xp else X
            y = _host(y) if get_namespace(y)[1] else y
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        n, d = X.shape
        self._y_1d = y.ndim == 1
        Y = y.reshape(n, -1).astype(np.float64)
        self.n_targets_ = Y.shape[1]
        self.design_ = self._resolve_design(d)
        w0 = (
            np.broadcast_to(np.asarray(self.weights, dtype=float), (d,))
            if np.ndim(self.weights) <= 1
            else None
        )
        if w0 is None or w0.shape != (d,) or not np.all(np.isfinite(w0)) or np.any(w0 <= 0):
            raise ValueError(f"weights must be a positive float or {d} positive floats")
        T = self._box_coords(X, fitting=True)
        Yn = self._standardize(Y)
        fast = self._recognize(T) if n > 0 else None
        if self.decay is not None and self._net:
            raise ValueError("decay (the analytic kernel) is for LatticeKernelRegressor only")
        grid = (
            [None]
            if self.decay is None
            else _DECAY_GRID
            if self.decay == "auto"
            else [float(self.decay)]
        )
        best = None
        for r in grid:
            self._r = r
            self._fit_one(fast, T, Yn, w0, n)
            if best is None or self.objective_value_ < best[0]:
                best = (
                    self.objective_value_,
                    {k: v for k, v in vars(self).items() if k.endswith("_") or k.startswith("_")},
                )
        vars(self).update(best[1])
        self.decay_ = self._r
        self._pack(xp_in if is_xp else None, X_dev)
        self._fit_namespace = xp_in.__name__ if is_xp else None
        return self

    def _pack(self, xp=None, device=None):
        """Keep the NumPy state the kernels use in one private dict (``_np``): private arrays
        live only there, public ones are also attributes (in the input's namespace and device
        after a fit on Array API input)."""
        kw = {"device": device} if device is not None else {}
        store = dict(self.__dict__.get("_np") or {})
        for k, v in list(vars(self).items()):
            if isinstance(v, np.ndarray):
                store[k] = v
                if not k.endswith("_"):
                    delattr(self, k)
                elif xp is not None:
                    setattr(self, k, xp.asarray(v, **kw))
        self._np = store

    def __getattr__(self, name):
        store = self.__dict__.get("_np")
        if store is not None and name in store:
            return store[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _pub(self, name):
        store = self.__dict__.get("_np")
        if store is not None and name in store:
            return store[name]
        return getattr(self, name)

    def _fit_one(self, fast, T, Yn, w0, n):
        if fast is None:
            if n > self.max_dense:
                m = math.log2(n) if n else 0
                why = (
                    "n is not a power of two (the fast path needs n = 2**m points)"
                    if m != int(m)
                    else f"X is not a {self.design_.generators_name} design in any row order "
                    f"(tol={self.tol})"
                )
                raise ValueError(
                    f"{why}, and n={n} exceeds max_dense={self.max_dense} for the dense "
                    f"fallback; sample X with skspectral.qmc.{self._design_class.__name__}"
                )
            if n > 0:
                warnings.warn(
                    f"X is not a {self._design_class.__name__} design of the "
                    f"{self.design_.generators_name} (in any row order, tol={self.tol}); "
                    "fitting the same kernel model by dense Cholesky, O(n**3)",
                    DenseFallbackWarning,
                    stacklevel=3,
                )
            self.fast_path_ = False
            self._fit_dense(unperiodize(T, self.design_.periodization), Yn, w0.copy())
        else:
            self.fast_path_ = True
            self._fit_fast(fast, Yn, w0.copy())

    def _resolve_design(self, d):
        des = self.design
        if des is None:
            return self._design_class(d, seed=0)
        if not isinstance(des, self._design_class):
            raise ValueError(
                f"design must be None or a skspectral.qmc.{self._design_class.__name__}, "
                f"got {type(des).__name__}"
            )
        if des.d != d:
            raise ValueError(f"design has d={des.d} but X has {d} features")
        return des

    def _box_coords(self, X, fitting=False):
        """Coordinates of ``X`` relative to the box, in [0, 1] (periodization not undone)."""
        des = self.design_
        if self.design is not None:
            t = (X - des.l_bounds) / (des.u_bounds - des.l_bounds)
            if np.any(t < -1e-9) or np.any(t > 1.0 + 1e-9):
                raise ValueError(
                    "X has points outside the box of the design "
                    f"[{des.l_bounds.tolist()}, {des.u_bounds.tolist()}]"
                )
            return np.clip(t, 0.0, 1.0) if des.periodization else t
        if fitting:
            lo, hi = X.min(axis=0, initial=np.inf), X.max(axis=0, initial=-np.inf)
            if X.shape[0] == 0 or (np.all(lo >= 0) and np.all(hi <= 1)):
                self._box = None
            else:  # arbitrary data (dense path): scaled into [0, 1/2] of the torus, safely
                c = np.maximum(np.maximum(np.abs(lo), np.abs(hi)), np.finfo(float).tiny)
                a, b = lo / c, hi / c
                width = np.where(b > a, 2.0 * (b - a), 1.0)
                self._box = (c, a, width)
        if self._box is None:
            return X
        c, a, width = self._box
        with np.errstate(over="ignore"):  # far outside the training box: saturate
            t = (X / c - a) / width
        return np.clip(t, -1e6, 1e6)

    def _standardize(self, Y):
        if not self.normalize_y:
            self._y_off, self._y_mul = np.zeros(Y.shape[1]), np.ones(Y.shape[1])
            return Y
        c = np.max(np.abs(Y), axis=0, initial=0.0)
        c = np.where(c > 0, c, 1.0)
        Z = Y / c
        mu = Z.mean(axis=0) if Z.shape[0] else np.zeros(Z.shape[1])
        sd = Z.std(axis=0) if Z.shape[0] else np.ones(Z.shape[1])
        sd = np.where(sd > 1e-12, sd, 1.0)
        self._y_off, self._y_mul = mu * c, sd * c
        return (Z - mu) / sd

    def _theta0(self, w0):
        t = [math.log(self.scale)] + list(np.log(w0))
        if self.learn_nugget:
            t.append(math.log(self.nugget))
        return np.array(t)

    def _bounds(self, d):
        b = [_LOG_BOUNDS["scale"]] + [_LOG_BOUNDS["weights"]] * d
        if self.learn_nugget:
            b.append(_LOG_BOUNDS["nugget"])
        return b

    def _unpack(self, theta, d):
        s = math.exp(theta[0])
        w = np.exp(theta[1 : 1 + d])
        eta = math.exp(theta[1 + d]) if self.learn_nugget else float(self.nugget)
        return s, w, eta

    def _optimize(self, fun, w0, d):
        theta0 = self._theta0(w0)
        self.n_iter_ = 0
        if self.objective is None or self.max_iter == 0:
            return theta0, fun(theta0)[0]
        best = {"f": np.inf, "x": theta0}

        def f(theta):
            val, g = fun(theta)
            if not np.isfinite(val):
                return 1e300, np.zeros_like(theta)
            if val < best["f"]:
                best.update(f=val, x=theta.copy())
            if self.verbose:
                print(f"[{type(self).__name__}] objective {val:.6g}")
            return val, g

        try:
            res = scipy.optimize.minimize(
                f,
                theta0,
                jac=True,
                method="L-BFGS-B",
                bounds=self._bounds(d),
                options={"maxiter": int(self.max_iter)},
            )
            self.n_iter_ = max(int(res.nit), 1)  # one pass of the criterion at least
        except KeyboardInterrupt:  # keep the best state reached
            pass
        return best["x"], best["f"]

    # --- fast path ---------------------------------------------------------------------
    def _fit_fast(self, fast, Yn, w0):
        Xd, E, order = fast  # design-ordered points, differences to the first, row order
        phi = self._factors(E)
        n, d = phi.shape
        self.design_order_ = order
        Yn = Yn[order]
        self._set_train(Xd)
        Yh = self._fwd(Yn.T)  # (k, n)
        S = np.sum(np.abs(Yh) ** 2, axis=0)
        nk = Yn.shape[1]
        sqn = math.sqrt(n)
        col = np.empty(n)
        c = np.empty(n)
        gw = np.empty(d)
        gcv = self.objective in ("gcv", "loo")
        const = 0.0 if gcv else 0.5 * n * nk * math.log(2 * math.pi)

        def spectrum(w):
            K.product_columns(phi, w, col)
            lam0 = self._fwd_real(col) * sqn
            lam0[0] += n
            return np.maximum(lam0, 0.0)

        def fun(theta):
            # the weights' derivatives by the adjoint: with lam0 = sqrt(n) Re(V col) and
            # c = d crit / d lam, d crit / d log w_j = s sqrt(n) <Re(V^T c), d col / d log w_j>,
            # and V^T c is one inverse transform (V symmetric up to the bit reversal, an
            # involution; the Walsh-Hadamard matrix is symmetric): two transforms per step
            s, w, eta = self._unpack(theta, d)
            lam0 = spectrum(w)
            val, g_s, g_eta = K.spectral_criterion(lam0, S, s, eta, nk, gcv, c)
            K.weight_gradient(phi, w, self._inv_real(c), gw)
            g = [g_s] + list(s * sqn * gw) + ([g_eta] if self.learn_nugget else [])
            return float(val) + const, np.array(g)

        # L-BFGS-B's own steps call BLAS on vectors of d + 2 entries; a threaded BLAS leaves
        # its threads spinning against the transforms' (5x slower fits on 2 busy cores)
        with single_threaded_blas():
            theta, val = self._optimize(fun, w0, d)
        s, w, eta = self._unpack(theta, d)
        lam0 = spectrum(w)
        self._store_params(s, w, eta)
        self.eigenvalues_ = s * lam0 + eta
        self._Yh = Yh
        self._col = col.copy()
        self._phi0 = phi
        self._set_solution()
        self.objective_value_ = val

    def _set_solution(self):
        lam = self.eigenvalues_
        coef = self._inv_real(self._Yh / lam).T  # (n, k): K^{-1} y in design order
        self.dual_coef_ = coef
        self._pcoef = np.ascontiguousarray(coef * self.scale_)
        S = np.sum(np.abs(self._Yh) ** 2, axis=0)
        n = lam.shape[0]
        nk = self._Yh.shape[0]
        self.log_marginal_likelihood_value_ = float(
            -0.5 * np.sum(S / lam)
            - 0.5 * nk * np.sum(np.log(lam))
            - 0.5 * n * nk * math.log(2 * math.pi)
        )

    def _store_params(self, s, w, eta):
        self.scale_ = float(s)
        self.weights_ = np.asarray(w, dtype=float)
        self.nugget_ = float(eta)

    # --- dense path --------------------------------------------------------------------
    def _fit_dense(self, U, Yn, w0):
        n, d = U.shape
        Xd = self._coords(U)
        self._set_train(Xd)
        nk = Yn.shape[1]
        xf = Xd if not self._net else np.zeros((n, d))
        xi = Xd if self._net else np.zeros((n, d), dtype=np.uint64)

        def gram(w):
            R = np.empty((n, n))
            self._cross(Xd, w, R)
            return R

        def fun(theta):
            s, w, eta = self._unpack(theta, d)
            R = gram(w)
            Kmat = s * R
            Kmat[np.diag_indices(n)] += eta
            try:
                L = scipy.linalg.cho_factor(Kmat, lower=True)
            except np.linalg.LinAlgError:
                return np.inf, np.zeros_like(theta)
            a = scipy.linalg.cho_solve(L, Yn)
            Kinv = scipy.linalg.cho_solve(L, np.eye(n))
            if self.objective in ("gcv", "loo") and n > 1:
                if self.objective == "gcv":
                    A = np.sum(a * a)
                    B = np.trace(Kinv)
                    val = math.log(A) - 2 * math.log(B) + math.log(n)
                    b = Kinv @ a
                    W = -(b @ a.T + a @ b.T) / A + 2.0 * (Kinv @ Kinv) / B
                else:
                    D = np.diag(Kinv)[:, None]
                    r = a / D
                    Lv = np.sum(r * r)
                    val = math.log(Lv)
                    u = r / D
                    v = np.sum(r * a / D**2, axis=1)
                    p = Kinv @ u
                    W = (-(p @ a.T + a @ p.T) + 2.0 * (Kinv * v[None, :]) @ Kinv) / Lv
            else:
                logdet = 2.0 * np.sum(np.log(np.diag(L[0])))
                val = (
                    0.5 * np.sum(Yn * a) + 0.5 * nk * logdet + 0.5 * n * nk * math.log(2 * math.pi)
                )
                W = 0.5 * (nk * Kinv - a @ a.T)
            gw = np.empty(d)
            K.dense_weighted_grad(
                effective_n_jobs(self.n_jobs),
                int(self._net),
                xf,
                xi,
                w,
                *self._kargs(),
                np.ascontiguousarray(W),
                gw,
            )
            g = [s * np.sum(W * R)] + list(s * gw)
            if self.learn_nugget:
                g.append(eta * np.trace(W))
            return float(val), np.array(g)

        theta, val = self._optimize(fun, w0, d)
        s, w, eta = self._unpack(theta, d)
        self._store_params(s, w, eta)
        Kmat = s * gram(w)
        Kmat[np.diag_indices(n)] += eta
        self._chol = scipy.linalg.cho_factor(Kmat, lower=True) if n else None
        a = scipy.linalg.cho_solve(self._chol, Yn) if n else Yn
        self.dual_coef_ = a
        self._pcoef = np.ascontiguousarray(a * s)
        logdet = 2.0 * np.sum(np.log(np.diag(self._chol[0]))) if n else 0.0
        self.log_marginal_likelihood_value_ = float(
            -0.5 * np.sum(Yn * a) - 0.5 * nk * logdet - 0.5 * n * nk * math.log(2 * math.pi)
        )
        self.objective_value_ = val

    def _set_train(self, Xd):
        self._Xtr = Xd
        self._XtrT = np.ascontiguousarray(Xd.T)

    # ------------------------------------------------------------------------ predict ----
    def _cross(self, xt, w, out):
        nj = effective_n_jobs(self.n_jobs)
        if self._net:
            K.dsi_cross(nj, xt, self._XtrT, w, *self._kargs(), out)
        else:
            K.si_cross(nj, xt, self._XtrT, w, *self._kargs(), out)

    def _mean_latent(self, xt):
        out = np.empty((xt.shape[0], self._pcoef.shape[1]))
        if xt.shape[0] == 0 or self._XtrT.shape[1] == 0:
            out[:] = 0.0
            return out
        nj = effective_n_jobs(self.n_jobs)
        block = int(min(self.batch_size, max(1, self._XtrT.shape[1])))
        fn = K.dsi_predict if self._net else K.si_predict
        fn(nj, xt, self._XtrT, self._pub("weights_"), self._pcoef, *self._kargs(), block, out)
        return out

    def _var_latent(self, xt):
        n = self._XtrT.shape[1]
        m = xt.shape[0]
        w = self._pub("weights_")
        prior = self.scale_ * float(np.prod(1.0 + w * self._factor_at_zero()))
        var = np.full(m, prior)
        if n == 0:
            return var
        for sl in row_chunks(m, n, budget=1 << 22):
            r = np.empty((sl.stop - sl.start, n))
            self._cross(xt[sl], self._pub("weights_"), r)
            r *= self.scale_
            if self.fast_path_:
                rh = self._fwd(r)
                quad = np.sum(np.abs(rh) ** 2 / self._pub("eigenvalues_"), axis=1)
            else:
                quad = np.sum(r * scipy.linalg.cho_solve(self._chol, r.T).T, axis=1)
            var[sl] -= quad
        return np.maximum(var, 0.0)

    def _kargs(self):
        """(kernel code, decay) for the numba kernels: code 0 is the analytic kernel."""
        r = getattr(self, "_r", None)
        return (0, float(r)) if r is not None else (int(self.smoothness), 0.0)

    def _factor_at_zero(self):
        r = getattr(self, "_r", None)
        if r is not None:
            return 2.0 * r / (1.0 - r)
        return (
            {
                1: K.SI_CONST[1] / 6.0,
                2: -K.SI_CONST[2] / 30.0,
                3: K.SI_CONST[3] / 42.0,
                4: -K.SI_CONST[4] / 30.0,
            }[self.smoothness]
            if not self._net
            else 1.0
            if (self.smoothness == 1)
            else _dsi_zero(self.smoothness)
        )

    def predict(self, X, return_std=False):
        """Posterior mean (and standard deviation of the latent function) at ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points in the design's box (the training box).
        return_std : bool, default=False

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_targets)
        y_std : ndarray, only when ``return_std``
        """
        check_is_fitted(self)
        xp, is_xp = get_namespace(X)
        fit_ns = getattr(self, "_fit_namespace", None)
        if (
            sklearn.get_config().get("array_api_dispatch", False)
            and (xp.__name__ if is_xp else None) != fit_ns
        ):
            raise ValueError(
                f"{type(self).__name__}.predict() inputs must use the same namespace as the "
                f"fit: X is a {xp.__name__ if is_xp else 'numpy'} array, the regressor was "
                f"fitted on {fit_ns or 'numpy'} arrays"
            )
        if is_xp:
            return self._predict_xp(X, xp, return_std)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        xt = self._coords(unperiodize(self._box_coords(X), self.design_.periodization))
        mean = self._mean_latent(xt) * self._y_mul + self._y_off
        if self._y_1d:
            mean = mean[:, 0]
        if not return_std:
            return mean
        sd = np.sqrt(self._var_latent(xt))[:, None] * self._y_mul
        return mean, (sd[:, 0] if self._y_1d else sd)

    def _predict_xp(self, X, xp, return_std):
        """Array API path: whole-array operations of ``X``'s namespace, chunk by chunk."""
        from .. import fft as sfft

        Xn = _host(X)
        validate_data(self, Xn, reset=False, dtype=np.float64)  # checks only
        dev = getattr(X, "device", None)
        kw = {"device": dev} if dev is not None else {}
        Xx = xp.asarray(X, dtype=xp.float64)
        # coordinates
        des = self.design_
        if self.design is not None:
            lb = xp.asarray(des.l_bounds, **kw)
            ub = xp.asarray(des.u_bounds, **kw)
            t = (Xx - lb) / (ub - lb)
            if bool(xp.any(t < -1e-9)) or bool(xp.any(t > 1 + 1e-9)):
                raise ValueError("X has points outside the box of the design")
            t = xp.clip(t, 0.0, 1.0)
            if des.periodization == "tent":
                t = 0.5 * t
            elif des.periodization == "cosine":
                t = xp.acos(1.0 - 2.0 * t) / (2.0 * math.pi)
        elif self._box is not None:
            c, a, width = (xp.asarray(v, **kw) for v in self._box)
            t = (Xx / c - a) / width
        else:
            t = Xx
        Xtr = xp.asarray(self._Xtr.astype(np.int64) if self._net else self._Xtr, **kw)
        w = self._pub("weights_")
        coef = xp.asarray(self._pcoef, **kw)
        m = t.shape[0]
        n = Xtr.shape[0]
        means, sds = [], []
        prior = self.scale_ * float(np.prod(1.0 + w * self._factor_at_zero()))
        lam = xp.asarray(self._pub("eigenvalues_"), **kw) if self.fast_path_ else None
        for sl in row_chunks(m, max(n, 1), budget=1 << 21):
            tc = t[sl.start : sl.stop, :]
            R = xp.ones((tc.shape[0], n), dtype=xp.float64, **kw)
            if self._net:
                ti = xp.astype(xp.floor(xp.clip(tc * 2.0**32, 0, 2.0**32 - 1)), xp.int64)
            for j in range(t.shape[1]):
                if self._net:
                    f = _dsi_factor_xp(xp, ti[:, j : j + 1] ^ Xtr[None, :, j], self.smoothness)
                else:
                    f = _si_factor_xp(xp, tc[:, j : j + 1] - Xtr[None, :, j], *self._kargs())
                R = R * (1.0 + float(w[j]) * f)
            means.append(R @ coef)
            if return_std:
                r = R * self.scale_
                if self.fast_path_:
                    rh = sfft.fwht(r, axis=-1) if self._net else sfft.fftbr(r, axis=-1)
                    quad = xp.sum(xp.abs(rh) ** 2 / lam, axis=1)
                else:
                    rn = _host(r)
                    quad = xp.asarray(
                        np.sum(rn * scipy.linalg.cho_solve(self._chol, rn.T).T, axis=1), **kw
                    )
                sds.append(xp.sqrt(xp.clip(prior - quad, 0.0, None)))
        mean = xp.concat(means, axis=0) if means else xp.zeros((0, coef.shape[1]), **kw)
        mean = mean * xp.asarray(self._y_mul, **kw) + xp.asarray(self._y_off, **kw)
        if self._y_1d:
            mean = mean[:, 0]
        if not return_std:
            return mean
        sd = xp.concat(sds, axis=0) if sds else xp.zeros((0,), **kw)
        sd = sd[:, None] * xp.asarray(self._y_mul, **kw)
        return mean, (sd[:, 0] if self._y_1d else sd)

    # ------------------------------------------------------------------ cubature ----
    def integrate(self):
        """Bayesian cubature: posterior mean and standard deviation of ``int_box f(x) dx``.

        Uses ``int R(x, x_i) dx = 1`` over the unit cube (the kernel factors have mean zero),
        valid without periodization or with the measure-preserving tent fold.

        Returns
        -------
        mean, std : ndarray of shape (n_targets,) (floats for one target)
        """
        check_is_fitted(self)
        des = self.design_
        if des.periodization == "cosine":
            raise ValueError(
                "integrate() needs periodization None or 'tent' (the cosine fold "
                "does not preserve the measure)"
            )
        if self.design is None and self._box is not None:
            raise ValueError("integrate() needs X in the unit cube or a design with a box")
        vol = float(np.prod(des.u_bounds - des.l_bounds))
        s = self.scale_
        mean_lat = s * np.sum(self._pub("dual_coef_"), axis=0)
        n = self._Xtr.shape[0]
        if self.fast_path_:
            quad = s * s * n / self._pub("eigenvalues_")[0]
        else:
            one = np.ones(n)
            quad = s * s * float(one @ scipy.linalg.cho_solve(self._chol, one)) if n else 0.0
        var = max(s - quad, 0.0)
        mean = vol * (self._y_off + self._y_mul * mean_lat)
        std = vol * self._y_mul * math.sqrt(var)
        if self._y_1d:
            return float(mean[0]), float(std[0])
        return mean, std

    # ------------------------------------------------------------------ LOO ----
    def loo_residuals(self):
        """Leave-one-out residuals ``y_i - E[y_i | y_{-i}]`` at the training points (in the
        order of the training rows), on the original scale of ``y``."""
        check_is_fitted(self)
        a = self._pub("dual_coef_")
        if self.fast_path_:
            diag = np.full(a.shape[0], np.mean(1.0 / self._pub("eigenvalues_")))
        else:
            diag = np.diag(scipy.linalg.cho_solve(self._chol, np.eye(a.shape[0])))
        r = a / diag[:, None] * self._y_mul
        r = r[self._inverse_order()] if self.fast_path_ else r
        return r[:, 0] if self._y_1d else r

    # ------------------------------------------------------------------ doubling ----
    def extend(self, X_new, y_new):
        """Add the next ``n`` points of the design (doubling ``n`` to ``2n``) without refitting
        the hyper-parameters; the spectra of ``y`` and of the kernel column are updated with
        :func:`skspectral.fft.fftbr_double` / :func:`skspectral.fft.fwht_double` (O(n) after
        the transform of the new half).

        Parameters
        ----------
        X_new : array-like of shape (n, n_features)
            The second half of the doubled design, in any row order.
        y_new : array-like of shape (n,) or (n, n_targets)

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        if not self.fast_path_:
            raise ValueError("extend() needs a model fitted on the fast path")
        X_new = validate_data(self, X_new, reset=False, dtype=np.float64)
        Y = np.asarray(y_new, dtype=float).reshape(X_new.shape[0], -1)
        if not np.all(np.isfinite(Y)):
            raise ValueError("y_new contains NaN or infinity")
        if Y.shape[1] != self._Yh.shape[0]:
            raise ValueError("y_new has a different number of targets")
        n = self._Xtr.shape[0]
        if X_new.shape[0] != n:
            raise ValueError(f"extend() doubles the design: X_new must have {n} rows")
        res = self._recognize(self._box_coords(X_new), extension=True)
        if res is None:
            raise ValueError("X_new is not the second half of the doubled design")
        Xd_new, E_new, order_new = res
        phi_new = self._factors(E_new)
        Yn = ((Y - self._y_off) / self._y_mul)[order_new]
        Yh = self._double(self._Yh, self._fwd(Yn.T))
        w = self._pub("weights_")
        col_new = np.empty(n)
        K.product_columns(phi_new, w, col_new)
        Fc_old = self._fwd(self._col[None, :])
        Fc_new = self._fwd(col_new[None, :])
        F = self._double(Fc_old, Fc_new)[0].real * math.sqrt(2 * n)
        F[0] += 2 * n
        self.eigenvalues_ = self.scale_ * np.maximum(F, 0.0) + self.nugget_
        self._col = np.concatenate([self._col, col_new])
        self._phi0 = np.vstack([self._phi0, phi_new])
        self._set_train(np.concatenate([self._Xtr, Xd_new]))
        self.design_order_ = np.concatenate([self._pub("design_order_"), order_new + n])
        self._Yh = Yh
        self._set_solution()
        self._pack()
        return self

    def _inverse_order(self):
        inv = np.empty_like(self._pub("design_order_"))
        inv[self._pub("design_order_")] = np.arange(self._pub("design_order_").size)
        return inv


def _host(a):
    """``a`` as a NumPy array, from any device."""
    return to_numpy(a)


def _dsi_zero(alpha):
    out = np.empty((1, 1))
    K.dsi_factors(1, np.zeros((1, 1), dtype=np.uint64), alpha, out)
    return float(out[0, 0])


def _si_factor_xp(xp, t, alpha, r):
    if alpha == 0:
        return (1.0 - r * r) / (1.0 - 2.0 * r * xp.cos(2.0 * math.pi * t) + r * r) - 1.0
    t = t - xp.floor(t)
    u = t * (1.0 - t)
    if alpha == 1:
        b = 1.0 / 6.0 - u
    elif alpha == 2:
        b = u * u - 1.0 / 30.0
    elif alpha == 3:
        b = (-u - 0.5) * u * u + 1.0 / 42.0
    else:
        b = ((u + 4.0 / 3.0) * u + 2.0 / 3.0) * u * u - 1.0 / 30.0
    return K.SI_CONST[alpha] * b


def _dsi_factor_xp(xp, t, alpha):
    """On int64 arrays holding 32-bit integers (unsigned shifts are missing in some
    namespaces)."""
    one = 1
    if alpha == 1:
        h = t
        for s in (1, 2, 4, 8, 16):
            h = h | (h >> s)
        h = h - (h >> one)
        return 1.0 - 3.0 * xp.astype(h, xp.float64) * 2.0**-32
    hs = [xp.ones_like(t, dtype=xp.float64) for _ in range(alpha + 1)]
    q = 1.0
    for j in range(1, 61):
        q *= 0.25
        if j <= 32:
            bit = (t >> (32 - j)) & one
            s = 1.0 - 2.0 * xp.astype(bit, xp.float64)
        else:
            s = xp.ones_like(t, dtype=xp.float64)
        for r in range(alpha, 0, -1):
            hs[r] = hs[r] + q * s * hs[r - 1]
        hs[0] = hs[0] * (1.0 + s)
    return 2.0 * (hs[alpha] - 1.0)
