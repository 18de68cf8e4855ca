"""
=====================================================================
Tuning the KDI transformation on real tabular data (diamonds prices)
=====================================================================

The ``diamonds`` data (ggplot2) has skewed numeric columns (carat, the dimensions x, y, z)
and three categorical ones. We predict the log price with a linear model (ridge regression on
the transformed numeric columns and the one-hot categories): a linear model sees only what the
preprocessing makes linear, so MinMaxScaler and StandardScaler (both affine) score the same,
and the shape of the map is what counts. We compare
preprocessing by :class:`~skspectral.preprocessing.KernelDensityIntegralTransformer` over a
sweep of ``alpha`` with :class:`~sklearn.preprocessing.MinMaxScaler`,
:class:`~sklearn.preprocessing.StandardScaler` and
:class:`~sklearn.preprocessing.QuantileTransformer`; then ``alpha`` is tuned by
:class:`~sklearn.model_selection.GridSearchCV` inside a
:class:`~sklearn.pipeline.Pipeline` with a :class:`~sklearn.compose.ColumnTransformer`.
"""

# %%
# The data
# --------
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, QuantileTransformer, StandardScaler

from skspectral.preprocessing import KernelDensityIntegralTransformer


def find_data(name):
    """``shared/data/<name>`` next to the project or above it."""
    here = Path(__file__).resolve() if "__file__" in globals() else Path.cwd() / "x"
    for parent in here.parents:
        for candidate in (parent / "shared" / "data" / name, parent / "data" / name):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(name)


df = pd.read_csv(find_data("diamonds.csv.gz")).sample(20000, random_state=0)
y = np.log(df.pop("price").to_numpy())
numeric = ["carat", "depth", "table", "x", "y", "z"]
categorical = ["cut", "color", "clarity"]
print(df.shape)


def pipeline(scaler):
    pre = ColumnTransformer(
        [("num", scaler, numeric),
         ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)]
    )
    return Pipeline([("pre", pre), ("ridge", Ridge(alpha=1e-3))])


cv = KFold(3, shuffle=True, random_state=0)

# %%
# An alpha sweep beside the usual scalers
# ---------------------------------------
alphas = [0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0]
kdi_scores = [
    cross_val_score(pipeline(KernelDensityIntegralTransformer(alpha=a)), df, y, cv=cv).mean()
    for a in alphas
]
baselines = {
    "MinMaxScaler": MinMaxScaler(),
    "StandardScaler": StandardScaler(),
    "QuantileTransformer": QuantileTransformer(n_quantiles=1000),
}
base_scores = {
    name: cross_val_score(pipeline(s), df, y, cv=cv).mean() for name, s in baselines.items()
}
for a, s in zip(alphas, kdi_scores, strict=True):
    print(f"KDI alpha={a:<6g} R^2 = {s:.4f}")
for name, s in base_scores.items():
    print(f"{name:<20} R^2 = {s:.4f}")

fig, ax = plt.subplots(figsize=(7, 4))
ax.semilogx(alphas, kdi_scores, "o-", label="KDI transformation")
for (name, s), style in zip(base_scores.items(), ["--", ":", "-."], strict=True):
    ax.axhline(s, ls=style, color="gray", label=name)
ax.set_xlabel("alpha")
ax.set_ylabel("3-fold R^2 of log price (ridge)")
ax.set_title("diamonds: preprocessing before a linear model")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# Tuning alpha with GridSearchCV
# ------------------------------
search = GridSearchCV(
    pipeline(KernelDensityIntegralTransformer()),
    {"pre__num__alpha": [0.1, 0.3, 1.0, 3.0]},
    cv=cv,
).fit(df, y)
print("best alpha:", search.best_params_["pre__num__alpha"], f"R^2 = {search.best_score_:.4f}")
