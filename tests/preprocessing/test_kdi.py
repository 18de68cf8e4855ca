"""KernelDensityIntegralTransformer against exact references built in the tests."""

import math
import threading

import numpy as np
import pytest
import scipy.integrate
import scipy.sparse
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
        betas[k] * math.factorial(k) * scipy.special.gammaincc(k + 1, a) for k in range(order + 1)
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
        [
            rng.choice(x, n_train, replace=False),
            rng.uniform(x.min(), x.max(), n_free),
            [x.min(), x.max()],
        ]
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


def _qt_midrank(qtf, x):
    """QuantileTransformer's value before it clips the extremes: the mean of its forward and
    backward interpolations through ``quantiles_``."""
    q, r = qtf.quantiles_[:, 0], qtf.references_
    return 0.5 * (np.interp(x, q, r) - np.interp(-x, -q[::-1], -r[::-1]))


@pytest.mark.parametrize("name", FEATURES)
def test_small_alpha_tends_to_quantile_transform(name):
    """The alpha -> 0 limit, ties included.

    For a value ``v`` with ``b`` training values below it and ``c`` equal to it,
    ``QuantileTransformer(n_quantiles=n)`` returns the mean of its forward and backward
    interpolations, the mid-rank ``m(v) / (n - 1)``, ``m(v) = b + (c - 1) / 2``, except at the
    training minimum and maximum, which it sets to 0 and 1. As ``h -> 0`` the KDE CDF at ``v``
    tends to the middle of its jump, ``(b + c / 2) / n = (m(v) + 1/2) / n``. So the limit of the
    scaled KDI map is ``(m(v) - m(min)) / (m(max) - m(min))``: QuantileTransformer's mid-rank
    rescaled on its training range. Where the extremes are unique (continuous columns) that is
    QuantileTransformer's output itself; with ties at the extremes (counts, ratings) the two
    differ by about half the weight tied there.
    """
    x = _feature(name)[:, None]
    ours = KDI(alpha=1e-3).fit_transform(x)
    qtf = QuantileTransformer(n_quantiles=N, subsample=None).fit(x)
    qt = qtf.transform(x)[:, 0]
    mid = _qt_midrank(qtf, x[:, 0])
    inner = (x[:, 0] > x.min()) & (x[:, 0] < x.max())
    np.testing.assert_allclose(qt[inner], mid[inner], atol=1e-12)  # what QT returns
    assert np.all(qt[x[:, 0] == x.min()] == 0.0) and np.all(qt[x[:, 0] == x.max()] == 1.0)
    ends = _qt_midrank(qtf, np.array([x.min(), x.max()]))
    limit = (mid - ends[0]) / (ends[1] - ends[0])
    assert np.max(np.abs(ours[:, 0] - limit)) <= 0.01
    xs, cnt = np.unique(x, return_counts=True)
    if name in ("counts", "rating"):
        below = np.cumsum(cnt) - cnt
        # (to one position: its percentiles at the ends of a run of ties may round inwards)
        np.testing.assert_allclose(
            _qt_midrank(qtf, xs), (below + 0.5 * (cnt - 1)) / (N - 1), atol=1.0 / (N - 1)
        )
        # at the tied values the KDE CDF is the middle of its jump, to the table's tolerance
        m = below + 0.5 * cnt
        ref = (m - m[0]) / (m[-1] - m[0])
        got = KDI(alpha=1e-3).fit(x).transform(xs[:, None])[:, 0]
        assert np.max(np.abs(got - ref)) <= 1e-6
        assert np.max(np.abs(ours[:, 0] - limit)) <= 2.0 / (N - 1)
        # unscaled, QT itself is off by 0.022 on the counts (0.0062 on the ratings)
    else:
        assert cnt.max() == 1 and np.max(np.abs(ours[:, 0] - qt)) <= 0.01


@pytest.mark.parametrize("name", FEATURES)
def test_large_alpha_tends_to_min_max(name):
    x = _feature(name)[:, None]
    ours = KDI(alpha=1e3).fit_transform(x)
    mm = MinMaxScaler().fit_transform(x)
    assert np.max(np.abs(ours - mm)) <= 1e-3


