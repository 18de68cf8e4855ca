"""KernelDensityIntegralTransformer against exact references built in the tests."""

import math
import threading

import numpy as np
import pytest
import scipy.integrate
import scipy.special
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer

from skspectral.preprocessing import KernelDensityIntegralTransformer as KDI

N = 10_000
ALPHAS = [1e-3, 1e-2, 0.1, 1.0, 10.0, 1e3]


def _feature(name, n=N, seed=0):
    rng = np.random.default_rng(seed)
    if name == "lognormal":
        return rng.lognormal(0.0, 1.0, n)
    if name == "normal":
        return rng.normal(3.0, 2.0, n)
    if name == "bimodal":
        return np.where(rng.random(n) < 0.3, rng.normal(-4, 0.5, n), rng.normal(2, 1.5, n))
    if name == "counts":  # integer counts, many ties
        return rng.poisson(3.0, n).astype(float)
    if name == "rating":  # a 0.1-grid rating
        return np.round(rng.uniform(1.0, 5.0, n), 1)
    if name == "heavy":  # heavy tails and outliers
        x = rng.standard_t(2, n)
        x[:5] = [400.0, -250.0, 1e3, 800.0, -600.0]
        return x
    raise ValueError(name)


FEATURES = ["lognormal", "normal", "bimodal", "counts", "rating", "heavy"]


# ----------------------------------------------------------------------------- references
def _exact_scaled(cdf_sum, x, q):
    """``(F(q) - F(min)) / (F(max) - F(min))`` for ``F`` given as ``cdf_sum(points)``."""
    ends = cdf_sum(np.array([x.min(), x.max()]))
    return (cdf_sum(q) - ends[0]) / (ends[1] - ends[0])


def _gauss_cdf_sum(x, h, w=None):
    w = np.ones_like(x) if w is None else w

    def f(q):
        out = np.empty(q.shape[0])
        for a in range(0, q.shape[0], 256):
            b = min(a + 256, q.shape[0])
            out[a:b] = scipy.special.ndtr((q[a:b, None] - x[None, :]) / h) @ w
        return out / w.sum()

    return f


def _polyexp_betas(order):
    fact = np.array([math.factorial(k) for k in range(order + 1)], dtype=float)
    b = 1.0 / fact
    return b / (2.0 * np.sum(b * fact))


def _polyexp_cdf(u, order):
    """CDF of the poly-exponential kernel by the regularized incomplete gamma function:
    ``P(U <= -a) = sum_k beta_k k! Q(k + 1, a)``, ``a >= 0``."""
    betas = _polyexp_betas(order)
    a = np.abs(u)
    tail = sum(
        betas[k] * math.factorial(k) * scipy.special.gammaincc(k + 1, a)
        for k in range(order + 1)
    )
    return np.where(u < 0, tail, 1.0 - tail)


def _polyexp_h_factor(order):
    """Gaussian -> poly-exponential bandwidth factor, by quadrature."""
    betas = _polyexp_betas(order)

    def K(u):
        a = abs(u)
        return sum(betas[k] * a**k for k in range(order + 1)) * math.exp(-a)

    rough = 2 * scipy.integrate.quad(lambda u: K(u) ** 2, 0, np.inf)[0]
    mu2 = 2 * scipy.integrate.quad(lambda u: u * u * K(u), 0, np.inf)[0]
    return (rough / mu2**2 * 2 * math.sqrt(math.pi)) ** 0.2


def _polyexp_cdf_sum(x, h, order=4):
    def f(q):
        out = np.empty(q.shape[0])
        for a in range(0, q.shape[0], 64):
            b = min(a + 64, q.shape[0])
            out[a:b] = _polyexp_cdf((q[a:b, None] - x[None, :]) / h, order).sum(axis=1)
        return out / x.shape[0]

    return f


def _queries(x, n_train, n_free, seed=1):
    rng = np.random.default_rng(seed)
    q = np.concatenate(
        [rng.choice(x, n_train, replace=False), rng.uniform(x.min(), x.max(), n_free),
         [x.min(), x.max()]]
    )
    return q


