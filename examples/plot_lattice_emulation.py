"""
===================================================================
Emulating the Ishigami function: lattice, digital net and exact GP
===================================================================

The Ishigami function ``sin(x1) + 7 sin(x2)**2 + 0.1 x3**4 sin(x1)`` on ``[-pi, pi]**3`` is a
classic test case of sensitivity analysis and computer-experiment emulation. We sample it on
designs of growing size and fit three emulators:

* :class:`~skspectral.kernel_regression.LatticeKernelRegressor` on a rank-1 lattice with the
  smooth cosine fold (the target is not periodic in ``x3``) and the analytic kernel;
* :class:`~skspectral.kernel_regression.DigitalNetKernelRegressor` on a Sobol' net
  (order-1 kernel, no fold);
* scikit-learn's exact :class:`~sklearn.gaussian_process.GaussianProcessRegressor` (anisotropic
  RBF) on uniform random points, up to the sizes it fits in a few seconds.

The fast emulators fit (hyper-parameters included) in ``O(n log n)``, so they reach ``n`` that a
dense GP cannot.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel

from skspectral.kernel_regression import DigitalNetKernelRegressor, LatticeKernelRegressor
from skspectral.qmc import DigitalNet, Lattice


def ishigami(x):
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


lo, hi = -np.pi * np.ones(3), np.pi * np.ones(3)
rng = np.random.default_rng(0)
X_test = lo + (hi - lo) * rng.random((2000, 3))
y_test = ishigami(X_test)


def rmse(reg):
    return np.sqrt(np.mean((reg.predict(X_test) - y_test) ** 2))


results = {
    "lattice (cosine fold, analytic kernel)": [],
    "digital net (order 1)": [],
    "sklearn GP (RBF)": [],
}
for m in range(6, 14):
    n = 2**m
    lat = Lattice(3, l_bounds=lo, u_bounds=hi, periodization="cosine", seed=m)
    X = lat.random(n)
    t0 = time.perf_counter()
    reg = LatticeKernelRegressor(design=lat, decay="auto").fit(X, ishigami(X))
    results["lattice (cosine fold, analytic kernel)"].append(
        (n, rmse(reg), time.perf_counter() - t0)
    )
    net = DigitalNet(3, l_bounds=lo, u_bounds=hi, seed=m)
    X = net.random(n)
    t0 = time.perf_counter()
    reg = DigitalNetKernelRegressor(design=net, smoothness=1).fit(X, ishigami(X))
    results["digital net (order 1)"].append((n, rmse(reg), time.perf_counter() - t0))
    if n <= 512:
        X = lo + (hi - lo) * rng.random((n, 3))
        gp = GaussianProcessRegressor(
            ConstantKernel() * RBF(np.ones(3)), alpha=1e-8, normalize_y=True, random_state=0
        )
        t0 = time.perf_counter()
        gp.fit(X, ishigami(X))
        results["sklearn GP (RBF)"].append((n, rmse(gp), time.perf_counter() - t0))

# %%
# Error against n, and against fit time
# -------------------------------------
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for name, rows in results.items():
    n, err, t = np.array(rows).T
    axes[0].loglog(n, err, "o-", label=name)
    axes[1].loglog(t, err, "o-", label=name)
axes[0].set_xlabel("n (design points)")
axes[1].set_xlabel("fit time (s), hyper-parameters included")
for ax in axes:
    ax.set_ylabel("test RMSE")
    ax.grid(True, which="both", alpha=0.3)
axes[0].legend(fontsize=8)
fig.suptitle("Ishigami function, d = 3")
fig.tight_layout()
plt.show()