@pytest.mark.parametrize(
    "name",
    [
        "lognormal",
        "counts",
        "heavy",
        *(pytest.param(f, marks=pytest.mark.slow) for f in ("normal", "bimodal", "rating")),
    ],
)
def test_agreement_with_kditransform(name):
    """Ours and kditransform's map differ by no more than kditransform's own error against
    the exact scaled CDF (plus ours, <= 1e-6), for its Gaussian and poly-exponential kernels
    (its measured errors: up to 1.2e-1 (Gaussian, heavy tails) and 4.8e-4 (polyexp))."""
    kditransform = pytest.importorskip("kditransform")
    x = _feature(name, n=3000)
    q = np.sort(x)
    n = x.shape[0]
    for alpha in (0.1, 1.0, 10.0):
        # gaussian: kditransform's bandwidth is alpha times the ddof=1 standard deviation
        theirs = (
            kditransform.KDITransformer(alpha=alpha, kernel="gaussian")
            .fit(x[:, None].copy())
            .transform(q[:, None].copy())[:, 0]
        )
        a_ours = alpha * math.sqrt(n / (n - 1))
        ours = KDI(alpha=a_ours).fit(x[:, None]).transform(q[:, None])[:, 0]
        ref = _exact_scaled(_gauss_cdf_sum(x, a_ours * x.std()), x, q)
        their_err = np.max(np.abs(theirs - ref))
        assert np.max(np.abs(ours - ref)) <= 1e-6
        assert np.max(np.abs(ours - theirs)) <= their_err + 1e-6
        # polyexp (its default kernel), same bandwidth convention (ddof=0)
        theirs = (
            kditransform.KDITransformer(alpha=alpha)
            .fit(x[:, None].copy())
            .transform(q[:, None].copy())[:, 0]
        )
        ours = KDI(alpha=alpha, kernel="polyexp").fit(x[:, None]).transform(q[:, None])[:, 0]
        ref = _exact_scaled(_polyexp_cdf_sum(x, alpha * x.std() * _polyexp_h_factor(4)), x, q[::10])
        their_err = np.max(np.abs(theirs[::10] - ref))
        assert np.max(np.abs(ours[::10] - ref)) <= 1e-6
        assert np.max(np.abs(ours[::10] - theirs[::10])) <= their_err + 1e-6


# ----------------------------------------------------------------------------- options
def test_inverse_round_trip_and_monotone():
    rng = np.random.default_rng(0)
    X = np.column_stack(
        [_feature("lognormal", 2000), _feature("counts", 2000), _feature("heavy", 2000)]
    )
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
    np.testing.assert_allclose(est.bandwidth_, 1000**-0.2 * sd, rtol=1e-12)
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
        np.testing.assert_array_equal(inc.state_bin_width_, 0.0)  # below the bound: exact
    with pytest.raises(ValueError, match="partial_fit"):
        KDI().fit(X).merge(KDI().partial_fit(X))


def _stream(est, X, n_batches):
    for part in np.array_split(np.arange(X.shape[0]), n_batches):
        est.partial_fit(X[part])
    return est


def _state_sizes(est):
    return [f.w.shape[0] if hasattr(f, "w") else f[0].shape[0] for f in est._state]


def test_partial_fit_state_is_bounded_and_within_its_stated_error():
    """Streaming continuous data: past ``max_state_values`` distinct values the state is
    binned and stops growing, the range and std bandwidth stay exact, and the map stays within
    the stated bound ``2 eps / (D - 2 eps)``, ``eps = 0.0303 (delta / h)**2`` (Gaussian), of
    the exact scaled KDE CDF of every row streamed (a direct ndtr sum)."""
    n, cap = 60_000, 2048
    X = np.column_stack(
        [_feature("lognormal", n, 1), _feature("bimodal", n, 2), _feature("heavy", n, 3)]
    )
    rng = np.random.default_rng(0)
    exact = _stream(KDI(max_state_values=None), X[:20_000], 10)
    assert _state_sizes(exact) == [20_000] * 3  # the unbounded state grows with the data
    lost = []
    for alpha in (0.03, 0.3, 3.0):
        est = _stream(KDI(alpha=alpha, max_state_values=cap), X[:20_000], 10)
        first = _state_sizes(est)
        _stream(est, X[20_000:], 20)
        assert max(first) <= cap and max(_state_sizes(est)) <= cap
        delta = est.state_bin_width_
        assert np.all(delta > 0)
        np.testing.assert_array_equal(est.data_min_, X.min(0))
        np.testing.assert_array_equal(est.data_max_, X.max(0))
        np.testing.assert_allclose(est.bandwidth_, alpha * X.std(0), rtol=1e-10)
        for j in range(3):
            x = X[:, j]
            q = np.concatenate(
                [rng.choice(x, 120), rng.uniform(x.min(), x.max(), 40), [x.min(), x.max()]]
            )
            h = alpha * x.std()
            F = _gauss_cdf_sum(x, h)
            ends = F(np.array([x.min(), x.max()]))
            D = ends[1] - ends[0]
            ref = (F(q) - ends[0]) / D
            got = est.transform(np.tile(q[:, None], (1, 3)))[:, j]
            eps = 0.0303 * (delta[j] / h) ** 2
            err = np.max(np.abs(got - ref))
            assert err <= 2 * eps / (D - 2 * eps) + 1e-6, (alpha, j, err, eps)
            lost.append(err)
    assert max(lost) > 1e-3  # the binned state did lose exactness (the bound is not vacuous)