# ----------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize("name", FEATURES)
def test_gaussian_cdf_exact_every_alpha(name):
    x = _feature(name)
    q = _queries(x, 300, 200)
    modes = set()
    for alpha in ALPHAS:
        est = KDI(alpha=alpha).fit(x[:, None])
        got = est.transform(q[:, None])[:, 0]
        ref = _exact_scaled(_gauss_cdf_sum(x, alpha * x.std()), x, q)
        err = np.max(np.abs(got - ref))
        assert err <= 1e-6, (name, alpha, err, est.mode_)
        modes.add(est.mode_[0])
        # the map of the training data itself, by the fit-transform path
        got_train = est.transform(x[:, None])[:, 0]
        sel = np.isin(x, q)
        ref_train = np.interp(x[sel], np.sort(q), ref[np.argsort(q)])
        assert np.max(np.abs(got_train[sel] - ref_train)) <= 1e-6
    if name in ("lognormal", "normal"):
        assert modes == {"grid", "direct"}  # both evaluation paths are exercised


@pytest.mark.parametrize("name", FEATURES)
def test_polyexp_cdf_exact_every_alpha(name):
    x = _feature(name)
    q = _queries(x, 40, 30)
    factor = _polyexp_h_factor(4)
    for alpha in ALPHAS:
        est = KDI(alpha=alpha, kernel="polyexp").fit(x[:, None])
        got = est.transform(q[:, None])[:, 0]
        ref = _exact_scaled(_polyexp_cdf_sum(x, alpha * x.std() * factor), x, q)
        err = np.max(np.abs(got - ref))
        assert err <= 1e-6, (name, alpha, err, est.mode_)


def test_weighted_cdf_exact():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=3000)
    w = rng.uniform(0.0, 3.0, size=3000)
    q = _queries(x, 300, 200)
    for alpha in (0.01, 1.0):
        est = KDI(alpha=alpha).fit(x[:, None], sample_weight=w)
        mean = np.average(x, weights=w)
        h = alpha * math.sqrt(np.average((x - mean) ** 2, weights=w))
        ref = _exact_scaled(_gauss_cdf_sum(x, h, w), x, q)
        assert np.max(np.abs(est.transform(q[:, None])[:, 0] - ref)) <= 1e-6


@pytest.mark.parametrize("name", ["lognormal", "normal", "bimodal", "heavy"])
def test_small_alpha_tends_to_quantile_transform(name):
    x = _feature(name)[:, None]
    ours = KDI(alpha=1e-3).fit_transform(x)
    qt = QuantileTransformer(n_quantiles=N, subsample=None).fit_transform(x)
    assert np.max(np.abs(ours - qt)) <= 0.01


@pytest.mark.parametrize("name", FEATURES)
def test_large_alpha_tends_to_min_max(name):
    x = _feature(name)[:, None]
    ours = KDI(alpha=1e3).fit_transform(x)
    mm = MinMaxScaler().fit_transform(x)
    assert np.max(np.abs(ours - mm)) <= 1e-3


def test_agreement_with_kditransform():
    kditransform = pytest.importorskip("kditransform")
    x = _feature("lognormal", n=3000)
    q = np.sort(x)
    n = x.shape[0]
    for alpha in (0.1, 1.0, 10.0):
        # gaussian: kditransform's bandwidth is alpha times the ddof=1 standard deviation
        theirs = kditransform.KDITransformer(alpha=alpha, kernel="gaussian").fit(
            x[:, None].copy()
        ).transform(q[:, None].copy())[:, 0]
        a_ours = alpha * math.sqrt(n / (n - 1))
        ours = KDI(alpha=a_ours).fit(x[:, None]).transform(q[:, None])[:, 0]
        ref = _exact_scaled(_gauss_cdf_sum(x, a_ours * x.std()), x, q)
        their_err = np.max(np.abs(theirs - ref))
        assert np.max(np.abs(ours - ref)) <= 1e-6
        assert np.max(np.abs(ours - theirs)) <= their_err + 1e-6
        # polyexp (its default kernel), same bandwidth convention (ddof=0)
        theirs = kditransform.KDITransformer(alpha=alpha).fit(x[:, None].copy()).transform(
            q[:, None].copy()
        )[:, 0]
        ours = KDI(alpha=alpha, kernel="polyexp").fit(x[:, None]).transform(q[:, None])[:, 0]
        ref = _exact_scaled(
            _polyexp_cdf_sum(x, alpha * x.std() * _polyexp_h_factor(4)), x, q[::10]
        )
        their_err = np.max(np.abs(theirs[::10] - ref))
        assert np.max(np.abs(ours[::10] - ref)) <= 1e-6
        assert np.max(np.abs(ours[::10] - theirs[::10])) <= their_err + 1e-6


