"""
====================================================================
Power transforms on skewed real data, fitted centrally and federated
====================================================================

The diamonds data (53,940 diamonds, from R's ggplot2) has strongly right-skewed columns:
the weight in carats and the price. A Box-Cox transform makes them close to Gaussian. We fit
:class:`~skspectral.preprocessing.PowerTransformer` on all rows, then again as if the rows
belonged to five owners, one per quality of cut, who never share a row: each answers the
server's requests with a few statistics per feature
(:class:`~skspectral.preprocessing.PowerTransformClient`), and the federated lambdas equal the
central ones.
"""

# %%
# The data
# --------
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.preprocessing import PowerTransformer as SkPowerTransformer

from skspectral.preprocessing import PowerTransformClient, PowerTransformer

# ``shared/data`` beside the project or in any folder above it
here = Path(__file__).resolve() if "__file__" in globals() else Path.cwd() / "x"
candidates = [p / "shared" / "data" / "diamonds.csv.gz" for p in here.parents]
path = next(p for p in candidates if p.is_file())
df = pd.read_csv(path)
columns = ["carat", "price", "x"]
X = df[columns].to_numpy(dtype=np.float64)
X = X[(X > 0).all(axis=1)]  # a few diamonds have a recorded size of 0
print(
    f"{X.shape[0]} diamonds; skewness:",
    {c: round(float(v), 2) for c, v in zip(columns, stats.skew(X), strict=True)},
)

# %%
# Central fit, beside scikit-learn's
# ----------------------------------
pt = PowerTransformer(method="box-cox").fit(X)
sk = SkPowerTransformer(method="box-cox").fit(X)
Z = pt.transform(X)
print("lambdas (skspectral):  ", pt.lambdas_.round(6))
print("lambdas (scikit-learn):", sk.lambdas_.round(6))
print(
    "skewness after:", {c: round(float(v), 3) for c, v in zip(columns, stats.skew(Z), strict=True)}
)

fig, axes = plt.subplots(2, len(columns), figsize=(11, 5.5))
for j, name in enumerate(columns):
    axes[0, j].hist(X[:, j], bins=80, color="0.5")
    axes[0, j].set_title(f"{name} (skew {stats.skew(X[:, j]):.2f})")
    axes[1, j].hist(Z[:, j], bins=80, color="tab:blue")
    axes[1, j].set_title(f"Box-Cox, lambda={pt.lambdas_[j]:.3f} (skew {stats.skew(Z[:, j]):.2f})")
fig.suptitle("Diamonds: skewed columns before (top) and after (bottom) the power transform")
fig.tight_layout()

# %%
# A federated fit across five owners
# ----------------------------------
# Each owner holds the diamonds of one cut; the server only ever receives counts, extremes
# and, for each lambda it asks about, six numbers per feature.
cut = df.loc[(df[columns] > 0).all(axis=1), "cut"].to_numpy()
owners = {c: X[cut == c] for c in np.unique(cut)}
clients = [PowerTransformClient(rows, method="box-cox") for rows in owners.values()]
fed = PowerTransformer(method="box-cox").fit_federated(clients)
print({c: len(rows) for c, rows in owners.items()})
print("federated lambdas:", fed.lambdas_.round(6), f"in {fed.n_rounds_} rounds")
print(
    "max relative difference to the central fit:",
    f"{np.max(np.abs(fed.lambdas_ / pt.lambdas_ - 1)):.1e}",
)

fig, ax = plt.subplots(figsize=(6, 3.5))
pos = np.arange(len(columns))
ax.bar(pos - 0.2, pt.lambdas_, 0.4, label="central fit (all rows)")
ax.bar(pos + 0.2, fed.lambdas_, 0.4, label=f"federated, 5 owners, {fed.n_rounds_} rounds")
ax.set_xticks(pos, columns)
ax.set_ylabel("lambda")
ax.axhline(0, color="k", lw=0.5)
ax.legend()
ax.set_title("The federated fit equals the central one")
fig.tight_layout()
plt.show()
