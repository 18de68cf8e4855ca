"""KernelDensityIntegralTransformer: speed against kditransform, QuantileTransformer and the
column-sort floor, and accuracy against the exact KDE CDF, in one run.

    python -m benchmarks.bench_kdi [--quick] [--part speed-1e6|speed-1e5|accuracy|discretizer]

(``--part`` may be repeated; without it, every part runs.) The discretizer part compares bins at
the KDE's density minima with ``KBinsDiscretizer`` on a downstream model (see
:func:`discretizer_study`).

Speed: fit + transform of the same matrix (float64; ten kinds of columns: lognormal, normal,
bimodal, integer counts, a 0.1-grid rating, heavy-tailed with outliers, uniform, exponential,
gamma, beta). Anchors: ``kditransform.KDITransformer()`` (its defaults: polyexp kernel; it
modifies its input, so it gets a copy, the copy timed with it; its Gaussian kernel costs
``O(n * n_quantiles)`` per column and is compared for accuracy only),
``QuantileTransformer(subsample=None)`` (n_quantiles=1000,
its default) and ``np.sort(X, axis=0)``, the floor. Accuracy: max |ours - exact| and
|kditransform - exact| of the scaled Gaussian-KDE CDF (exact: direct O(n m) sum of ndtr) on
10,000-row columns, for several alpha.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import QuantileTransformer

from benchmarks._runner import Benchmark
from skspectral.preprocessing import KernelDensityIntegralTransformer


def columns(n, d, seed=0):
    rng = np.random.default_rng(seed)
    makers = [
        lambda: rng.lognormal(0, 1, n),
        lambda: rng.normal(3, 2, n),
        lambda: np.where(rng.random(n) < 0.3, rng.normal(-4, 0.5, n), rng.normal(2, 1.5, n)),
        lambda: rng.poisson(3.0, n).astype(float),
        lambda: np.round(rng.uniform(1, 5, n), 1),
        lambda: np.concatenate([rng.standard_t(2, n - 3), [400.0, -250.0, 1e3]]),
        lambda: rng.uniform(-1, 1, n),
        lambda: rng.exponential(1.0, n),
        lambda: rng.gamma(2.0, 1.0, n),
        lambda: rng.beta(0.5, 0.5, n),
    ]
    return np.column_stack([makers[j % len(makers)]() for j in range(d)])


def exact_scaled(x, h, q):
    def F(p):
        out = np.empty(p.shape[0])
        for a in range(0, p.shape[0], 256):
            out[a : a + 256] = scipy.special.ndtr((p[a : a + 256, None] - x[None, :]) / h).mean(1)
        return out

    ends = F(np.array([x.min(), x.max()]))
    return (F(q) - ends[0]) / (ends[1] - ends[0])


def speed(bench, kditransform, n, d):
    """Fit + transform of one matrix: ours beside each anchor."""
    X = columns(n, d)
    tag = f"{n:,} x {d}"
    ours = lambda: KernelDensityIntegralTransformer().fit(X).transform(X)  # noqa: E731

    def ours_pe():
        return KernelDensityIntegralTransformer(kernel="polyexp").fit(X).transform(X)

    def kdi_default():
        Xc = X.copy()
        return kditransform.KDITransformer().fit(Xc).transform(Xc)

    qt = lambda: QuantileTransformer(subsample=None).fit(X).transform(X)  # noqa: E731
    floor = lambda: np.sort(X, axis=0)  # noqa: E731
    bench.compare(
        f"fit+transform {tag}", ours, kdi_default, "kditransform KDITransformer()", repeats=3
    )
    bench.compare(
        f"fit+transform {tag}", ours, qt, "QuantileTransformer(subsample=None)", repeats=5
    )
    bench.compare(f"fit+transform {tag}", ours, floor, "np.sort(X, axis=0) (floor)", repeats=5)
    bench.compare(
        f"fit+transform {tag}, polyexp",
        ours_pe,
        kdi_default,
        "kditransform KDITransformer()",
        repeats=3,
    )
    bench.compare(
        f"fit+transform {tag}, polyexp", ours_pe, floor, "np.sort(X, axis=0) (floor)", repeats=5
    )
    bench.compare(
        f"fit+transform {tag}, 2 threads",
        lambda: KernelDensityIntegralTransformer(n_jobs=2).fit(X).transform(X),
        floor,
        "np.sort(X, axis=0) (floor)",
        repeats=5,
    )


PARTS = ("speed-1e6", "speed-1e5", "accuracy", "discretizer")


def _parts():
    """``--part NAME`` (repeatable) runs only those parts of the benchmark, so that a full run
    can be split into shorter ones; without it, all of them."""
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--part", action="append", choices=PARTS)
    return parser.parse_known_args()[0].part or list(PARTS)


def main():
    parts = _parts()
    name = "bench_kdi" if len(parts) == len(PARTS) else "bench_kdi_" + "_".join(parts)
    bench = Benchmark(name, "KDI transform: speed vs kditransform / QuantileTransformer")
    import kditransform

    sizes = {
        "speed-1e6": (20_000, 50) if bench.quick else (1_000_000, 10),
        "speed-1e5": (100_000, 10) if bench.quick else (100_000, 100),
    }
    for part, (n, d) in sizes.items():
        if part in parts:
            speed(bench, kditransform, n, d)
    if "accuracy" in parts:
        accuracy(bench, kditransform)
    if "discretizer" in parts:
        discretizer_study(bench)
    bench.finish()


def accuracy(bench, kditransform):
    """Max error against the exact scaled Gaussian-KDE CDF, ours and kditransform's."""
    n = 10_000
    X = columns(n, 6, seed=1)
    names = ["lognormal", "normal", "bimodal", "counts", "rating", "heavy"]
    rng = np.random.default_rng(2)
    for alpha in [1e-3, 0.01, 0.1, 1.0, 10.0, 1e3]:
        ours_err, theirs_err = [], []
        for j in range(X.shape[1]):
            x = X[:, j]
            q = np.sort(rng.choice(x, 400 if bench.quick else 2000, replace=False))
            a = alpha * math.sqrt(n / (n - 1))  # kditransform's bandwidth uses ddof=1
            ref = exact_scaled(x, a * x.std(), q)
            got = (
                KernelDensityIntegralTransformer(alpha=a)
                .fit(x[:, None])
                .transform(q[:, None])[:, 0]
            )
            theirs = (
                kditransform.KDITransformer(alpha=alpha, kernel="gaussian")
                .fit(x[:, None].copy())
                .transform(q[:, None].copy())[:, 0]
            )
            ours_err.append(float(np.max(np.abs(got - ref))))
            theirs_err.append(float(np.max(np.abs(theirs - ref))))
        bench.record(
            f"max abs error alpha={alpha:g} ({', '.join(names)})",
            ours=max(ours_err),
            kditransform_gaussian=max(theirs_err),
        )


