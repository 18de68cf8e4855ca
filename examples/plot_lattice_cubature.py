"""
================================================================
Bayesian cubature on a lattice: an integral with an error bar
================================================================

:meth:`~skspectral.kernel_regression.LatticeKernelRegressor.integrate` returns the posterior mean
and standard deviation of the integral of the target over the box, from the same fitted model
(for a product shift-invariant kernel every kernel section integrates to the scale, so the
posterior mean of the integral is a sum of the dual coefficients). We integrate
``prod_j (1 + a_j (x_j - 1/2))``-type test functions in ``d = 6`` whose integral is known, and
plot the error and the reported standard deviation against ``n``. The design is doubled with
:meth:`~skspectral.kernel_regression.LatticeKernelRegressor.extend` between sizes, which reuses
the transforms of the previous size.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skspectral.kernel_regression import LatticeKernelRegressor
from skspectral.qmc import Lattice

d = 6
c = 1.0 / np.arange(1, d + 1) ** 2


def f(x):  # integral over the unit cube: prod_j (1 + c_j * (e - 1 - ... )) computed below
    return np.prod(1 + c * (np.exp(x) - (np.e - 1)), axis=1)


exact = 1.0
design = Lattice(d, periodization="tent", seed=0)  # the tent fold preserves the integral
X = design.random(2**8)
reg = LatticeKernelRegressor(design=design, smoothness=2).fit(X, f(X))
ns, errs, stds = [], [], []
for m in range(8, 17):
    mean, std = reg.integrate()
    ns.append(2**m)
    errs.append(abs(mean - exact))
    stds.append(std)
    if m < 16:
        X_new = design.random(2**m)  # the next 2**m points of the sequence
        reg.extend(X_new, f(X_new))

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(ns, errs, "o-", label="|error| of the posterior mean")
ax.loglog(ns, stds, "s--", label="posterior standard deviation")
ax.set_xlabel("n")
ax.set_ylabel("integral error")
ax.grid(True, which="both", alpha=0.3)
ax.legend()
ax.set_title(f"Bayesian cubature, d = {d} (design doubled with extend)")
plt.show()
