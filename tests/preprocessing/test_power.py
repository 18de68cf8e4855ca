"""PowerTransformer: adversarial inputs against an mpmath likelihood, agreement with
scikit-learn, safe transforms, mergeable / federated / batched fits."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import mpmath
import numpy as np
import pytest
from sklearn.preprocessing import PowerTransformer as SkPowerTransformer

from skspectral.preprocessing import (
    PowerTransformClient,
    PowerTransformer,
    PowerTransformWarning,
)

mpmath.mp.dps = 60


# ---------------------------------------------------------------------------------------------
# the high-precision reference: the likelihood in mpmath, maximized here
# ---------------------------------------------------------------------------------------------


def _mp_psi(x, lam, method):
    x = mpmath.mpf(x)
    lam = mpmath.mpf(lam)
    if method == "box-cox":
        return mpmath.log(x) if lam == 0 else (x**lam - 1) / lam
    if x >= 0:
        return mpmath.log1p(x) if lam == 0 else ((x + 1) ** lam - 1) / lam
    mu = 2 - lam
    return -mpmath.log1p(-x) if mu == 0 else -((1 - x) ** mu - 1) / mu


def _mp_side(x, lam, method):
    """``(base, exponent, sign)`` with ``psi = sign * (base**exponent - 1) / exponent``."""
    x = mpmath.mpf(x)
    if method == "box-cox":
        return x, lam, 1
    if x >= 0:
        return 1 + x, lam, 1
    return 1 - x, 2 - lam, -1


def _mp_diff(x, x0, lam, method):
    """``psi(x) - psi(x0)`` without the cancellation of the ``-1`` terms: for two values on
    the same side ``(b**e - b0**e) / e`` (mpmath's exponent range holds any power)."""
    b, e, s = _mp_side(x, lam, method)
    b0, e0, s0 = _mp_side(x0, lam, method)
    if s == s0:
        if e == 0:
            return s * (mpmath.log(b) - mpmath.log(b0))
        return s * (b**e - b0**e) / e
    return _mp_psi(x, lam, method) - _mp_psi(x0, lam, method)


def mp_nll(x, lam, method, counts=None):
    """Negative log-likelihood per row (constants dropped), in 60-digit arithmetic, with
    the variance of ``psi - psi(x[0])`` (the same variance, free of cancellation). ``counts``:
    how often each value of ``x`` occurs (1 each if None)."""
    w = [mpmath.mpf(1)] * len(x) if counts is None else [mpmath.mpf(int(c)) for c in counts]
    n = mpmath.fsum(w)
    lam = mpmath.mpf(lam)
    psi = [_mp_diff(v, x[0], lam, method) for v in x]
    mean = mpmath.fsum(c * p for c, p in zip(w, psi, strict=True)) / n
    var = mpmath.fsum(c * (p - mean) ** 2 for c, p in zip(w, psi, strict=True)) / n
    if method == "box-cox":
        s = mpmath.fsum(c * mpmath.log(mpmath.mpf(v)) for c, v in zip(w, x, strict=True))
    else:
        s = mpmath.fsum(
            c * (mpmath.log1p(mpmath.mpf(v)) if v >= 0 else -mpmath.log1p(-mpmath.mpf(v)))
            for c, v in zip(w, x, strict=True)
        )
    return mpmath.log(var) / 2 - (lam - 1) * s / n


def mp_argmin(x, method, lo=-1e13, hi=1e13, counts=None):
    """Minimizer of :func:`mp_nll` on [lo, hi]: a grid scan, then golden section to 1e-12."""
    x = [float(v) for v in x]
    grid = sorted(set([0.0] + [s * 10 ** (k / 8) for k in range(-24, 105) for s in (1, -1)]))
    grid = [g for g in grid if lo <= g <= hi]
    vals = [mp_nll(x, mpmath.mpf(g), method, counts) for g in grid]
    i = min(range(len(grid)), key=lambda k: vals[k])
    a = mpmath.mpf(grid[max(i - 1, 0)])
    b = mpmath.mpf(grid[min(i + 1, len(grid) - 1)])
    r = (mpmath.sqrt(5) - 1) / 2
    c, d = b - r * (b - a), a + r * (b - a)
    fc, fd = mp_nll(x, c, method, counts), mp_nll(x, d, method, counts)
    while b - a > mpmath.mpf("1e-13") * max(1, abs(a)):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - r * (b - a)
            fc = mp_nll(x, c, method, counts)
        else:
            a, c, fc = c, d, fd
            d = a + r * (b - a)
            fd = mp_nll(x, d, method, counts)
    return float((a + b) / 2)


def find_data(name):
    """``shared/data/<name>`` beside the project or in a folder above it (None if absent)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / name
        if candidate.is_file():
            return candidate
    return None


def _diamonds():
    pd = pytest.importorskip("pandas")
    path = find_data("diamonds.csv.gz")
    if path is None:
        pytest.skip("diamonds data not found")
    return pd.read_csv(path)


def mp_psi_extreme_ok(x, lam, method, big):
    """True if the transformed training extremes are finite below ``big`` (in mpmath)."""
    return all(abs(_mp_psi(v, lam, method)) <= big for v in (min(x), max(x)))


# every case of the issue, plus more; each also runs as a float32 copy where it fits float32
CASES = [
    ("yeo-johnson", [10, 10, 10, 9.9]),
    ("yeo-johnson", [500, 550, 500]),
    ("box-cox", [10, 10, 10, 9.9]),
    ("box-cox", [0.1, 0.1, 0.1, 0.101]),
    ("box-cox", [1, 1, 1e10]),
    ("yeo-johnson", [1, 1, 1e10]),
    ("yeo-johnson", [-10, -10, -10, -9.9]),
    ("yeo-johnson", [-1e10, -1, -1]),
    ("box-cox", [2001, 2002, 2003, 2004, 2010, 2020]),
    ("yeo-johnson", [2001, 2002, 2003, 2004, 2010, 2020]),
    ("box-cox", [1990.5, 1990.51, 1990.52, 1990.8]),
    ("yeo-johnson", [-3, -1, 0.5, 2, 40, 7]),
    ("box-cox", [1e-300, 1e-200, 1e-250, 1e-301]),
    ("yeo-johnson", [1e-12, 2e-12, 5e-12, 1e-11]),
    ("yeo-johnson", [-1e-12, 2e-12, -5e-12, 1e-11]),
    ("box-cox", [1e300, 1e301, 1e308, 1e305]),
    ("yeo-johnson", [1e300, 1e301, 1e308, 1e305]),
    ("yeo-johnson", [-1e300, 1e301, 1e307, -1e305]),
    ("box-cox", [1e-30, 1e30, 3.0, 1e-5, 7e12]),
]
IDS = [f"{m[:2]}-{i}" for i, (m, _) in enumerate(CASES)]


def _fits_float32(x):
    a = np.abs(np.asarray(x, dtype=np.float64))
    a = a[a > 0]
    return a.max() < 1e37 and a.min() > 1e-36 and len(set(np.float32(x).tolist())) > 1


def _check_case(method, x, dtype):
    X = np.asarray(x, dtype=dtype)[:, None]
    big = float(np.finfo(dtype).max)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pt = PowerTransformer(method=method).fit(X)
    bound_warned = any("bound" in str(w.message) for w in caught)
    lam = pt.lambdas_[0]
    assert pt.lambdas_.dtype == np.float64
    lo, hi = pt.lambda_bounds_[0]
    xs = [float(v) for v in X.ravel()]
    ref = mp_argmin(xs, method)
    if lo < ref < hi and mp_psi_extreme_ok(xs, ref, method, big):
        assert lam == pytest.approx(ref, rel=1e-6, abs=1e-9), (lam, ref)
        assert not bound_warned
    else:
        # the reference optimum is not representable: lambda exactly at the bound, with a warning
        assert lam in (lo, hi)
        assert bound_warned
        assert (ref > hi) if lam == hi else (ref < lo)
        assert mp_psi_extreme_ok(xs, lam, method, big)
        # ... and the bound is tight: a relative step beyond it is not representable
        assert not mp_psi_extreme_ok(xs, lam * (1 + 1e-9), method, big)
    return pt, X


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("method", "x"), CASES, ids=IDS)
def test_adversarial_lambda_matches_mpmath(method, x, dtype):
    if dtype == np.float32 and not _fits_float32(x):
        pytest.skip("values not representable (or not distinct) in float32")
    pt, X = _check_case(method, x, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PowerTransformWarning)
        Z = pt.transform(X)
        assert Z.dtype == dtype and np.isfinite(Z).all()
        # inputs 1% outside the training range and up to 10x the training maximum
        lo_, hi_ = float(X.min()), float(X.max())
        probes = [hi_ * 1.01, hi_ * 10, hi_ + 0.01 * abs(hi_), lo_ - 0.01 * abs(lo_), lo_ * 0.99]
        if method == "box-cox":
            probes = [p for p in probes if p > 0]
        P = np.asarray(probes, dtype=np.float64)
        P = P[np.abs(P) < np.finfo(dtype).max]
        out = pt.transform(P.astype(dtype)[:, None])
        assert np.isfinite(out).all()
        back = pt.inverse_transform(Z)
        assert np.isfinite(back).all()
        for std in (False,):
            raw = PowerTransformer(method=method, standardize=std).fit(X)
            assert np.isfinite(raw.transform(X)).all()
            assert np.isfinite(raw.transform(P.astype(dtype)[:, None])).all()


def test_sklearn_fails_where_we_do_not():
    # the headline cases: sklearn's lambda is at its search bound / wrong
    X = np.array([[10, 10, 10, 9.9]]).T
    sk = SkPowerTransformer().fit(X).lambdas_[0]
    with pytest.warns(PowerTransformWarning, match="bound"):
        ours = PowerTransformer().fit(X).lambdas_[0]
    assert abs(sk - 63.5) < 1.0 and ours > 290
    X = np.array([[500.0, 550.0, 500.0]]).T
    ours = PowerTransformer().fit(X).lambdas_[0]
    assert ours == pytest.approx(mp_argmin([500.0, 550.0, 500.0], "yeo-johnson"), rel=1e-6)
    assert abs(ours - (-22.6)) < 0.1


def test_float32_copy_gives_same_lambda_when_bound_is_far():
    x = np.random.default_rng(0).lognormal(size=(500, 3))
    a = PowerTransformer(method="box-cox").fit(x)
    b = PowerTransformer(method="box-cox").fit(x.astype(np.float32))
    np.testing.assert_allclose(a.lambdas_, b.lambdas_, rtol=1e-6)
    assert b.lambdas_.dtype == np.float64


# ---------------------------------------------------------------------------------------------
# agreement with scikit-learn on ordinary data
# ---------------------------------------------------------------------------------------------


def _ordinary():
    rng = np.random.default_rng(1)
    return {
        "lognormal": rng.lognormal(0.3, 0.8, size=(3000, 3)),
        "exponential": rng.exponential(2.0, size=(3000, 3)),
        "normal-mixed": rng.normal(0.5, 2.0, size=(3000, 2)),
    }


@pytest.mark.parametrize("method", ["box-cox", "yeo-johnson"])
@pytest.mark.parametrize("name", ["lognormal", "exponential", "normal-mixed", "diamonds"])
def test_agrees_with_sklearn_on_ordinary_data(method, name):
    if name == "diamonds":
        df = _diamonds()
        # "table" is left out (tested against mpmath below): its values have a small relative
        # spread, where sklearn's direct formulas lose digits (its Yeo-Johnson lambda is off by
        # 1.4e-5 relative from the 60-digit optimum)
        X = df[["carat", "price", "x"]].to_numpy(float)[::5]
        X = X[(X > 0).all(axis=1)]
    else:
        X = _ordinary()[name]
    if method == "box-cox" and not (X > 0).all():
        pytest.skip("Box-Cox needs positive data")
    ours = PowerTransformer(method=method).fit(X)
    sk = SkPowerTransformer(method=method).fit(X)
    # sklearn's own optimizer stops at about 1e-8 relative: it is right to that level
    np.testing.assert_allclose(ours.lambdas_, sk.lambdas_, rtol=1e-6)
    # and ours is closer to the exact optimum (the likelihood is no larger)
    np.testing.assert_allclose(ours.transform(X), sk.transform(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(X)), X, rtol=1e-9)
    for std in (False,):
        a = PowerTransformer(method=method, standardize=std).fit(X)
        b = SkPowerTransformer(method=method, standardize=std).fit(X)
        np.testing.assert_allclose(a.transform(X), b.transform(X), rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(a.inverse_transform(a.transform(X)), X, rtol=1e-9)


@pytest.mark.parametrize("method", ["yeo-johnson", "box-cox"])
def test_diamonds_table_lambda_is_the_mpmath_optimum(method):
    # 53,940 values between 43 and 95 (127 distinct): a tiny relative spread, where direct
    # formulas lose digits; the 60-digit likelihood is summed over the distinct values
    x = _diamonds()["table"].to_numpy(float)
    values, counts = np.unique(x, return_counts=True)
    ref = mp_argmin(values.tolist(), method, counts=counts.tolist())
    ours = PowerTransformer(method=method).fit(x[:, None]).lambdas_[0]
    assert ours == pytest.approx(ref, rel=1e-6)
    # the same data in float32, fitted in float64
    ours32 = PowerTransformer(method=method).fit(x[:, None].astype(np.float32)).lambdas_[0]
    assert ours32 == pytest.approx(ref, rel=1e-6)


def test_lambda_is_the_exact_optimum_on_lognormal():
    x = np.random.default_rng(3).lognormal(size=40)
    for method in ("box-cox", "yeo-johnson"):
        lam = PowerTransformer(method=method).fit(x[:, None]).lambdas_[0]
        assert lam == pytest.approx(mp_argmin(x.tolist(), method), rel=1e-9)


# ---------------------------------------------------------------------------------------------
# safe transform and inverse
# ---------------------------------------------------------------------------------------------


def test_inverse_outside_image_clips_with_warning():
    # Yeo-Johnson with lambda < 0: the positive branch's image is bounded by 1/|lambda|
    x = np.random.default_rng(0).lognormal(0, 2, size=(400, 1)) * 10
    for std in (True, False):
        pt = PowerTransformer(standardize=std).fit(x)
        assert pt.lambdas_[0] < 0
        sk = SkPowerTransformer(standardize=std).fit(x)
        Z = pt.transform(x)
        far = np.array([[Z.max() + 1e6], [Z.max() * 3 + 10]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk_back = sk.inverse_transform(far)
        assert np.isnan(sk_back).any()  # the gap of scikit-learn issue 28946
        with pytest.warns(PowerTransformWarning, match="clipped"):
            back = pt.inverse_transform(far)
        assert np.isfinite(back).all() and (back >= x.max()).all()


def test_transform_saturates_with_warning_and_never_inf():
    X = np.array([[10, 10, 10, 9.9]]).T
    with pytest.warns(PowerTransformWarning):
        pt = PowerTransformer(method="box-cox", standardize=False).fit(X)
    with pytest.warns(PowerTransformWarning, match="saturated"):
        out = pt.transform(np.array([[100.0], [1e6]]))
    assert np.isfinite(out).all() and out.max() == np.finfo(np.float64).max
    # inside the representable range: exact, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(pt.transform(X)).all()


def test_nan_ignored_in_fit_and_kept_in_transform():
    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(300, 3))
    Xn = X.copy()
    Xn[::7, 1] = np.nan
    Xn[::5, 0] = np.nan
    for method in ("box-cox", "yeo-johnson"):
        a = PowerTransformer(method=method).fit(Xn)
        b = SkPowerTransformer(method=method).fit(Xn)
        np.testing.assert_allclose(a.lambdas_, b.lambdas_, rtol=1e-6)
        np.testing.assert_allclose(
            a.lambdas_[1],
            PowerTransformer(method=method)
            .fit(X[::7][:0].tolist() or Xn[~np.isnan(Xn[:, 1])][:, [1]])
            .lambdas_[0],
            rtol=1e-12,
        )
        Z = a.transform(Xn)
        np.testing.assert_array_equal(np.isnan(Z), np.isnan(Xn))
        np.testing.assert_array_equal(np.isnan(a.inverse_transform(Z)), np.isnan(Xn))


def test_constant_and_degenerate_columns():
    X = np.column_stack([np.full(10, 3.0), np.arange(1.0, 11.0), np.full(10, np.nan)])
    pt = PowerTransformer().fit(X)
    assert pt.lambdas_[0] == 1.0 and pt.lambdas_[2] == 1.0
    Z = pt.transform(X)
    np.testing.assert_array_equal(Z[:, 0], 0.0)
    assert np.isnan(Z[:, 2]).all() and np.isfinite(Z[:, :2]).all()
    np.testing.assert_allclose(pt.inverse_transform(Z)[:, :2], X[:, :2])
    one = PowerTransformer(method="box-cox").fit([[2.0, 5.0]])
    assert np.isfinite(one.transform([[2.0, 5.0], [4.0, 1.0]])).all()


def test_bad_input_messages():
    with pytest.raises(ValueError, match="strictly positive"):
        PowerTransformer(method="box-cox").fit([[1.0], [0.0]])
    pt = PowerTransformer(method="box-cox").fit([[1.0], [2.0], [3.0]])
    with pytest.raises(ValueError, match="strictly positive"):
        pt.transform([[-1.0]])
    with pytest.raises(ValueError, match="infinity"):
        PowerTransformer().fit([[1.0], [np.inf]])
    with pytest.raises(ValueError, match="features"):
        pt.transform([[1.0, 2.0]])
    with pytest.raises(ValueError):
        PowerTransformer(method="cox").fit([[1.0], [2.0]])


def test_input_never_modified_readonly_memmap(tmp_path):
    X = np.random.default_rng(0).lognormal(size=(100, 3))
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    ro = np.load(tmp_path / "x.npy", mmap_mode="r")
    before = ro.copy()
    for method in ("box-cox", "yeo-johnson"):
        pt = PowerTransformer(method=method).fit(ro)
        Z = pt.transform(ro)
        pt.inverse_transform(Z)
        np.testing.assert_array_equal(ro, before)
        np.testing.assert_allclose(Z, PowerTransformer(method=method).fit(X).transform(X))
    Xf = np.asfortranarray(X)
    np.testing.assert_allclose(
        PowerTransformer().fit(Xf).transform(Xf[::2]), PowerTransformer().fit(X).transform(X[::2])
    )
    # a read-only input to inverse_transform, and writable inputs with copy=False (NaN, float32,
    # F-order, big-endian, a batch, a federated owner) are left as they were
    Zro = PowerTransformer().fit(X).transform(X)
    Zro.setflags(write=False)
    PowerTransformer().fit(X).inverse_transform(Zro)
    rng = np.random.default_rng(1)
    W = rng.lognormal(size=(70_000, 3))  # above the subsample's threshold
    W[::9, 1] = np.nan
    for arr in (W, np.asfortranarray(W.astype(np.float32)), W.astype(">f8")):
        before = arr.copy()
        pt = PowerTransformer(copy=False).fit(arr)
        pt.inverse_transform(pt.transform(arr))
        pt.partial_fit(arr[:100])
        PowerTransformer().fit_federated([PowerTransformClient(arr)])
        np.testing.assert_array_equal(arr, before)


def test_threads_give_the_serial_result(monkeypatch):
    from skspectral.preprocessing import _power

    # every kernel through the parallel variant, however small its input
    monkeypatch.setattr(_power, "_PARALLEL_MIN", 0)
    X = np.random.default_rng(0).lognormal(size=(150_000, 3))
    a = PowerTransformer(method="box-cox").fit(X)
    b = PowerTransformer(method="box-cox", n_jobs=2).fit(X)
    np.testing.assert_allclose(a.lambdas_, b.lambdas_, rtol=1e-12)
    np.testing.assert_allclose(a.transform(X[:1000]), b.transform(X[:1000]), rtol=1e-12)
    # the subsample-then-polish path finds the full-data optimum, as the plain search does
    fed = PowerTransformer(method="box-cox").fit_federated([PowerTransformClient(X, "box-cox")])
    np.testing.assert_allclose(a.lambdas_, fed.lambdas_, rtol=1e-10)


def test_refit_and_pickle():
    rng = np.random.default_rng(0)
    pt = PowerTransformer().fit(rng.lognormal(size=(50, 3)))
    pt.fit(rng.lognormal(size=(60, 2)))
    assert pt.lambdas_.shape == (2,) and pt.n_features_in_ == 2
    X = rng.lognormal(size=(20, 2))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(pt)).transform(X), pt.transform(X))


# ---------------------------------------------------------------------------------------------
# mergeable, batched and federated fits
# ---------------------------------------------------------------------------------------------


def _owners(n_clients, method, seed=0):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 400, size=n_clients)
    parts = []
    for i, m in enumerate(sizes):
        x = rng.lognormal(0.2, 0.7, size=(m, 3))
        if method == "yeo-johnson":
            # positive, negative and mixed-sign owners
            shift = [0.0, -8.0, -1.5][i % 3]
            x = x + shift
            x[:, 2] = rng.normal(0, 3, size=m)
        parts.append(x)
    return parts


@pytest.mark.parametrize("method", ["box-cox", "yeo-johnson"])
@pytest.mark.parametrize("n_clients", [2, 10, 100])
def test_federated_equals_central(method, n_clients):
    parts = _owners(n_clients, method)
    central = PowerTransformer(method=method).fit(np.vstack(parts))
    objects = [PowerTransformClient(x, method=method) for x in parts]
    # half the owners as plain callables
    clients = [c if i % 2 else c.statistics for i, c in enumerate(objects)]
    fed = PowerTransformer(method=method).fit_federated(clients, max_rounds=40)
    np.testing.assert_allclose(fed.lambdas_, central.lambdas_, rtol=1e-8)
    assert fed.n_rounds_ <= 40
    X = np.vstack(parts)
    np.testing.assert_allclose(fed.transform(X), central.transform(X), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("method", ["box-cox", "yeo-johnson"])
def test_partial_fit_and_merge_equal_central(method):
    parts = _owners(10, method, seed=4)
    central = PowerTransformer(method=method).fit(np.vstack(parts))
    pt = PowerTransformer(method=method)
    for x in parts:
        pt.partial_fit(x)
    np.testing.assert_allclose(pt.lambdas_, central.lambdas_, rtol=1e-8)
    a = PowerTransformer(method=method).fit(np.vstack(parts[:4]))
    b = PowerTransformer(method=method).fit(np.vstack(parts[4:7]))
    c = PowerTransformer(method=method).fit(np.vstack(parts[7:]))
    a.merge(b, c)
    np.testing.assert_allclose(a.lambdas_, central.lambdas_, rtol=1e-8)


@pytest.mark.parametrize("method", ["box-cox", "yeo-johnson"])
@pytest.mark.parametrize("n_clients", [2, 10, 100])
def test_merged_and_dask_fits_equal_central(method, n_clients):
    da = pytest.importorskip("dask.array")
    parts = _owners(n_clients, method, seed=n_clients)
    X = np.vstack(parts)
    central = PowerTransformer(method=method).fit(X)
    fitted = [PowerTransformer(method=method).fit(x) for x in parts]
    merged = fitted[0].merge(*fitted[1:])
    np.testing.assert_allclose(merged.lambdas_, central.lambdas_, rtol=1e-8)
    # one dask block per owner, of the owners' unequal sizes (local threaded scheduler)
    sizes = tuple(len(x) for x in parts)
    dX = da.from_array(X, chunks=(sizes, X.shape[1]))
    assert dX.numblocks[0] == n_clients
    pt = PowerTransformer(method=method).fit(dX)
    np.testing.assert_allclose(pt.lambdas_, central.lambdas_, rtol=1e-8)
    assert pt.n_rounds_ <= 40


def test_large_fit_equals_full_search_and_scipy_transform():
    # above the subsample's threshold: the subsample-then-polish fit and the vectorized passes
    # against the plain search over all rows, on every kind of column (positive, negative,
    # mixed sign, with NaN), and the vectorized transform against scipy's formula
    from scipy import stats

    rng = np.random.default_rng(7)
    n = 90_000
    X = np.column_stack(
        [
            rng.lognormal(0.5, 0.7, n),
            -rng.gamma(2.0, 3.0, n),
            rng.normal(1.0, 2.0, n),
            rng.exponential(5.0, n),
            1000.0 + rng.gamma(3.0, 0.01, n),  # tiny relative spread
        ]
    )
    X[::11, 3] = np.nan
    fit = PowerTransformer().fit(X)
    full = PowerTransformer().fit_federated([PowerTransformClient(X)])
    np.testing.assert_allclose(fit.lambdas_, full.lambdas_, rtol=1e-9)
    Z = fit.transform(X)
    # the tiny-spread column, where scipy's formula loses every digit: standardized, monotone
    z4 = Z[:, 4]
    assert abs(z4.mean()) < 1e-9 and abs(z4.std() - 1) < 1e-9
    order = np.argsort(X[:, 4])
    assert (np.diff(z4[order]) >= 0).all()
    for j in range(4):
        x = X[:, j]
        ok = ~np.isnan(x)
        psi = stats.yeojohnson(x[ok], lmbda=fit.lambdas_[j])
        ref = (psi - psi.mean()) / psi.std()
        np.testing.assert_allclose(Z[ok, j], ref, rtol=1e-7, atol=1e-7)
        assert np.isnan(Z[~ok, j]).all()
    np.testing.assert_allclose(fit.inverse_transform(Z), X, rtol=1e-9)


def test_vectorized_elementary_functions_against_mpmath():
    from numba import njit

    from skspectral.preprocessing import _power_kernels as K

    @njit(error_model="numpy")
    def apply(which, x, out):
        for i in range(x.shape[0]):
            v = x[i]
            if which == 0:
                out[i] = K.vexp(v)
            elif which == 1:
                out[i] = K.vexpm1(v)
            elif which == 2:
                out[i] = K.vlog(v)
            else:
                out[i] = K.vlog1p(v)

    rng = np.random.default_rng(0)
    u = np.concatenate(
        [
            rng.uniform(-1e-9, 1e-9, 200),
            rng.uniform(-0.4, 0.4, 400),
            rng.uniform(-3, 3, 400),
            rng.uniform(-700, 700, 300),
        ]
    )
    x = np.concatenate(
        [
            rng.lognormal(0, 6, 600),
            1 + rng.uniform(-1e-7, 1e-7, 200),
            [5e-324, 1e-310, 2.2250738585072014e-308, 1.7976931348623157e308, 0.5, 2.0],
        ]
    )
    x = x[x != 1.0]
    small = np.concatenate([rng.uniform(0, 1e-9, 200), rng.lognormal(0, 4, 600), [0.0]])
    for which, args, ref in (
        (0, u, mpmath.exp),
        (1, u, mpmath.expm1),
        (2, x, mpmath.log),
        (3, small, mpmath.log1p),
    ):
        out = np.empty_like(args)
        apply(which, args, out)
        for a, v in zip(args, out, strict=True):
            exact = ref(mpmath.mpf(float(a)))
            ulp = np.spacing(abs(float(exact))) if exact != 0 else 5e-324
            assert abs(float(mpmath.mpf(float(v)) - exact)) <= 2.5 * ulp, (which, a, v)


def test_federated_server_sees_only_statistics():
    parts = _owners(3, "yeo-johnson")
    seen = []

    class Owner:
        def __init__(self, x):
            self._inner = PowerTransformClient(x)

        def statistics(self, request):
            answer = self._inner.statistics(request)
            seen.append(pickle.dumps(answer))
            return answer

    fed = PowerTransformer().fit_federated([Owner(x) for x in parts])
    assert len(seen) == 3 * fed.n_rounds_
    small = max(len(s) for s in seen)
    seen.clear()
    # ten times the rows: the answers do not grow (a few numbers per feature and lambda)
    PowerTransformer().fit_federated([Owner(np.vstack([x] * 10)) for x in parts])
    assert max(len(s) for s in seen) == small < 10_000


# ---------------------------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------------------------


def test_dask_local_scheduler_array_and_dataframe():
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X = np.random.default_rng(0).lognormal(size=(5_000, 3))
    central = PowerTransformer(method="box-cox").fit(X)
    dX = da.from_array(X, chunks=(700, 2))
    pt = PowerTransformer(method="box-cox").fit(dX)
    np.testing.assert_allclose(pt.lambdas_, central.lambdas_, rtol=1e-8)
    assert pt.n_rounds_ <= 40
    Z = pt.transform(dX)
    assert isinstance(Z, da.Array)  # lazy
    np.testing.assert_allclose(Z.compute(), central.transform(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pt.inverse_transform(Z).compute(), X, rtol=1e-9)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    ddf = dd.from_pandas(df, npartitions=4)
    pt2 = PowerTransformer(method="box-cox").fit(ddf)
    np.testing.assert_allclose(pt2.lambdas_, central.lambdas_, rtol=1e-8)
    assert list(pt2.feature_names_in_) == ["a", "b", "c"]


def test_dask_distributed_local_cluster_workers_as_clients():
    """The Dask fit on a LocalCluster with two worker processes (power_cluster_check.py)
    equals the in-memory fit, in at most 40 rounds, and no row reaches the client.

    It once stalled with a cold numba cache on a busy machine: the client waited for the first
    round's statistics while both workers sat idle; before that, the two workers had compiled
    the same kernels at once, each holding its GIL for seconds (so neither could answer the
    scheduler meanwhile), the likely cause. Here the kernels are compiled (or loaded) in this
    process first, so the workers load them from numba's on-disk cache; and the cluster runs in
    a process session of its own, killed with its workers if it has not finished in 300 s.
    """
    pytest.importorskip("distributed")
    pytest.importorskip("dask.array")
    import os
    import signal
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    for method in ("yeo-johnson", "box-cox"):  # the kernels the workers will run
        PowerTransformer(method=method).fit(rng.lognormal(size=(50, 3)))
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("power_cluster_check.py"))],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the LocalCluster fit did not finish in 300 s:\n{out}\n{err[-3000:]}")
    assert proc.returncode == 0, f"{out}\n{err[-3000:]}"
    assert out.strip().endswith("OK"), out