# ----------------------------------------------------------------------------- discretizer study
class MinimaBins(TransformerMixin, BaseEstimator):
    """Bins at the local minima of a feature's Gaussian KDE (``h = alpha * std``, the density
    on an 8,192-cell histogram smoothed by a Gaussian filter), one-hot encoded: the idea of
    kditransform's KD discretizer, for the study below."""

    def __init__(self, alpha="scott"):
        self.alpha = alpha

    def fit(self, X, y=None):
        import scipy.ndimage
        from sklearn.preprocessing import OneHotEncoder

        n = X.shape[0]
        self.edges_ = []
        for j in range(X.shape[1]):
            x = X[:, j]
            a = n**-0.2 if self.alpha == "scott" else self.alpha
            lo, hi = x.min(), x.max()
            cnt, e = np.histogram(x, bins=8192, range=(lo, hi))
            sigma = a * x.std() / ((hi - lo) / 8192)
            dens = scipy.ndimage.gaussian_filter1d(cnt.astype(float), sigma, mode="constant")
            mids = 0.5 * (e[1:] + e[:-1])
            i = np.flatnonzero((dens[1:-1] < dens[:-2]) & (dens[1:-1] <= dens[2:])) + 1
            self.edges_.append(mids[i])
        self.enc_ = OneHotEncoder(handle_unknown="ignore").fit(self._bins(X))
        return self

    def _bins(self, X):
        return np.column_stack([np.digitize(X[:, j], e) for j, e in enumerate(self.edges_)])

    def transform(self, X):
        return self.enc_.transform(self._bins(X))


def discretizer_study(bench):
    """Bins at the KDE's density minima against ``KBinsDiscretizer``: diamonds, log price from
    the six numeric columns, bins one-hot encoded into ``RidgeCV``, 5-fold cross-validated R^2
    (mean over the folds)."""
    from pathlib import Path

    import pandas as pd
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import KBinsDiscretizer

    here = Path(__file__).resolve()
    data = next(
        p / "shared" / "data" / "diamonds.csv.gz"
        for p in here.parents
        if (p / "shared" / "data" / "diamonds.csv.gz").is_file()
    )
    df = pd.read_csv(data)
    X = df[["carat", "depth", "table", "x", "y", "z"]].to_numpy(float)
    y = np.log(df["price"].to_numpy(float))
    cv = KFold(5, shuffle=True, random_state=0)

    def r2(t):
        model = make_pipeline(t, RidgeCV(alphas=np.logspace(-3, 3, 7)))
        return float(np.mean(cross_val_score(model, X, y, cv=cv, scoring="r2")))

    for a in ("scott", 0.02, 0.05, 0.1):
        bins = [len(e) + 1 for e in MinimaBins(a).fit(X).edges_]
        bench.record(f"density minima alpha={a}", bins=str(bins), r2=r2(MinimaBins(a)))
    for k in (5, 10, 20, 40, 80):
        for strategy in ("quantile", "uniform", "kmeans"):
            extra = {"quantile_method": "averaged_inverted_cdf"} if strategy == "quantile" else {}
            kb = KBinsDiscretizer(k, encode="onehot", strategy=strategy, **extra)
            bench.record(f"KBinsDiscretizer {k} {strategy}", bins=str([k] * 6), r2=r2(kb))


if __name__ == "__main__":
    main()
