import warnings

import numpy as np
import pytest
import sklearn

from skspectral.kernel_regression import (
    DenseFallbackWarning,
    DigitalNetKernelRegressor,
    LatticeKernelRegressor,
)
from skspectral.qmc import DigitalNet, Lattice

PAIRS = [(LatticeKernelRegressor, Lattice), (DigitalNetKernelRegressor, DigitalNet)]


def _f(X):
    return np.cos(2 * X[:, 0]) + X[:, 1] ** 2


@pytest.mark.parametrize("cls,D", PAIRS)
def test_extend_equals_fit_on_the_doubled_design(cls, D):
    des = D(3, seed=2)
    X1 = des.random(128)
    X2 = des.random(128)
    rng = np.random.default_rng(0)
    X2 = X2[rng.permutation(128)]
    p = dict(
        design=des,
        smoothness=1,
        weights=[0.5, 0.3, 0.2],
        scale=1.2,
        nugget=1e-6,
        objective=None,
        normalize_y=False,
    )
    grown = cls(**p).fit(X1, _f(X1)).extend(X2, _f(X2))
    full = cls(**p).fit(np.vstack([X1, X2]), _f(np.vstack([X1, X2])))
    assert full.fast_path_
    Xt = rng.random((30, 3))
    np.testing.assert_allclose(grown.predict(Xt), full.predict(Xt), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.sort(grown.eigenvalues_), np.sort(full.eigenvalues_), rtol=1e-9)
    np.testing.assert_allclose(grown.integrate(), full.integrate(), rtol=1e-10)
    with pytest.raises(ValueError, match="second half"):
        grown.extend(rng.random((256, 3)), np.zeros(256))


@pytest.mark.parametrize("cls,D", PAIRS)
def test_cubature_against_known_integral(cls, D):
    des = D(2, seed=0)
    X = des.random(1024)
    y = np.exp(X[:, 0]) * X[:, 1]  # integral (e - 1) / 2
    mean, std = cls(design=des, smoothness=1).fit(X, y).integrate()
    exact = (np.e - 1) / 2
    assert abs(mean - exact) < 1e-3 and std > 0
    # box scaling: integral over [0, 2] x [1, 3] of the constant 5 is 20
    des = D(2, l_bounds=[0, 1], u_bounds=[2, 3], seed=1)
    X = des.random(64)
    mean, std = cls(design=des).fit(X, np.full(64, 5.0)).integrate()
    assert abs(mean - 20) < 1e-8


@pytest.mark.parametrize("cls,D", PAIRS)
def test_bad_input(cls, D):
    des = D(2, seed=0)
    X = des.random(64)
    y = _f(X)
    with pytest.raises(ValueError, match="power of two"):
        cls(max_dense=10).fit(X[:63], y[:63])
    with pytest.raises(ValueError, match="is not a"):
        cls(max_dense=10).fit(X * 0.9, y)
    with pytest.raises(ValueError, match="outside the box"):
        cls(design=des).fit(X + 1.5, y)
    with pytest.raises(ValueError, match="NaN"):
        cls().fit(X, np.where(np.arange(64) == 3, np.nan, y))
    reg = cls().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        reg.predict(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="outside the box"):
        cls(design=des).fit(X, y).predict(np.array([[2.0, 0.5]]))
    for bad in (0, 5):
        with pytest.raises(ValueError, match="smoothness"):
            cls(smoothness=bad).fit(X, y)
    with pytest.raises(ValueError, match="design has d=3"):
        cls(design=D(3)).fit(X, y)
    for bad in (0.0, 1.0, 1.5, "x"):
        with pytest.raises(ValueError, match="decay"):
            cls(decay=bad).fit(X, y)
    if cls is DigitalNetKernelRegressor:
        with pytest.raises(ValueError, match="LatticeKernelRegressor only"):
            cls(decay=0.3).fit(X, y)


