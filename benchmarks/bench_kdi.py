"""KernelDensityIntegralTransformer: speed against kditransform, QuantileTransformer and the
column-sort floor, and accuracy against the exact KDE CDF, in one run.

    python -m benchmarks.bench_kdi [--quick]

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
    ours_pe = lambda: KernelDensityIntegralTransformer(kernel="polyexp").fit(  # noqa: E731
        X
    ).transform(X)

    def kdi_default():
        Xc = X.copy()
        return kditransform.KDITransformer().fit(Xc).transform(Xc)

    qt = lambda: QuantileTransformer(subsample=None).fit(X).transform(X)  # noqa: E731
    floor = lambda: np.sort(X, axis=0)  # noqa: E731
    bench.compare(f"fit+transform {tag}", ours, kdi_default, "kditransform KDITransformer()",
                  repeats=3)
    bench.compare(f"fit+transform {tag}", ours, qt, "QuantileTransformer(subsample=None)",
                  repeats=5)
    bench.compare(f"fit+transform {tag}", ours, floor, "np.sort(X, axis=0) (floor)",
                  repeats=5)
    bench.compare(f"fit+transform {tag}, polyexp", ours_pe, kdi_default,
                  "kditransform KDITransformer()", repeats=3)
    bench.compare(f"fit+transform {tag}, polyexp", ours_pe, floor,
                  "np.sort(X, axis=0) (floor)", repeats=5)
    bench.compare(f"fit+transform {tag}, 2 threads", lambda: KernelDensityIntegralTransformer(
        n_jobs=2).fit(X).transform(X), floor, "np.sort(X, axis=0) (floor)", repeats=5)


def main():
    bench = Benchmark("bench_kdi", "KDI transform: speed vs kditransform / QuantileTransformer")
    import kditransform

    sizes = [(100_000, 10), (20_000, 50)] if bench.quick else [(1_000_000, 10), (100_000, 100)]
    for n, d in sizes:
        speed(bench, kditransform, n, d)

    # accuracy against the exact scaled Gaussian-KDE CDF
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
            got = KernelDensityIntegralTransformer(alpha=a).fit(x[:, None]).transform(
                q[:, None]
            )[:, 0]
            theirs = kditransform.KDITransformer(alpha=alpha, kernel="gaussian").fit(
                x[:, None].copy()
            ).transform(q[:, None].copy())[:, 0]
            ours_err.append(float(np.max(np.abs(got - ref))))
            theirs_err.append(float(np.max(np.abs(theirs - ref))))
        bench.record(
            f"max abs error alpha={alpha:g} ({', '.join(names)})",
            ours=max(ours_err),
            kditransform_gaussian=max(theirs_err),
        )
    bench.finish()


if __name__ == "__main__":
    main()
