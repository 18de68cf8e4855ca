"""
=============================================================
The KDI transformation from quantiles to min-max, by alpha
=============================================================

The kernel density integral transformation maps a feature through the CDF of its kernel
density estimate, scaled to the training range. Its bandwidth factor ``alpha`` moves it from
the quantile transformation (small ``alpha``) to min-max scaling (large ``alpha``). We draw
the map of a skewed, bimodal feature with a few outliers for several ``alpha``, beside
:class:`~sklearn.preprocessing.QuantileTransformer` and
:class:`~sklearn.preprocessing.MinMaxScaler`, and the histogram of the transformed values.
"""

# %%
# A skewed, bimodal feature with outliers
# ---------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer

from skspectral.preprocessing import KernelDensityIntegralTransformer

rng = np.random.default_rng(0)
x = np.concatenate(
    [rng.lognormal(0.0, 0.5, 3000), rng.normal(6.0, 0.4, 1000), [14.0, 16.0, 19.0]]
)[:, None]
grid = np.linspace(x.min(), x.max(), 1000)[:, None]

# %%
# The map for several alpha
# -------------------------
alphas = [0.01, 0.1, 0.3, 1.0, 3.0, 100.0]
fig, (ax_map, ax_hist) = plt.subplots(1, 2, figsize=(11, 4.2))
qt = QuantileTransformer(n_quantiles=x.shape[0]).fit(x)
ax_map.plot(grid, qt.transform(grid), "k--", lw=1, label="QuantileTransformer")
for alpha, color in zip(alphas, plt.cm.viridis(np.linspace(0, 0.9, len(alphas))), strict=True):
    kdi = KernelDensityIntegralTransformer(alpha=alpha).fit(x)
    ax_map.plot(grid, kdi.transform(grid), color=color, label=f"KDI alpha={alpha:g}")
    ax_hist.hist(kdi.transform(x).ravel(), bins=40, histtype="step", color=color,
                 density=True, label=f"alpha={alpha:g}")
ax_map.plot(grid, MinMaxScaler().fit(x).transform(grid), "k:", lw=1, label="MinMaxScaler")
ax_map.set_xlabel("x")
ax_map.set_ylabel("transformed x")
ax_map.set_title("The fitted map")
ax_map.legend(fontsize=7)
ax_hist.set_xlabel("transformed x")
ax_hist.set_title("Distribution of the transformed training data")
ax_hist.legend(fontsize=7)
fig.tight_layout()
plt.show()

# %%
# Small ``alpha`` flattens the histogram (the quantile map); large ``alpha`` keeps its shape
# and squeezes the bulk against the outliers (min-max); ``alpha = 1`` spreads each mode out
# while keeping the gap between them and the outliers apart.