@pytest.mark.parametrize("cls,D", PAIRS)
def test_periodized_design_recognized_and_accurate(cls, D):
    des = D(2, periodization="cosine", seed=3, l_bounds=[-1, 0], u_bounds=[1, 5])
    X = des.random(512)
    y = np.exp(0.3 * X[:, 0]) + 0.1 * X[:, 1]
    reg = cls(design=des, smoothness=2 if cls is LatticeKernelRegressor else 1)
    reg.fit(X[::-1], y[::-1])
    assert reg.fast_path_
    Xt = np.column_stack(
        [np.random.default_rng(0).uniform(-1, 1, 200), np.random.default_rng(1).uniform(0, 5, 200)]
    )
    err = np.abs(reg.predict(Xt) - (np.exp(0.3 * Xt[:, 0]) + 0.1 * Xt[:, 1])).max()
    assert err < (1e-3 if cls is LatticeKernelRegressor else 5e-2)


def test_analytic_kernel_closes_the_non_periodic_gap():
    """Genz oscillatory, d = 2: the cosine fold with the analytic kernel beats the tent fold
    with the Bernoulli kernel by orders of magnitude at the same n."""
    f = lambda X: np.cos(0.5 * np.pi + X.sum(axis=1))  # noqa: E731
    Xt = np.random.default_rng(0).random((500, 2))
    errs = {}
    for fold, kw in (("tent", {"smoothness": 2}), ("cosine", {"decay": "auto"})):
        des = Lattice(2, periodization=fold, seed=0)
        X = des.random(1024)
        reg = LatticeKernelRegressor(design=des, **kw).fit(X, f(X))
        errs[fold] = np.sqrt(np.mean((reg.predict(Xt) - f(Xt)) ** 2))
    assert errs["cosine"] < 1e-2 * errs["tent"]


def test_multi_output_shares_hyper_parameters():
    X = Lattice(2, seed=0).random(128)
    Y = np.column_stack([_f(X), 2 * _f(X) + 1])
    reg = LatticeKernelRegressor().fit(X, Y)
    P = reg.predict(X[:10])
    assert P.shape == (10, 2)
    np.testing.assert_allclose(P[:, 1], 2 * P[:, 0] + 1, rtol=1e-6, atol=1e-6)
    mean, std = reg.predict(X[:5], return_std=True)
    assert std.shape == (5, 2)


@pytest.mark.parametrize("cls,D", PAIRS)
def test_array_api_predict_matches_numpy(cls, D):
    xp = pytest.importorskip("array_api_strict")
    X = D(2, seed=0).random(64)
    reg = cls(smoothness=1).fit(X, _f(X))
    Xt = np.random.default_rng(0).random((20, 2))
    ref_m, ref_s = reg.predict(Xt, return_std=True)
    with sklearn.config_context(array_api_dispatch=True):
        reg_xp = cls(smoothness=1).fit(xp.asarray(X), xp.asarray(_f(X)))
        m, s = reg_xp.predict(xp.asarray(Xt), return_std=True)
        with pytest.raises(ValueError, match="namespace"):
            reg.predict(xp.asarray(Xt))
    assert type(m).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(m), ref_m, rtol=1e-10, atol=1e-12)
    # The posterior variance is the prior variance minus a quadratic form of the same size, so
    # next to a design point (variance ~3e-11 here) it keeps only an absolute accuracy of about
    # 1e-15 times the Gram matrix's conditioning: compare variances with an absolute floor.
    np.testing.assert_allclose(np.asarray(s) ** 2, ref_s**2, rtol=1e-7, atol=1e-12)
    # dense path too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DenseFallbackWarning)
        dense = cls(smoothness=1).fit(X[:50], _f(X[:50]))
        with sklearn.config_context(array_api_dispatch=True):
            dense_xp = cls(smoothness=1).fit(xp.asarray(X[:50]), xp.asarray(_f(X[:50])))
            m = dense_xp.predict(xp.asarray(Xt))
    np.testing.assert_allclose(np.asarray(m), dense.predict(Xt), rtol=1e-10, atol=1e-12)


def test_refit_clears_and_threads_agree():
    from concurrent.futures import ThreadPoolExecutor

    X = Lattice(2, seed=0).random(256)
    reg = LatticeKernelRegressor(n_jobs=2).fit(X, _f(X))
    Xt = np.random.default_rng(0).random((300, 2))
    ref = reg.predict(Xt)
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda _: reg.predict(Xt), range(4)))
    for o in outs:
        np.testing.assert_array_equal(o, ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DenseFallbackWarning)
        reg.fit(np.random.default_rng(1).random((20, 2)), np.arange(20.0))
    assert not reg.fast_path_ and not hasattr(reg, "eigenvalues_")