def test_binned_states_merge_in_any_grouping():
    """Owners with exact or binned states, merged in two groupings, give the bins of one
    stream over all the rows (to rounding); the state survives pickling; polyexp, the robust
    bandwidth and extrapolation work from a binned state."""
    import pickle

    n, cap = 12_000, 1024
    X = np.column_stack([_feature("normal", n, 4), _feature("lognormal", n, 5)])
    Q = np.vstack([X[:500], [[-50.0, -50.0], [1e3, 1e3]]])
    for kw in ({}, {"kernel": "polyexp"}, {"bandwidth_scale": "robust"}, {"extrapolate": True}):
        stream = _stream(KDI(max_state_values=cap, **kw), X, 12)
        parts = np.array_split(np.arange(n), [600, 1500, 7000])  # 600, 900 rows: exact
        owners = [KDI(max_state_values=cap, **kw).partial_fit(X[p]) for p in parts]
        assert owners[0].state_bin_width_[0] == 0 and owners[2].state_bin_width_[0] > 0
        left = pickle.loads(pickle.dumps(owners[0])).merge(owners[1]).merge(owners[2])
        left.merge(owners[3])
        right = owners[3].merge(owners[2]).merge(owners[1].merge(owners[0]))
        for est in (left, right):
            np.testing.assert_array_equal(est.state_bin_width_, stream.state_bin_width_)
            np.testing.assert_allclose(est.transform(Q), stream.transform(Q), atol=1e-10)
        # within the stated bound of the exact in-memory fit (eps = 0.0342 (delta / h)**2
        # covers the polyexp kernel; D <= 1, so taking D = 1 makes the check stricter)
        full = KDI(**kw).fit(X)
        h = full.bandwidth_
        eps = 0.0342 * (stream.state_bin_width_ / h) ** 2
        err = np.max(np.abs(stream.transform(Q) - full.transform(Q)), axis=0)
        if kw.get("bandwidth_scale") == "robust":  # each quartile moves by less than delta
            assert np.all(np.abs(stream.bandwidth_ - h) <= 2 * stream.state_bin_width_ / 1.349)
        else:
            np.testing.assert_allclose(stream.bandwidth_, h, rtol=1e-10)
            assert np.all(err <= 2 * eps / (1 - 2 * eps) + 2e-6), (kw, err, eps)
        back = stream.inverse_transform(stream.transform(X[:300]))
        np.testing.assert_allclose(back, X[:300], rtol=1e-7, atol=1e-7)


def test_binned_state_at_extreme_magnitudes():
    rng = np.random.default_rng(1)
    est = KDI(max_state_values=16)
    for scale in (1e-310, 1e-300, 1.0, 1e300, 1.7e308):
        X = rng.uniform(-1, 1, size=(100, 2)) * scale
        part = KDI(max_state_values=16).partial_fit(X)
        Y = part.transform(X)
        assert np.all(np.isfinite(Y)) and Y.min() >= 0 and Y.max() <= 1
        assert np.all(np.isfinite(part.inverse_transform(Y)))
        est.partial_fit(X)  # every scale in one state
        assert max(_state_sizes(est)) <= 16
    Y = est.transform(X)
    assert np.all(np.isfinite(Y)) and np.all(np.isfinite(est.inverse_transform(Y)))
    assert np.all(np.isfinite(est.bandwidth_))


def test_array_api_transform_matches_numpy():
    xp = pytest.importorskip("array_api_strict")
    import sklearn

    X = np.column_stack([_feature("lognormal", 2000), _feature("counts", 2000), np.full(2000, 3.0)])
    Q = np.vstack([X[:500], [[-1.0, -1.0, 3.0], [1e3, 1e3, 4.0]], [[np.nan] * 3]])
    for alpha in (1e-3, 1.0):
        ref = KDI(alpha=alpha).fit(X).transform(Q)
        with sklearn.config_context(array_api_dispatch=True):
            got = KDI(alpha=alpha).fit(xp.asarray(X)).transform(xp.asarray(Q))
        assert type(got).__module__.startswith("array_api_strict")
        np.testing.assert_allclose(np.asarray(got), ref, atol=1e-12)


