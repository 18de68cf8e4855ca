"""The power transform's section of ``python -m skspectral demo`` (bundled data only)."""

from __future__ import annotations

import time
import warnings

import numpy as np

# adversarial inputs of Xu and Cormode (arXiv 2510.04995) and the regression suite
_ADVERSARIAL = [
    ("yeo-johnson", [10, 10, 10, 9.9]),
    ("yeo-johnson", [500, 550, 500]),
    ("box-cox", [10, 10, 10, 9.9]),
    ("box-cox", [0.1, 0.1, 0.1, 0.101]),
    ("box-cox", [1, 1, 1e10]),
    ("box-cox", [2001, 2002, 2003, 2004, 2010, 2020]),
]


def _finite(make, method, x):
    X = np.asarray(x, dtype=np.float64)[:, None]
    probes = np.array([[X.max() * 1.01], [X.max() * 10], [X.min() * 0.99]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est = make(method=method).fit(X)
            return bool(
                np.isfinite(est.transform(X)).all() and np.isfinite(est.transform(probes)).all()
            )
        except Exception:
            return False


def section(quick: bool = False):
    """Box-Cox on skewed bundled data (scikit-learn's breast cancer set), beside scikit-learn's
    PowerTransformer; score: mean |skewness| after the transform; and the share of adversarial
    inputs whose outputs stay finite (at the data, 1% outside and at 10x the maximum)."""
    from scipy.stats import skew
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import PowerTransformer as SkPowerTransformer

    from skspectral._demo import Row, Section

    from ._power import PowerTransformer

    X = load_breast_cancer().data
    X = X[:, (X > 0).all(axis=0)]
    if not quick:
        X = np.tile(X, (20, 1)) * np.random.default_rng(0).lognormal(0, 0.01, (20 * len(X), 1))
    section = Section(
        f"Power transform: Box-Cox on {X.shape[0]} x {X.shape[1]} skewed columns "
        "(breast cancer data); mean |skewness| after, and adversarial inputs kept finite"
    )
    for name, library, make in (
        ("PowerTransformer", "skspectral", PowerTransformer),
        ("PowerTransformer", "scikit-learn", SkPowerTransformer),
    ):
        make(method="box-cox").fit_transform(X[:50])  # warm-up (numba compiles once)
        t0 = time.perf_counter()
        Z = make(method="box-cox").fit_transform(X)
        seconds = time.perf_counter() - t0
        section.rows.append(
            Row(
                "Box-Cox fit+transform",
                name,
                library,
                "mean |skew|",
                float(np.mean(np.abs(skew(Z)))),
                seconds,
            )
        )
        t0 = time.perf_counter()
        ok = [_finite(make, m, x) for m, x in _ADVERSARIAL]
        section.rows.append(
            Row(
                f"{len(ok)} adversarial inputs",
                name,
                library,
                "finite share",
                float(np.mean(ok)),
                time.perf_counter() - t0,
            )
        )
    return section