# ----------------------------------------------------------------------------- options
def test_inverse_round_trip_and_monotone():
    rng = np.random.default_rng(0)
    X = np.column_stack([_feature("lognormal", 2000), _feature("counts", 2000),
                         _feature("heavy", 2000)])
    for alpha in (1e-3, 1.0, 100.0):
        for kernel in ("gaussian", "polyexp"):
            for dist in ("uniform", "normal"):
                est = KDI(alpha=alpha, kernel=kernel, output_distribution=dist).fit(X)
                Y = est.transform(X)
                back = est.inverse_transform(Y)
                # the normal output clips the uniform one to [1e-7, 1 - 1e-7], as
                # QuantileTransformer does: the clipped ends do not come back exactly
                ok = np.abs(Y) < 5.19 if dist == "normal" else np.ones(Y.shape, bool)
                np.testing.assert_allclose(back[ok], X[ok], rtol=1e-8, atol=1e-8)
                q = np.sort(rng.uniform(X.min(0), X.max(0), size=(500, 3)), axis=0)
                assert np.all(np.diff(est.transform(q), axis=0) >= 0)


def test_normal_output_is_normal_quantile_of_uniform():
    x = _feature("bimodal", 3000)[:, None]
    u = KDI().fit_transform(x)
    z = KDI(output_distribution="normal").fit_transform(x)
    np.testing.assert_allclose(z, scipy.special.ndtri(np.clip(u, 1e-7, 1 - 1e-7)))
    assert np.all(np.isfinite(z))


def test_clamping_and_extrapolation():
    x = _feature("normal", 4000)
    q = np.array([x.min() - 3.0, x.min() - 0.5, x.max() + 0.5, x.max() + 3.0, x.mean()])
    clamped = KDI().fit(x[:, None]).transform(q[:, None])[:, 0]
    np.testing.assert_array_equal(clamped[:4], [0.0, 0.0, 1.0, 1.0])
    for alpha in (0.05, 1.0):
        est = KDI(alpha=alpha, extrapolate=True).fit(x[:, None])
        got = est.transform(q[:, None])[:, 0]
        ref = _exact_scaled(_gauss_cdf_sum(x, alpha * x.std()), x, q)
        np.testing.assert_allclose(got, ref, atol=1e-6)
        assert got[0] < 0 and got[3] > 1


def test_robust_bandwidth_resists_an_outlier():
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    x[0] = 1e6
    std = KDI(alpha=1.0).fit(x[:, None])
    rob = KDI(alpha=1.0, bandwidth_scale="robust").fit(x[:, None])
    iqr = np.subtract(*np.percentile(x, [75, 25]))
    np.testing.assert_allclose(rob.bandwidth_[0], iqr / 1.349, rtol=1e-10)
    np.testing.assert_allclose(std.bandwidth_[0], x.std(), rtol=1e-10)
    # the bulk keeps its spread under the robust bandwidth, collapses under the std one
    bulk = np.sort(x[1:])
    assert np.ptp(rob.transform(bulk[:, None])) > 0.95
    assert np.ptp(std.transform(bulk[:, None])) < 1e-3