def test_array_api_normal_output_and_ndtri():
    xp = pytest.importorskip("array_api_strict")
    import sklearn

    from skspectral.preprocessing._kdi import _ndtri_xp

    p = np.concatenate([np.geomspace(1e-7, 0.5, 4000), 1.0 - np.geomspace(1e-7, 0.5, 4000)])
    got = np.asarray(_ndtri_xp(xp.asarray(p), xp))
    ref = scipy.special.ndtri(p)
    assert np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)) <= 1.2e-9
    X = np.column_stack([_feature("lognormal", 2000), _feature("counts", 2000)])
    Q = np.vstack([X[:500], [[-1.0, -1.0], [1e3, 1e3]], [[np.nan] * 2]])
    ref = KDI(output_distribution="normal").fit(X).transform(Q)
    with sklearn.config_context(array_api_dispatch=True):
        got = KDI(output_distribution="normal").fit(xp.asarray(X)).transform(xp.asarray(Q))
    assert type(got).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1.2e-9, atol=1e-12)


# ----------------------------------------------------------------------------- bad input
def test_constant_single_row_and_bad_input():
    X = np.column_stack([np.full(50, 2.0), np.arange(50.0)])
    est = KDI().fit(X)
    out = est.transform(np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]))
    np.testing.assert_array_equal(out[:, 0], [0.0, 0.0, 1.0])
    assert np.all(np.isfinite(est.transform(X)))
    np.testing.assert_array_equal(est.inverse_transform(est.transform(X))[:, 0], 2.0)
    one = KDI().fit(np.array([[1.0, 2.0]]))  # a single row: every feature constant
    out = one.transform(np.array([[1.0, 2.0], [0.0, 5.0], [np.nan, 2.0]]))
    np.testing.assert_array_equal(out, [[0.0, 0.0], [0.0, 1.0], [np.nan, 0.0]])
    # a feature with no finite training value maps to 0.5 (QuantileTransformer: NaN)
    empty = KDI().fit(np.array([[np.nan, 1.0], [np.nan, 2.0]]))
    np.testing.assert_array_equal(empty.transform(np.array([[7.0, 1.5]]))[:, 0], 0.5)
    assert np.all(np.isfinite(empty.inverse_transform(np.array([[0.3, 0.5]]))[:, 1]))
    with pytest.raises(TypeError, match="[Ss]parse"):
        KDI().fit(scipy.sparse.random(20, 3, density=0.5, format="csr", random_state=0))
    with pytest.raises(ValueError, match="0 sample"):
        KDI().fit(np.empty((0, 2)))
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
    X32 = X.astype(np.float32)
    keep32 = X32.copy()
    w = rng.uniform(0.5, 2.0, 400)
    keep_w = w.copy()
    for data in (X, ro, mm, np.asfortranarray(X), X[::2], X32):
        sw = w[: data.shape[0]]
        for kw in ({}, {"kernel": "polyexp"}, {"extrapolate": True}, {"alpha": 1e-3}):
            est = KDI(**kw).fit(data, sample_weight=sw)
            est.transform(data)
            est.inverse_transform(np.clip(data, 0, 1))
            # partial_fit and merge, exact and binned states
            for cap in (None, 16):
                a = KDI(max_state_values=cap, **kw).partial_fit(data, sample_weight=sw)
                a.partial_fit(data).merge(KDI(max_state_values=cap, **kw).partial_fit(data))
                a.transform(data)
    np.testing.assert_array_equal(X, keep)
    np.testing.assert_array_equal(np.asarray(mm), keep)
    np.testing.assert_array_equal(X32, keep32)
    np.testing.assert_array_equal(w, keep_w)


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


