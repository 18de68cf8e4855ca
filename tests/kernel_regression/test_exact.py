"""Fast paths against dense linear algebra on the same Gram matrix, built independently."""

import math
import warnings

import numpy as np
import pytest

from skspectral.kernel_regression import (
    DenseFallbackWarning,
    DigitalNetKernelRegressor,
    LatticeKernelRegressor,
)
from skspectral.qmc import DigitalNet, Lattice

# Bernoulli polynomials B_2a from their power-basis coefficients (highest first)
_BERN = {
    1: [1, -1, 1 / 6],
    2: [1, -2, 1, 0, -1 / 30],
    3: [1, -3, 5 / 2, 0, -1 / 2, 0, 1 / 42],
    4: [1, -4, 14 / 3, 0, -7 / 3, 0, 2 / 3, 0, -1 / 30],
}


def si_ref(t, a):
    t = t - np.floor(t)
    c = (-1) ** (a + 1) * (2 * np.pi) ** (2 * a) / math.factorial(2 * a)
    return c * np.polyval(_BERN[a], t)


def dsi1_ref(t):
    """Order-1 DSI factor of the 32-bit integer t: 1 - 3 * 2**floor(log2(t / 2**32))."""
    t = np.asarray(t, dtype=np.float64) / 2.0**32
    out = np.ones_like(t)
    nz = t > 0
    out[nz] = 1 - 3 * 2.0 ** np.floor(np.log2(t[nz]))
    return out


def walsh_series(t_int, a, digits=14):
    """2 sum_{0 < k < 2**digits} 4**(-mu_a(k)) wal_k(t): the defining series, truncated."""
    out = 0.0
    for k in range(1, 2**digits):
        pos = [b + 1 for b in range(digits) if (k >> b) & 1]  # 1-based bit positions
        mu = sum(sorted(pos, reverse=True)[:a])
        sign = 1
        for p in pos:  # wal_k(t) = prod over set bits of k of (-1)**t_p (t_p: p-th digit)
            if (t_int >> (32 - p)) & 1:
                sign = -sign
        out += 4.0 ** (-mu) * sign
    return 2 * out


def test_si_factor_is_the_bernoulli_kernel_and_its_fourier_series():
    from skspectral.kernel_regression import _kernels as K

    t = np.random.default_rng(0).random((50, 1)) * 3 - 1
    h = np.arange(1, 4000, dtype=float)
    for a in (1, 2, 3, 4):
        out = np.empty_like(t)
        K.si_factors(1, t, a, 0.0, out)
        np.testing.assert_allclose(out, si_ref(t, a), rtol=1e-12, atol=1e-12)
        series = 2 * np.sum(np.cos(2 * np.pi * h[None, :] * t) / h[None, :] ** (2 * a), axis=1)
        np.testing.assert_allclose(out[:, 0], series, atol=2e-3 if a == 1 else 1e-9)


def test_dsi_factor_against_the_walsh_series():
    from skspectral.kernel_regression import _kernels as K

    ts = np.array(
        [[0], [1 << 31], [3 << 29], [12345 << 18], [(1 << 32) - 1], [7 << 20]], dtype=np.uint64
    )
    for a in (1, 2, 3, 4):
        out = np.empty(ts.shape)
        K.dsi_factors(1, ts, a, out)
        ref = np.array([walsh_series(int(t), a, digits=12) for t in ts[:, 0]])
        # truncation of the series at 12 digits: tail <= 2**-12 (order 1), far less above
        np.testing.assert_allclose(out[:, 0], ref, atol=1.01 * 2.0**-12 if a == 1 else 2e-6)
        if a == 1:
            np.testing.assert_allclose(out[:, 0], dsi1_ref(ts[:, 0]), rtol=1e-15)


def dense_gram(X, Z, w, s, kind, a):
    G = np.ones((X.shape[0], Z.shape[0]))
    for j in range(X.shape[1]):
        if kind == "lattice":
            f = si_ref(X[:, j, None] - Z[None, :, j], a)
        elif kind == "analytic":  # a is the decay r: the Poisson kernel, in closed form
            c = np.cos(2 * np.pi * (X[:, j, None] - Z[None, :, j]))
            f = (1 - a * a) / (1 - 2 * a * c + a * a) - 1
        else:
            xi = np.rint(X[:, j] * 2.0**32).astype(np.uint64)
            zi = np.rint(Z[:, j] * 2.0**32).astype(np.uint64)
            t = xi[:, None] ^ zi[None, :]
            if a == 1:
                f = dsi1_ref(t)
            else:
                from skspectral.kernel_regression import _kernels as K

                f = np.empty(t.shape)
                K.dsi_factors(1, t, a, f)
        G *= 1 + w[j] * f
    return s * G


