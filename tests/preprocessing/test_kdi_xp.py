"""The Array API core of KernelDensityIntegralTransformer (``_kdi_xp``) against SciPy and
against the NumPy / numba path, with array-api-strict."""

import numpy as np
import pytest
import scipy.special
import sklearn

from skspectral.preprocessing import KernelDensityIntegralTransformer as KDI
from skspectral.preprocessing import _kdi_kernels, _kdi_xp

xp = pytest.importorskip("array_api_strict")


def _data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.lognormal(size=n),
            rng.poisson(3.0, n).astype(float),
            np.where(rng.random(n) < 0.3, rng.normal(-4, 0.5, n), rng.normal(2, 1.5, n)),
            np.round(rng.uniform(1.0, 5.0, n), 1),
            np.full(n, 2.0),
        ]
    )
    X[rng.random(X.shape) < 0.01] = np.nan
    Q = np.vstack(
        [
            X[:300],
            rng.normal(0.0, 20.0, (40, X.shape[1])),  # well outside the training range
            [[-1e6] * 5, [1e6] * 5, [np.nan] * 5],
        ]
    )
    return X, Q


def test_ndtr_xp_against_scipy_over_a_wide_range():
    x = np.concatenate(
        [
            np.linspace(-40.0, 40.0, 400_001),
            -np.geomspace(1e-300, 40.0, 20_000),
            np.geomspace(1e-300, 40.0, 20_000),
            [0.0, -0.0, np.inf, -np.inf],
        ]
    )
    got = np.asarray(_kdi_xp.ndtr_xp(xp.asarray(x), xp))
    ref = scipy.special.ndtr(x)
    assert np.max(np.abs(got - ref)) <= 1e-15
    # relative precision in the lower tail, as far as SciPy's reaches (its own relative error
    # is about 1e-14 near x = -8 and 2.4e-13 near -37, against mpmath; ours is 4e-16, next test)
    m = (x < 0) & (ref > 1e-300)
    assert np.max(np.abs(got[m] - ref[m]) / ref[m]) <= 5e-13
    assert np.isnan(np.asarray(_kdi_xp.ndtr_xp(xp.asarray([np.nan]), xp))[0])


def test_ndtr_xp_against_mpmath_deep_in_the_tail():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    x = -np.geomspace(1.0, 37.5, 3000)
    got = np.asarray(_kdi_xp.ndtr_xp(xp.asarray(x), xp))
    ref = np.array([float(mp.ncdf(v)) for v in x])
    assert np.max(np.abs(got - ref) / ref) <= 2e-15


def test_ndtri_xp_refined_to_full_precision():
    p = np.concatenate([np.geomspace(1e-7, 0.5, 20_000), 1.0 - np.geomspace(1e-7, 0.5, 20_000)])
    got = np.asarray(_kdi_xp.ndtri_xp(xp.asarray(p), xp))
    ref = scipy.special.ndtri(p)
    assert np.max(np.abs(got - ref)) <= 4e-15
    far = np.abs(ref) > 0.1  # nearer 1/2 the rounding of p itself dominates
    assert np.max(np.abs(got[far] - ref[far]) / np.abs(ref[far])) <= 1e-14


def test_direct_sum_blocks_equal_the_kernel_sum():
    """The blocked Array API sum equals the numba sweep, whatever the block size (memory bound)."""
    rng = np.random.default_rng(3)
    xs = np.unique(np.round(rng.normal(size=4000), 3))
    ws = rng.uniform(0.5, 2.0, xs.shape[0])
    cw = np.concatenate([[0.0], np.cumsum(ws)])
    z = np.concatenate([rng.normal(0.0, 1.5, 100), [-50.0, 50.0, xs[0], xs[-1]]])
    for kernel in (_kdi_kernels.GAUSSIAN, _kdi_kernels.POLYEXP):
        if kernel == _kdi_kernels.GAUSSIAN:
            betas, gammas, support = np.zeros(1), np.zeros(1), 8.5
        else:
            from skspectral.preprocessing._kdi import _polyexp_constants

            betas, gammas, _, _, _, support = _polyexp_constants(4)
        h = 0.01
        ref = np.array(
            [
                _kdi_kernels.direct_cdf(
                    v, xs, ws, cw, 0, xs.shape[0], h, support, kernel, betas, gammas
                )
                for v in z
            ]
        )
        data = (xp.asarray(xs), xp.asarray(ws), xp.asarray(cw), h, support, kernel, betas, gammas)
        for block in (31, 300, None):
            F, dens = _kdi_xp.direct_cdf_xp(xp.asarray(z), data, xp, density=True, block=block)
            tol = 1e-14 * cw[-1]  # the order of the sums differs
            np.testing.assert_allclose(np.asarray(F), ref[:, 0], rtol=0, atol=tol)
            np.testing.assert_allclose(np.asarray(dens), ref[:, 1], rtol=0, atol=tol)