def test_alpha_rules_and_per_feature():
    X = np.column_stack([_feature("normal", 1000), _feature("lognormal", 1000)])
    sd = X.std(axis=0)
    est = KDI(alpha="scott").fit(X)
    np.testing.assert_allclose(est.bandwidth_, 1000 ** -0.2 * sd, rtol=1e-12)
    est = KDI(alpha="silverman").fit(X)
    np.testing.assert_allclose(est.bandwidth_, (0.75 * 1000) ** -0.2 * sd, rtol=1e-12)
    est = KDI(alpha=[0.5, 2.0]).fit(X)
    np.testing.assert_allclose(est.bandwidth_, [0.5 * sd[0], 2.0 * sd[1]], rtol=1e-12)
    one = KDI(alpha=2.0).fit(X[:, [1]]).transform(X[:, [1]])
    np.testing.assert_array_equal(est.transform(X)[:, [1]], one)
    with pytest.raises(ValueError, match="alpha"):
        KDI(alpha=[1.0, 2.0, 3.0]).fit(X)


def test_sample_weight_equals_repetition():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    w = rng.integers(0, 4, 300)
    Xr = np.repeat(X, w, axis=0)
    for kw in ({}, {"kernel": "polyexp"}, {"bandwidth_scale": "robust"}, {"alpha": 1e-3}):
        a = KDI(**kw).fit(X, sample_weight=w).transform(X)
        b = KDI(**kw).fit(Xr).transform(X)
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_nan_ignored_in_fit_and_kept_in_transform():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    Xn = X.copy()
    Xn[rng.random((500, 3)) < 0.2] = np.nan
    Xn[:, 2] = np.nan
    est = KDI().fit(Xn)
    out = est.transform(Xn)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(Xn))
    ref = KDI().fit(Xn[~np.isnan(Xn[:, 0]), :1]).transform(X[:, :1])
    np.testing.assert_allclose(est.transform(np.column_stack([X[:, :2], X[:, 2]]))[:, :1], ref)
    assert est.mode_[2] == "empty"
    np.testing.assert_array_equal(est.transform(X)[:, 2], 0.5)


def test_float32_preserved_and_close_to_float64():
    X = np.random.default_rng(0).lognormal(size=(2000, 3))
    out32 = KDI().fit(X.astype(np.float32)).transform(X.astype(np.float32))
    assert out32.dtype == np.float32
    out64 = KDI().fit(X).transform(X)
    np.testing.assert_allclose(out32, out64, atol=1e-5)
    assert KDI().fit(X).inverse_transform(out64.astype(np.float32)).dtype == np.float32


def test_partial_fit_and_merge_equal_full_fit():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.lognormal(size=3000), rng.poisson(2.0, 3000)])
    w = rng.uniform(0.5, 2.0, 3000)
    Q = rng.uniform(X.min(0), X.max(0), size=(400, 2))
    for kw in ({}, {"kernel": "polyexp"}, {"alpha": 1e-3}):
        full = KDI(**kw).fit(X, sample_weight=w).transform(Q)
        inc = KDI(**kw)
        for part in np.array_split(np.arange(3000), 4):
            inc.partial_fit(X[part], sample_weight=w[part])
        np.testing.assert_allclose(inc.transform(Q), full, atol=1e-12)
        a = KDI(**kw).partial_fit(X[:1700], sample_weight=w[:1700])
        b = KDI(**kw).partial_fit(X[1700:], sample_weight=w[1700:])
        np.testing.assert_allclose(a.merge(b).transform(Q), full, atol=1e-12)
    with pytest.raises(ValueError, match="partial_fit"):
        KDI().fit(X).merge(KDI().partial_fit(X))


