"""PowerTransformer against scikit-learn's: fit and transform speed, and the adversarial cases.

Speed: lognormal data of 1,000,000 x 10 (``--quick``: 200,000 x 10), float64, one thread
(``n_jobs=None``, as scikit-learn), Box-Cox and Yeo-Johnson; fit and transform timed
alternately with scikit-learn's ``PowerTransformer`` (the anchor has no faster setting; its
Box-Cox fit is ``scipy.stats.boxcox``'s Brent search per column). The fit time is also stated
in *passes*: fit time over the time of one ``np.log`` pass over the same array.

Quality: for each adversarial input of the test suite, ours and scikit-learn's lambda, and
whether each transform's output is finite at the training data, 1% outside it and at 10x the
training maximum.

Run: ``python -m benchmarks.bench_power`` (``--quick`` for the small size; ``--part quality``,
``--part box-cox`` or ``--part yeo-johnson`` for one part).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
from sklearn.preprocessing import PowerTransformer as SkPowerTransformer

from benchmarks._runner import Benchmark
from skspectral.preprocessing import PowerTransformer

ADVERSARIAL = [
    ("yeo-johnson", [10, 10, 10, 9.9]),
    ("yeo-johnson", [500, 550, 500]),
    ("box-cox", [10, 10, 10, 9.9]),
    ("box-cox", [0.1, 0.1, 0.1, 0.101]),
    ("box-cox", [1, 1, 1e10]),
    ("box-cox", [2001, 2002, 2003, 2004, 2010, 2020]),
    ("yeo-johnson", [1e-12, 2e-12, 5e-12, 1e-11]),
    ("box-cox", [1e300, 1e301, 1e308, 1e305]),
    ("yeo-johnson", [-1e300, 1e301, 1e307, -1e305]),
]


def _finite_everywhere(est, x):
    X = np.asarray(x, dtype=np.float64)[:, None]
    hi, lo = X.max(), X.min()
    probes = np.array([[hi * 1.01], [hi * 10], [lo * 0.99]])
    probes = probes[np.abs(probes[:, 0]) < np.finfo(np.float64).max]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est.fit(X)
            return bool(
                np.isfinite(est.transform(X)).all() and np.isfinite(est.transform(probes)).all()
            )
        except Exception:
            return False


def quality(bench):
    for method, x in ADVERSARIAL:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = PowerTransformer(method=method).fit(np.asarray(x, float)[:, None])
            try:
                sk = SkPowerTransformer(method=method).fit(np.asarray(x, float)[:, None])
                sk_lam = float(sk.lambdas_[0])
            except Exception:
                sk_lam = float("nan")
        bench.record(
            f"{method} {x}",
            ours_lambda=float(ours.lambdas_[0]),
            ours_at_bound=bool(ours.lambdas_[0] in ours.lambda_bounds_[0]),
            sklearn_lambda=sk_lam,
            ours_finite=_finite_everywhere(PowerTransformer(method=method), x),
            sklearn_finite=_finite_everywhere(SkPowerTransformer(method=method), x),
        )


def speed(bench, methods):
    n = 200_000 if bench.quick else 1_000_000
    X = np.random.default_rng(0).lognormal(0.0, 1.0, size=(n, 10))
    # compile (numba caches on disk) before timing, the parallel variants too
    for method in methods:
        for n_jobs in (None, 2):
            PowerTransformer(method=method, n_jobs=n_jobs).fit(X).transform(X[:10])
    log_pass = bench.time(lambda: np.log(X), repeats=5)
    bench.record(f"np.log pass {n:,} x 10", seconds=log_pass)
    for method in methods:
        row = bench.compare(
            f"{method} fit {n:,} x 10",
            ours=lambda m=method: PowerTransformer(method=m).fit(X),
            anchor=lambda m=method: SkPowerTransformer(method=m).fit(X),
            anchor_name="sklearn PowerTransformer",
            repeats=3,
            warmup=0,
        )
        bench.record(
            f"{method} fit in np.log passes",
            passes=row["ours_s"] / log_pass,
            sklearn_passes=row["anchor_s"] / log_pass,
        )
        ours = PowerTransformer(method=method).fit(X)
        sk = SkPowerTransformer(method=method).fit(X)
        bench.record(
            f"{method} lambdas vs sklearn",
            max_rel_diff=float(np.max(np.abs(ours.lambdas_ / sk.lambdas_ - 1))),
            rounds=ours.n_rounds_,
        )
        bench.compare(
            f"{method} transform {n:,} x 10",
            ours=lambda e=ours: e.transform(X),
            anchor=lambda e=sk: e.transform(X),
            anchor_name="sklearn PowerTransformer",
            repeats=5,
        )
        # two threads against one (ours both)
        bench.compare(
            f"{method} fit n_jobs=2 vs n_jobs=None",
            ours=lambda m=method: PowerTransformer(method=m, n_jobs=2).fit(X),
            anchor=lambda m=method: PowerTransformer(method=m).fit(X),
            anchor_name="ours, one thread",
            repeats=5,
        )


def main(argv=None):
    bench = Benchmark(
        "bench_power", "PowerTransformer vs sklearn: speed, and adversarial inputs", argv=argv
    )
    args = sys.argv[1:] if argv is None else argv
    # --part quality|box-cox|yeo-johnson runs one part (scikit-learn's Box-Cox fit on 1e6 x 10
    # takes about a minute a call); the default runs all
    part = args[args.index("--part") + 1] if "--part" in args else "all"
    if part in ("all", "quality"):
        quality(bench)
    methods = [m for m in ("box-cox", "yeo-johnson") if part in ("all", m)]
    if methods:
        speed(bench, methods)
    bench.finish()


if __name__ == "__main__":
    main()
