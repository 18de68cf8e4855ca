"""Demo section: lattice kernel regression beside scikit-learn's exact GP at equal wall time."""

from __future__ import annotations

import time

import numpy as np


def section(quick: bool = False):
    """Genz oscillatory target in d = 4 (smooth, not periodic): test RMSE and fit time of
    :class:`~skspectral.kernel_regression.LatticeKernelRegressor` (cosine fold, analytic kernel)
    and of ``GaussianProcessRegressor`` (anisotropic RBF) at a size it fits in similar time."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel

    from skspectral._demo import Row, Section
    from skspectral.kernel_regression import LatticeKernelRegressor
    from skspectral.qmc import Lattice

    def f(x):
        return np.cos(0.5 * np.pi + x @ np.full(x.shape[1], 4.5 / x.shape[1]))

    d = 4
    rng = np.random.default_rng(0)
    Xt = rng.random((1000, d))
    yt = f(Xt)
    n = 2**10 if quick else 2**13
    des = Lattice(d, periodization="cosine", seed=0)
    X = des.random(n)
    t0 = time.perf_counter()
    reg = LatticeKernelRegressor(design=des, decay="auto").fit(X, f(X))
    t_ours = time.perf_counter() - t0
    e_ours = float(np.sqrt(np.mean((reg.predict(Xt) - yt) ** 2)))
    n_sk = 128 if quick else 256
    Xs = rng.random((n_sk, d))
    gp = GaussianProcessRegressor(
        ConstantKernel() * RBF(np.ones(d)), alpha=1e-10, normalize_y=True, random_state=0
    )
    t0 = time.perf_counter()
    gp.fit(Xs, f(Xs))
    t_sk = time.perf_counter() - t0
    e_sk = float(np.sqrt(np.mean((gp.predict(Xt) - yt) ** 2)))
    task = "emulate Genz oscillatory, d=4"
    return Section(
        "Lattice kernel regression (Genz oscillatory, d=4)",
        [
            Row(task, f"LatticeKernelRegressor n={n}", "skspectral", "test RMSE", e_ours, t_ours),
            Row(task, f"GaussianProcessRegressor n={n_sk}", "sklearn", "test RMSE", e_sk, t_sk),
        ],
    )