def test_array_api_transform_matches_numpy():
    xp = pytest.importorskip("array_api_strict")
    import sklearn

    X = np.column_stack([_feature("lognormal", 2000), _feature("counts", 2000),
                         np.full(2000, 3.0)])
    Q = np.vstack([X[:500], [[-1.0, -1.0, 3.0], [1e3, 1e3, 4.0]], [[np.nan] * 3]])
    for alpha in (1e-3, 1.0):
        est = KDI(alpha=alpha).fit(X)
        ref = est.transform(Q)
        with sklearn.config_context(array_api_dispatch=True):
            got = est.transform(xp.asarray(Q))
        assert type(got).__module__.startswith("array_api_strict")
        np.testing.assert_allclose(np.asarray(got), ref, atol=1e-12)


# ----------------------------------------------------------------------------- bad input
def test_constant_single_row_and_bad_input():
    X = np.column_stack([np.full(50, 2.0), np.arange(50.0)])
    est = KDI().fit(X)
    out = est.transform(np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]))
    np.testing.assert_array_equal(out[:, 0], [0.0, 0.0, 1.0])
    assert np.all(np.isfinite(est.transform(X)))
    np.testing.assert_array_equal(est.inverse_transform(est.transform(X))[:, 0], 2.0)
    one = KDI().fit(np.array([[1.0, 2.0]]))
    assert np.all(np.isfinite(one.transform(np.array([[1.0, 2.0], [0.0, 5.0]]))))
    with pytest.raises(ValueError, match="[Ii]nf"):
        KDI().fit(np.array([[1.0], [np.inf]]))
    with pytest.raises(ValueError, match="[Ii]nf"):
        est.transform(np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError, match="features"):
        est.transform(np.ones((3, 3)))


def test_extreme_magnitudes_stay_finite():
    rng = np.random.default_rng(0)
    for scale in (1e-310, 1e-300, 1e300, 1.7e308):
        X = rng.uniform(-1, 1, size=(200, 2)) * scale
        for kw in ({}, {"kernel": "polyexp"}, {"alpha": 1e-3}, {"extrapolate": True}):
            est = KDI(**kw).fit(X)
            Y = est.transform(X)
            assert np.all(np.isfinite(Y)) and Y.min() >= 0 and Y.max() <= 1
            assert np.all(np.isfinite(est.inverse_transform(Y)))


def test_input_never_modified_readonly_and_memmap(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(400, 3))
    X[::7, 1] = np.nan
    path = tmp_path / "x.npy"
    np.save(path, X)
    mm = np.load(path, mmap_mode="r")
    ro = X.copy()
    ro.setflags(write=False)
    keep = X.copy()
    for data in (X, ro, mm, np.asfortranarray(X), X[::2]):
        for kw in ({}, {"kernel": "polyexp"}, {"extrapolate": True}):
            est = KDI(**kw).fit(data)
            est.transform(data)
            est.inverse_transform(np.clip(data, 0, 1))
    np.testing.assert_array_equal(X, keep)
    np.testing.assert_array_equal(np.asarray(mm), keep)


def test_grid_search_on_memmap_n_jobs_2(tmp_path):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(300, 3))
    y = np.log(X).sum(axis=1) + 0.1 * rng.normal(size=300)
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    search = GridSearchCV(
        make_pipeline(KDI(), Ridge()),
        {"kerneldensityintegraltransformer__alpha": [0.1, 1.0, 10.0]},
        cv=3,
        n_jobs=2,
    ).fit(mm, y)
    assert np.isfinite(search.best_score_)


def test_threads_and_n_jobs_give_the_serial_result():
    X = np.column_stack([_feature("lognormal", 5000), _feature("heavy", 5000)])
    est = KDI(alpha=0.01).fit(X)
    ref = est.transform(X)
    par = KDI(alpha=0.01, n_jobs=2).fit(X)
    np.testing.assert_array_equal(par.transform(X), ref)
    results = [None] * 4

    def work(i):
        results[i] = est.transform(X)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, ref)


def test_refit_leaves_nothing_of_the_first_fit():
    X = np.random.default_rng(0).normal(size=(100, 2))
    est = KDI().partial_fit(X)
    assert hasattr(est, "_state")
    est.fit(X[:, :1])
    assert not hasattr(est, "_state") and est.n_features_in_ == 1