CASES = (
    [("lattice", a) for a in (1, 2, 3, 4)]
    + [("analytic", 0.1), ("analytic", 0.3)]
    + [("net", a) for a in (1, 2, 3, 4)]
)


@pytest.mark.parametrize("kind,a", CASES)
def test_fast_path_matches_dense_linear_algebra_n1024(kind, a):
    rng = np.random.default_rng(int(10 * a))
    d, n = 3, 1024
    if kind != "net":
        X = Lattice(d, seed=int(10 * a)).random(n)
        cls = LatticeKernelRegressor
    else:
        X = DigitalNet(d, randomize="lms_ds", seed=a).random(n)
        cls = DigitalNetKernelRegressor
    perm = rng.permutation(n)
    X = X[perm]  # any row order
    y = np.cos(3 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=n)
    w = np.array([0.3, 0.2, 0.1]) if kind != "net" else np.array([0.8, 0.5, 0.3])
    s, eta = 1.7, 0.05
    kernel = {"decay": a} if kind == "analytic" else {"smoothness": a}
    reg = cls(**kernel, weights=w, scale=s, nugget=eta, objective=None, normalize_y=False)
    if kind == "net":  # scrambled: the regressor must be told the matrices
        reg.set_params(design=DigitalNet(d, randomize="lms_ds", seed=a))
    reg.fit(X, y)
    assert reg.fast_path_
    Kd = dense_gram(X, X, w, s, kind, a) + eta * np.eye(n)
    # solve
    sol = np.linalg.solve(Kd, y)
    inv = np.empty(n, dtype=int)
    inv[reg.design_order_] = np.arange(n)
    np.testing.assert_allclose(
        reg.dual_coef_[inv, 0], sol, rtol=1e-10, atol=1e-10 * np.abs(sol).max()
    )
    # log-determinant
    sign, logdet = np.linalg.slogdet(Kd)
    assert sign > 0
    assert abs(np.sum(np.log(reg.eigenvalues_)) - logdet) <= 1e-10 * abs(logdet)
    lml = -0.5 * y @ sol - 0.5 * logdet - 0.5 * n * math.log(2 * math.pi)
    assert abs(reg.log_marginal_likelihood_value_ - lml) <= 1e-10 * abs(lml)
    # leave-one-out residuals: y_i - mean_{-i}(x_i) = (K^-1 y)_i / (K^-1)_ii
    Kinv = np.linalg.inv(Kd)
    loo = (Kinv @ y) / np.diag(Kinv)
    np.testing.assert_allclose(reg.loo_residuals(), loo, rtol=1e-10, atol=1e-10 * np.abs(loo).max())
    # brute-force LOO on a few points: refit the dense model without point i
    for i in range(3):
        keep = np.arange(n) != i
        ki = Kd[i, keep]
        mi = ki @ np.linalg.solve(Kd[np.ix_(keep, keep)], y[keep])
        assert abs((y[i] - mi) - loo[i]) <= 1e-8 * max(1.0, abs(loo[i]))
    # posterior mean and variance at new points
    Xt = rng.random((40, d))
    Kt = dense_gram(Xt, X, w, s, kind, a)
    mean_ref = Kt @ sol
    prior = dense_gram(Xt[:1], Xt[:1], w, s, kind, a)[0, 0]
    var_ref = prior - np.sum(Kt * np.linalg.solve(Kd, Kt.T).T, axis=1)
    mean, std = reg.predict(Xt, return_std=True)
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-10, atol=1e-10 * np.abs(mean_ref).max())
    np.testing.assert_allclose(std**2, var_ref, rtol=1e-10, atol=1e-12 * prior)


@pytest.mark.parametrize(
    "cls,D", [(LatticeKernelRegressor, Lattice), (DigitalNetKernelRegressor, DigitalNet)]
)
def test_dense_fallback_is_the_same_model(cls, D):
    rng = np.random.default_rng(0)
    X = D(2, seed=1).random(64)
    y = np.sin(4 * X[:, 0]) + X[:, 1]
    params = dict(
        smoothness=1, weights=[0.5, 0.7], scale=1.3, nugget=1e-3, objective=None, normalize_y=False
    )
    fast = cls(**params).fit(X, y)
    assert fast.fast_path_
    Xs = np.vstack([X, rng.random((1, 2)) * 0.5])  # one extra point: no longer a design
    ys = np.append(y, 0.3)
    with pytest.warns(DenseFallbackWarning, match="Joe-Kuo|Kuo"):
        dense = cls(**params).fit(Xs[:-1] + 0.0, y) if False else cls(**params).fit(Xs, ys)
    assert not dense.fast_path_
    Kd = dense_gram(
        Xs, Xs, np.array([0.5, 0.7]), 1.3, "lattice" if cls is LatticeKernelRegressor else "net", 1
    ) + 1e-3 * np.eye(65)
    Xt = rng.random((10, 2))
    Kt = dense_gram(
        Xt, Xs, np.array([0.5, 0.7]), 1.3, "lattice" if cls is LatticeKernelRegressor else "net", 1
    )
    np.testing.assert_allclose(
        dense.predict(Xt), Kt @ np.linalg.solve(Kd, ys), rtol=1e-9, atol=1e-10
    )