CASES = [
    {"alpha": 1e-3},
    {"alpha": 1e-3, "output_distribution": "normal"},
    {"extrapolate": True},
    {"extrapolate": True, "output_distribution": "normal"},
    {"alpha": 1e-3, "extrapolate": True},
    {"alpha": 1e-3, "extrapolate": True, "output_distribution": "normal"},
    {"alpha": 1e-3, "kernel": "polyexp"},
    {"kernel": "polyexp", "extrapolate": True, "output_distribution": "normal"},
]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_xp_transform_and_inverse_equal_numpy(kw, monkeypatch):
    X, Q = _data()
    est = KDI(**kw).fit(X)
    assert any(m in ("direct",) for m in est.mode_) or kw.get("extrapolate")
    ref = est.transform(Q)
    # inverse at generic levels (not at the exact plateau levels of a narrow KDE, where any
    # point of the flat stretch is an inverse)
    rng = np.random.default_rng(1)
    if kw.get("output_distribution") == "normal":
        Y = rng.normal(size=(150, X.shape[1]))
    else:
        Y = rng.uniform(size=(150, X.shape[1]))
    Y[::37] = np.nan
    Y[1], Y[2] = 0.0 if "output_distribution" not in kw else -6.0, 1.0
    back = est.inverse_transform(Y)
    with sklearn.config_context(array_api_dispatch=True):
        ex = KDI(**kw).fit(xp.asarray(X))

        # the transform and the inverse never leave the namespace
        def refuse(*args, **kwargs):
            raise AssertionError("the Array API path called a NumPy kernel")

        for name in ("transform_kernel", "transform_table", "inverse_kernel"):
            monkeypatch.setattr(_kdi_kernels, name, refuse)
        monkeypatch.setattr("skspectral.preprocessing._kdi.to_numpy", refuse)
        monkeypatch.setattr(_kdi_xp, "BLOCK", 2048)  # many blocks: the memory bound in use
        got = ex.transform(xp.asarray(Q))
        got_back = ex.inverse_transform(xp.asarray(Y))
    assert type(got).__module__.startswith("array_api_strict")
    assert type(got_back).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(np.asarray(got_back), back, rtol=1e-11, atol=1e-11)
    assert np.array_equal(np.isnan(np.asarray(got_back)), np.isnan(back))


def test_xp_float32_and_bad_input():
    X, Q = _data(1500)
    for kw in ({"alpha": 1e-3}, {"extrapolate": True, "output_distribution": "normal"}):
        est = KDI(**kw).fit(X.astype(np.float32))
        ref = est.transform(Q.astype(np.float32))
        with sklearn.config_context(array_api_dispatch=True):
            ex = KDI(**kw).fit(xp.asarray(X.astype(np.float32)))
            got = ex.transform(xp.asarray(Q.astype(np.float32)))
            assert got.dtype == xp.float32
            back = ex.inverse_transform(got)
            assert back.dtype == xp.float32
            with pytest.raises(ValueError, match="infinity"):
                ex.transform(xp.asarray(np.full((2, X.shape[1]), np.inf, dtype=np.float32)))
            with pytest.raises(ValueError, match="features"):
                ex.transform(xp.asarray(Q[:, :2].astype(np.float32)))
        np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-6, atol=1e-6)