# ----------------------------------------------------------------------------- Dask
def test_dask_fit_equals_in_memory_fit():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(5)
    n = 6000
    X = np.column_stack(
        [
            rng.lognormal(size=n),
            rng.poisson(3.0, n).astype(float),
            np.round(rng.uniform(1, 5, n), 1),
            np.full(n, 2.0),
        ]
    )
    X[rng.random(n) < 0.05, 0] = np.nan
    Q = np.vstack([X[:300], rng.uniform(-1, 8, size=(200, 4)), [[np.nan] * 4]])
    dX = da.from_array(X, chunks=(1000, 2))  # column chunks are joined, row blocks kept
    for kw in ({}, {"alpha": 1e-3}, {"kernel": "polyexp"}, {"extrapolate": True}):
        mem = KDI(**kw).fit(X)
        dsk = KDI(**kw).fit(dX)
        assert dsk.mode_ == mem.mode_
        assert dsk.n_rounds_ == (2 if not kw or "alpha" in kw else 1)
        np.testing.assert_allclose(dsk.bandwidth_, mem.bandwidth_, rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(dsk.transform(Q), mem.transform(Q), atol=1e-10)
        lazy = dsk.transform(dX)
        assert type(lazy).__module__.startswith("dask")
        np.testing.assert_allclose(lazy.compute(), mem.transform(X), atol=1e-10)
        np.testing.assert_allclose(
            dsk.inverse_transform(lazy).compute(),
            mem.inverse_transform(mem.transform(X)),
            atol=1e-9,
        )
    # the binned state is bounded: ten times the rows (and distinct values) do not add bytes,
    # while the exact state grows with them; the binned fit stays within 1e-6 of the exact CDF
    x = rng.beta(2.0, 5.0, size=20_000)[:, None]  # bounded: the same range and grid
    small = KDI().fit(da.from_array(x[:2000], chunks=500))
    big = KDI().fit(da.from_array(x, chunks=5000))
    exact_small = KDI(kernel="polyexp").fit(da.from_array(x[:2000], chunks=500))
    exact_big = KDI(kernel="polyexp").fit(da.from_array(x, chunks=5000))
    assert big.bytes_received_ < 1.3 * small.bytes_received_
    assert exact_big.bytes_received_ > 5 * exact_small.bytes_received_
    # the exact states of the other settings are bounded by max_state_values, as partial_fit's
    capped = [
        KDI(kernel="polyexp", max_state_values=1024).fit(da.from_array(x[:m], chunks=m // 4))
        for m in (4000, 20_000)
    ]
    assert capped[1].bytes_received_ < 1.3 * capped[0].bytes_received_
    stream = _stream(KDI(kernel="polyexp", max_state_values=1024), x, 4)
    np.testing.assert_allclose(capped[1].transform(x), stream.transform(x), atol=1e-10)
    q = np.sort(rng.choice(x[:, 0], 300, replace=False))
    ref = _exact_scaled(_gauss_cdf_sum(x[:, 0], x.std()), x[:, 0], q)
    assert np.max(np.abs(big.transform(q[:, None])[:, 0] - ref)) <= 1e-6


def test_dask_dataframe_and_bad_input():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(6)
    df = pd.DataFrame({"a": rng.normal(size=800), "b": rng.exponential(size=800)})
    ddf = dd.from_pandas(df, npartitions=3)
    est = KDI().fit(ddf)
    assert list(est.feature_names_in_) == ["a", "b"]
    np.testing.assert_allclose(est.transform(df), KDI().fit(df).transform(df), atol=1e-10)
    X = rng.normal(size=(100, 2))
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        KDI().fit(da.from_array(X, chunks=50))
    with pytest.raises(ValueError, match="sample_weight"):
        KDI().fit(da.from_array(rng.normal(size=(10, 1))), sample_weight=np.ones(10))


def test_array_api_fit_publishes_and_every_mode_returns_the_namespace():
    xp = pytest.importorskip("array_api_strict")
    import sklearn

    X = np.column_stack([_feature("lognormal", 2000), _feature("counts", 2000)])
    Q = np.vstack([X[:300], [[-1.0, -1.0], [1e3, 1e3]], [[np.nan] * 2]])
    for kw in ({}, {"alpha": 1e-3}, {"extrapolate": True}, {"kernel": "polyexp"}):
        ref_est = KDI(**kw).fit(X)
        with sklearn.config_context(array_api_dispatch=True):
            est = KDI(**kw).fit(xp.asarray(X))
            assert type(est.data_min_).__module__.startswith("array_api_strict")
            assert type(est.bandwidth_).__module__.startswith("array_api_strict")
            got = est.transform(xp.asarray(Q))
            back = est.inverse_transform(got)
            assert type(back).__module__.startswith("array_api_strict")
            with pytest.raises(ValueError, match="same namespace"):
                est.transform(xp.asarray(Q, device=xp.Device("device1")))
        assert type(got).__module__.startswith("array_api_strict")
        np.testing.assert_allclose(np.asarray(got), ref_est.transform(Q), atol=1e-12)
        np.testing.assert_allclose(
            np.asarray(back), ref_est.inverse_transform(ref_est.transform(Q)), atol=1e-9
        )