@pytest.mark.parametrize(
    "cls,D", [(LatticeKernelRegressor, Lattice), (DigitalNetKernelRegressor, DigitalNet)]
)
@pytest.mark.parametrize("objective", ["mle", "gcv", "loo"])
def test_fast_and_dense_objectives_and_gradients(cls, D, objective):
    """The optimized criterion: the fast value equals the dense one at the same parameters,
    and the analytic gradient equals central differences."""
    X = D(2, seed=2).random(128)
    y = np.cos(2 * np.pi * X[:, 0]) * X[:, 1]
    reg = cls(
        smoothness=2 if cls is LatticeKernelRegressor else 1,
        objective=objective,
        learn_nugget=True,
        nugget=1e-3,
        max_iter=30,
    ).fit(X, y)
    assert reg.fast_path_
    # dense on the same points (forced: max_dense large, points perturbed by nothing, so use
    # the private dense fitter through a non-design copy: the last point duplicated)
    theta = np.log(np.r_[reg.scale_, reg.weights_, reg.nugget_])
    captured = {}

    def grab(fun, w0, d):
        captured["fun"] = fun
        return theta, fun(theta)[0]

    for path in ("fast", "dense"):
        r = cls(smoothness=reg.smoothness, objective=objective, learn_nugget=True, nugget=1e-3)
        r._optimize = grab
        if path == "fast":
            r.fit(X, y)
        else:
            r._recognize = lambda T, extension=False: None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DenseFallbackWarning)
                r.fit(X, y)
        fun = captured["fun"]
        val, g = fun(theta)
        captured[path] = val
        eps = 1e-5
        num = np.array(
            [
                (fun(theta + eps * e)[0] - fun(theta - eps * e)[0]) / (2 * eps)
                for e in np.eye(theta.size)
            ]
        )
        np.testing.assert_allclose(g, num, rtol=1e-4, atol=1e-5 * max(1, abs(val)))
    if objective == "loo":  # dense LOO is the exact one; on a design it equals GCV up to n**2
        assert np.isfinite(captured["dense"])
    else:
        off = math.log(128) if objective == "gcv" else 0.0
        assert abs(captured["fast"] + off - captured["dense"]) <= 1e-8 * max(
            1, abs(captured["dense"])
        )


def test_analytic_kernel_fast_path_matches_dense():
    rng = np.random.default_rng(0)
    X = Lattice(2, seed=4).random(256)[rng.permutation(256)]
    y = np.cos(X[:, 0] + 2 * X[:, 1])
    r, w, s, eta = 0.3, np.array([0.7, 0.4]), 1.1, 1e-3
    reg = LatticeKernelRegressor(
        decay=r, weights=w, scale=s, nugget=eta, objective=None, normalize_y=False
    ).fit(X, y)
    assert reg.fast_path_ and reg.decay_ == r

    def poisson(t):  # 2 sum_h r**h cos(2 pi h t), summed directly
        h = np.arange(1, 80, dtype=float)
        return 2 * np.sum(r**h * np.cos(2 * np.pi * h * t[..., None]), axis=-1)

    def gram(A, B):
        G = np.ones((A.shape[0], B.shape[0]))
        for j in range(2):
            G *= 1 + w[j] * poisson(A[:, j, None] - B[None, :, j])
        return s * G

    Kd = gram(X, X) + eta * np.eye(256)
    Xt = rng.random((20, 2))
    Kt = gram(Xt, X)
    mean, std = reg.predict(Xt, return_std=True)
    np.testing.assert_allclose(mean, Kt @ np.linalg.solve(Kd, y), rtol=1e-10, atol=1e-11)
    var = s * np.prod(1 + w * 2 * r / (1 - r)) - np.sum(Kt * np.linalg.solve(Kd, Kt.T).T, 1)
    np.testing.assert_allclose(std**2, var, rtol=1e-9, atol=1e-12)
    auto = LatticeKernelRegressor(decay="auto").fit(X, y)
    assert auto.decay_ in (0.01, 0.03, 0.08, 0.15, 0.3)
