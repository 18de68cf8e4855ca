"""A power transform (Box-Cox, Yeo-Johnson) that is numerically stable, fast, mergeable,
federated and Dask-distributed.

Following Xu and Cormode, "Power Transform Revisited: Numerically Stable, and Federated"
(arXiv 2510.04995):

1. **Stable likelihood.** Each column is mapped once to log values ``s`` (``log x``, or
   ``sign(x) log1p|x|``); for a given lambda the variance of the transformed column is computed
   in a frame ``psi = psi_ref + K d`` where ``d = expm1(l (v - r)) / l`` is bounded and accurate
   and ``log K`` is kept in log space (``_power_kernels``). The negative log-likelihood per row,
   constants dropped, is then ``-l * mean(v - r) + log(var d) / 2`` (or, for Yeo-Johnson columns
   of mixed sign, ``-(lambda - 1) mean(s) + log K + log(var d) / 2``): no ``x ** lambda`` is
   ever formed, so nothing overflows, and values of tiny relative spread keep their digits.
2. **Search.** The negative log-likelihood is convex in lambda. A grid of lambdas (one round)
   brackets the minimum inside the representable range; Brent's derivative-free minimization
   narrows it; a bracketed root search on the derivative (which the same statistics give, one
   co-moment more) polishes lambda to full precision.
3. **Bound.** |lambda| is limited so that the transformed training extremes stay finite in the
   output dtype: ``expm1(l L) / l <= B`` with ``L`` the extreme log value and ``B`` the largest
   float, whose boundary solves ``u - log u = log B - log L`` for ``u = l L``, i.e.
   ``u = -W_{-1}(-L / B)`` (Lambert W, lower branch). When the likelihood's minimum lies beyond
   it, lambda is set *exactly* at the bound and a :class:`PowerTransformWarning` says so.
4. **Mergeable.** For a lambda the likelihood needs six statistics per column that merge exactly
   (count, shifted means, sum of squared deviations and a co-moment, merged with Chan et al.'s
   pairwise formula), so the same search runs over one array, over data owners who only answer
   with statistics (:meth:`PowerTransformer.fit_federated`), over batches
   (:meth:`PowerTransformer.partial_fit`) and over the blocks of a Dask array on a cluster
   (:meth:`PowerTransformer.fit` with a Dask collection): ``skspectral.utils._mergeable``.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import FLOAT_DTYPES, check_n_jobs, native_byte_order
from ..utils._mergeable import DaskFederation, Federation
from . import _power_kernels as K

__all__ = ["PowerTransformClient", "PowerTransformWarning", "PowerTransformer"]

_BC_POSITIVE = "The Box-Cox transformation can only be applied to strictly positive data"
# rows of the in-memory subsample on which lambda is first located (the full data then only
# polishes it: a handful of passes)
_SUBSAMPLE = 1 << 15
_GRID = np.array([0.0] + [s * 2.0**k for k in range(-3, 11) for s in (1.0, -1.0)])
_CAP0 = 2.0**10
_CAP_MAX = 2.0**60
# entries below which a kernel runs on the calling thread whatever n_jobs says (a few ms of
# work): a parallel launch costs more than it saves there, and far more where OpenMP's
# spin-waiting threads compete with other work for the cores (see ``PowerTransformer``'s notes)
_PARALLEL_MIN = 1 << 21


class PowerTransformWarning(UserWarning):
    """A power transform's lambda sits at its representability bound, or an input (or an
    inverse input) lies where the transform is not representable and was saturated / clipped."""


# ---------------------------------------------------------------------------------------------
# statistics and clients
# ---------------------------------------------------------------------------------------------


class _Summary:
    """Round-one statistics: non-NaN count, smallest and largest log value, per column."""

    __slots__ = ("n", "smin", "smax", "float32")

    def __init__(self, n, smin, smax, float32):
        self.n, self.smin, self.smax, self.float32 = n, smin, smax, float32

    def merge(self, other):
        if other.n.shape != self.n.shape:
            raise ValueError(
                f"clients disagree on the number of features: {self.n.shape[0]} != "
                f"{other.n.shape[0]}"
            )
        return _Summary(
            self.n + other.n,
            np.minimum(self.smin, other.smin),
            np.maximum(self.smax, other.smax),
            self.float32 and other.float32,
        )


class _LambdaStats:
    """Per-lambda statistics, shape ``(k, n_features, 6)`` (see ``_power_kernels``)."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values

    def merge(self, other):
        out = self.values.copy()
        b = other.values
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                K.merge_into(out[i, j], b[i, j])
        return _LambdaStats(out)


def _log_columns(X, yeo, n_jobs=None):
    """Log values of ``X`` as rows of a float64 array ``(n_features, n_samples)``, with each
    column's finite extremes."""
    n, p = X.shape
    S = np.empty((p, n))
    lo = np.empty(p)
    hi = np.empty(p)
    if n and p:
        K.log_columns(_jobs(n_jobs, X.size), X, bool(yeo), S, lo, hi)
    else:
        lo[:] = np.inf
        hi[:] = -np.inf
    return S, lo, hi


class _LogShard:
    """One shard of data in log form: answers the protocol's requests (never shares a row)."""

    def __init__(self, X, yeo, n_jobs=None):
        self.yeo = bool(yeo)
        self.n_jobs = n_jobs
        self.float32 = X.dtype == np.float32
        self.S, self.lo, self.hi = _log_columns(X, yeo, n_jobs)
        self.n = np.sum(~np.isnan(self.S), axis=1).astype(np.float64)

    def statistics(self, request):
        return _answer(self.S, self.n, self.lo, self.hi, self.float32, request, self.n_jobs)


def _answer(S, n, lo, hi, float32, request, n_jobs=None):
    what = request[0]
    if what == "summary":
        return _Summary(n.copy(), lo.copy(), hi.copy(), float32)
    if what != "lambda":
        raise ValueError(f"unknown request {what!r}")
    _, kinds, ls, refs, logks, active, want_g = request[:7]
    k, p = ls.shape
    if p != S.shape[0]:
        raise ValueError(f"request for {p} features sent to a shard of {S.shape[0]} features")
    out = np.zeros((k, p, K.N_STATS))
    clean = n == S.shape[1]
    n_jobs = _jobs(n_jobs, S.size)
    for i in range(k):
        K.lambda_stats(
            n_jobs, S, kinds[i], ls[i], refs[i], logks[i], active, clean, bool(want_g), out[i]
        )
    return _LambdaStats(out)


class PowerTransformClient:
    """A data owner in a federated power-transform fit.

    Holds its rows (which never leave it) and answers the server's requests with per-feature
    statistics only: counts, extremes, and at each lambda the server asks about, the
    mergeable moments of the transformed values. Pass a list of these (or of any objects with a
    ``statistics(request)`` method, or callables) to :meth:`PowerTransformer.fit_federated`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The owner's rows (NaN allowed, ignored).
    method : {"yeo-johnson", "box-cox"}
    n_jobs : int, optional
        Threads for the owner's own computation.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.preprocessing import PowerTransformClient, PowerTransformer
    >>> rng = np.random.default_rng(0)
    >>> owners = [rng.lognormal(size=(n, 2)) for n in (50, 300)]
    >>> clients = [PowerTransformClient(x, method="box-cox") for x in owners]
    >>> fed = PowerTransformer(method="box-cox").fit_federated(clients)
    >>> central = PowerTransformer(method="box-cox").fit(np.vstack(owners))
    >>> bool(np.allclose(fed.lambdas_, central.lambdas_, rtol=1e-8)), fed.n_rounds_ <= 40
    (True, True)
    """

    def __init__(self, X, method="yeo-johnson", n_jobs=None):
        X = _as_float_array(X)
        if method not in ("yeo-johnson", "box-cox"):
            raise ValueError(f"method must be 'yeo-johnson' or 'box-cox', got {method!r}")
        if method == "box-cox":
            _check_positive(X)
        self._shard = _LogShard(X, method == "yeo-johnson", n_jobs)

    def statistics(self, request):
        return self._shard.statistics(request)


def _jobs(n_jobs, size):
    """``n_jobs`` for a kernel over ``size`` entries (one thread below ``_PARALLEL_MIN``)."""
    return n_jobs if size >= _PARALLEL_MIN else None


def _as_float_array(X):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D array, got {X.ndim} dimensions")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if np.isinf(X).any():
        raise ValueError("Input contains infinity (NaN is allowed and ignored).")
    return X


def _check_positive(X):
    with np.errstate(invalid="ignore"):
        if np.any(X <= 0):
            raise ValueError(_BC_POSITIVE)


# Dask: the per-block work, shipped to the workers by reference
def _dask_prepare(block, yeo):
    X = _as_float_array(block)
    if not yeo:
        _check_positive(X)
    return _LogShard(X, yeo)


def _dask_statistics(shard, request):
    return shard.statistics(request)


# ---------------------------------------------------------------------------------------------
# the search
# ---------------------------------------------------------------------------------------------


def lambda_limit(L, log_big):
    """Largest ``l > 0`` with ``expm1(l * L) / l <= exp(log_big)`` for ``L > 0``.

    The boundary of ``l L - log l = log B`` is ``l = u / L`` with ``u - log u = c``,
    ``c = log B - log L``, whose larger root is ``u = -W_{-1}(-exp(-c))`` (Lambert W, lower
    branch); evaluated with ``scipy.special.lambertw`` and polished by Newton's method on the
    defining equation (exact to rounding also where ``exp(-c)`` underflows), then lowered by
    ulps until the exact condition holds. ``inf`` where no bound applies.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.preprocessing._power import lambda_limit
    >>> L, log_big = np.log(11.0), np.log(np.finfo(np.float64).max)
    >>> l = lambda_limit(L, log_big)
    >>> round(l, 4), bool(l * L - np.log(l) <= log_big < (l + 1e-6) * L - np.log(l))
    (298.3788, True)
    """
    if not L > 0 or not np.isfinite(L):
        return math.inf
    c = log_big - math.log(L)
    if c <= 1.0:
        return math.inf
    if c < 700.0:
        from scipy.special import lambertw

        u = float(-lambertw(-math.exp(-c), -1).real)
    else:
        u = c + math.log(c)
    for _ in range(50):
        step = (u - math.log(u) - c) / (1.0 - 1.0 / u)
        u -= step
        if abs(step) <= 1e-15 * u:
            break
    lam = u / L
    # a margin of 1e-12 relative in psi keeps the rounding of the log on the safe side
    for _ in range(200):
        if K.logabs_em1(lam, L) <= log_big - 1e-12:
            break
        lam = lam * (1.0 - 1e-15)
    return float(lam)


def _bounds(yeo, smin, smax, log_big):
    """Representability bounds ``(lo, hi)`` of lambda per feature (``-inf`` / ``inf`` where
    that side has none)."""
    p = smin.shape[0]
    lo = np.full(p, -np.inf)
    hi = np.full(p, np.inf)
    for j in range(p):
        if smax[j] > 0:
            hi[j] = lambda_limit(smax[j], log_big)
        if smin[j] < 0:
            m = lambda_limit(-smin[j], log_big)
            lo[j] = (2.0 - m) if yeo else -m
    return lo, hi


class _Problem:
    """The likelihood of every feature as seen through a federation."""

    def __init__(self, fed, yeo, summary):
        self.fed = fed
        self.yeo = yeo
        self.smin = summary.smin
        self.smax = summary.smax
        self.p = summary.n.shape[0]
        # the statistics of the latest single-lambda evaluation of each feature
        self.last_lam = np.full(self.p, np.nan)
        self.last_stats = np.zeros((self.p, K.N_STATS))

    def frames(self, lams):
        lams = np.asarray(lams, dtype=np.float64)
        k = lams.shape[0]
        kinds = np.zeros((k, self.p), dtype=np.int64)
        ls = np.zeros((k, self.p))
        refs = np.zeros((k, self.p))
        logks = np.zeros((k, self.p))
        for i in range(k):
            K.frames(self.yeo, lams[i], self.smin, self.smax, kinds[i], ls[i], refs[i], logks[i])
        return kinds, ls, refs, logks

    def evaluate(self, lams, active, want_g=False):
        """``(f, fprime, stats)`` at ``lams`` of shape ``(k, p)``; one round."""
        lams = np.atleast_2d(np.asarray(lams, dtype=np.float64))
        kinds, ls, refs, logks = self.frames(lams)
        request = ("lambda", kinds, ls, refs, logks, active, want_g)
        stats = self.fed.ask(request).values
        f, fp = _objective(lams, kinds, ls, logks, stats)
        if lams.shape[0] == 1:
            self.last_lam = np.where(active, lams[0], self.last_lam)
            self.last_stats[active] = stats[0, active]
        return f, fp, stats

    def stats_at(self, lams):
        """Statistics at ``lams`` (one per feature), reusing the latest evaluations."""
        need = ~(self.last_lam == lams)
        if need.any():
            self.evaluate(lams[None, :], need)
        return self.last_stats.copy()


def _objective(lams, kinds, ls, logks, st):
    n = st[..., K.N]
    mt = st[..., K.MEAN_T]
    m2 = st[..., K.M2_D]
    c = st[..., K.C_DG]
    with np.errstate(divide="ignore", invalid="ignore"):
        half_log_var = 0.5 * np.log(m2 / n)
        ratio = c / m2
    f = np.where(kinds == 2, -(lams - 1.0) * mt + logks + half_log_var, -ls * mt + half_log_var)
    fp_frame = -mt + ratio
    fp = np.where(kinds == 1, -fp_frame, fp_frame)
    # the derivative's rounding level: below it, its sign means nothing
    noise = 32.0 * np.finfo(np.float64).eps * (np.abs(mt) + np.abs(ratio))
    fp = np.where(np.abs(fp) <= noise, 0.0, fp)
    f = np.where(np.isfinite(f), f, np.inf)
    return f, fp


def _brent_min(a, b, x, fx, tol):
    """Brent's minimization (golden section with parabolic steps) on ``[a, b]`` from the
    point ``x`` (value ``fx``) inside it; a generator yielding points, receiving values.
    Returns the final bracket ``(a, b)`` and the best point."""
    golden = 0.3819660112501051
    w = v = x
    fw = fv = fx
    d = e = 0.0
    for _ in range(100):
        m = 0.5 * (a + b)
        tol1 = tol * abs(x) + 1e-7
        tol2 = 2.0 * tol1
        if abs(x - m) <= tol2 - 0.5 * (b - a):
            break
        parabolic = False
        if abs(e) > tol1:
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            pp = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            if q > 0.0:
                pp = -pp
            q = abs(q)
            if abs(pp) < abs(0.5 * q * e) and q * (a - x) < pp < q * (b - x):
                e, d = d, pp / q
                u = x + d
                if u - a < tol2 or b - u < tol2:
                    d = tol1 if x < m else -tol1
                parabolic = True
        if not parabolic:
            e = (a - x) if x >= m else (b - x)
            d = golden * e
        u = x + (d if abs(d) >= tol1 else (tol1 if d > 0 else -tol1))
        fu = yield u
        if fu <= fx:
            if u >= x:
                a = x
            else:
                b = x
            v, fv, w, fw, x, fx = w, fw, x, fx, u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv, w, fw = w, fw, u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
    return a, b, x


def _root(a, fa, b, fb, xtol=1e-13):
    """Bracketed root of an increasing function (``fa < 0 < fb``): regula falsi with the
    Illinois modification, and a bisection whenever two steps did not halve the bracket; a
    generator like :func:`_brent_min`. Stops at a relative width ``xtol``, when two
    successive points agree to ``xtol``, or after 30 steps."""
    side = 0
    width = b - a
    steps = 0
    last = np.nan
    for _ in range(30):
        if b - a <= xtol * max(1.0, abs(a), abs(b)):
            break
        steps += 1
        if steps == 3:
            steps = 0
            bisect = (b - a) > 0.5 * width
            width = b - a
        else:
            bisect = False
        c = 0.5 * (a + b) if bisect else (a * fb - b * fa) / (fb - fa)
        if not (a < c < b) or not np.isfinite(c):
            c = 0.5 * (a + b)
        if abs(c - last) <= xtol * max(1.0, abs(c)):
            return c  # the steps have stalled at the derivative's rounding level
        last = c
        fc = yield c
        if fc == 0.0 or not np.isfinite(fc):
            return c
        if fc < 0.0:
            a, fa = c, fc
            if side == -1:
                fb *= 0.5
            side = -1
        else:
            b, fb = c, fc
            if side == 1:
                fa *= 0.5
            side = 1
    return a if abs(fa) <= abs(fb) else b


def _lockstep(problem, gens, first_points, want_g, pick):
    """Run one generator per feature in lockstep: each round evaluates every active
    generator's next point (one federated request). ``pick(f, fp)`` selects what a
    generator receives. Returns each generator's return value."""
    p = problem.p
    results = [None] * p
    points = np.zeros(p)
    active = np.zeros(p, dtype=bool)
    for j, g in enumerate(gens):
        if g is None:
            continue
        try:
            points[j] = next(g)
            active[j] = True
        except StopIteration as stop:
            results[j] = stop.value
    while active.any():
        f, fp, _ = problem.evaluate(points[None, :], active, want_g)
        for j in np.flatnonzero(active):
            try:
                points[j] = gens[j].send(pick(f[0, j], fp[0, j]))
            except StopIteration as stop:
                results[j] = stop.value
                active[j] = False
    return results


def _search(fed, yeo, log_big=None, *, polish_only=None):
    """Find every feature's lambda through ``fed``. Returns ``(lambdas, bound_hit, bounds,
    summary, problem, log_big)``; ``polish_only`` (a first estimate per feature) skips the grid
    and Brent. ``log_big``: log of the largest output value (from the clients' dtype if
    None)."""
    summary = fed.ask(("summary",))
    if log_big is None:
        dtype = np.float32 if summary.float32 else np.float64
        log_big = math.log(float(np.finfo(dtype).max))
    p = summary.n.shape[0]
    problem = _Problem(fed, yeo, summary)
    lo, hi = _bounds(yeo, summary.smin, summary.smax, log_big)
    constant = ~(summary.smax > summary.smin)
    lams = np.ones(p)
    todo = ~constant
    brackets = np.zeros((p, 2))
    if polish_only is None and todo.any():
        lam0, brackets, dead = _bracket_by_grid(problem, lo, hi, todo)
        todo &= ~dead
        gens = [
            _brent_min(brackets[j, 0], brackets[j, 1], lam0[j][0], lam0[j][1], 1e-6)
            if todo[j]
            else None
            for j in range(p)
        ]
        out = _lockstep(problem, gens, None, False, lambda f, fp: f)
        for j in np.flatnonzero(todo):
            a, b, x = out[j]
            lams[j] = x
            brackets[j] = (a, b)
    elif todo.any():
        est, slope = polish_only
        lams = np.where(todo, est, 1.0)
        gens = [_secant(est[j], slope[j], lo[j], hi[j]) if todo[j] else None for j in range(p)]
        out = _lockstep(problem, gens, None, True, lambda f, fp: fp)
        width = 0.01 * np.maximum(np.abs(est), 1.0)
        brackets = np.column_stack([np.maximum(est - width, lo), np.minimum(est + width, hi)])
        for j in np.flatnonzero(todo):
            x, ok = out[j]
            if ok:
                lams[j] = x
                todo[j] = False
    bound_hit = np.zeros(p, dtype=bool)
    if todo.any():
        lams, bound_hit = _polish(problem, lams, brackets, lo, hi, todo)
    lams[constant] = 1.0
    return lams, bound_hit, (lo, hi), summary, problem, log_big


def _bracket_by_grid(problem, lo, hi, todo):
    """One round on a grid of lambdas inside the bounds (and more rounds, with wider grids,
    while a minimum sits at the grid's edge on a side without a bound). Returns, per feature,
    the best grid point with its value, the bracket around it, and which features have no
    finite likelihood anywhere (treated as constant)."""
    p = problem.p
    best = [None] * p
    brackets = np.zeros((p, 2))
    dead = np.zeros(p, dtype=bool)
    pending = todo.copy()
    cap = _CAP0
    grid = _GRID
    while pending.any():
        glo = np.maximum(lo, -cap)
        ghi = np.minimum(hi, cap)
        pts = np.clip(grid[:, None], glo, ghi)
        pts = np.sort(np.vstack([pts, glo[None, :], ghi[None, :]]), axis=0)
        f, _, _ = problem.evaluate(pts, pending)
        again = np.zeros(p, dtype=bool)
        for j in np.flatnonzero(pending):
            col, fj = pts[:, j], f[:, j]
            if not np.isfinite(fj).any():
                dead[j] = True
                continue
            i = int(np.argmin(fj))
            at_cap = (col[i] <= -cap and lo[j] < -cap) or (col[i] >= cap and hi[j] > cap)
            if at_cap and cap < _CAP_MAX:
                again[j] = True
                continue
            left = i
            while left > 0 and col[left] == col[i]:
                left -= 1
            right = i
            while right < len(col) - 1 and col[right] == col[i]:
                right += 1
            best[j] = (col[i], fj[i])
            brackets[j] = (col[left], col[right])
        pending = again
        cap = min(_CAP_MAX, cap * 2.0**25)
        g = np.geomspace(0.125, cap, 48)
        grid = np.concatenate([[0.0], g, -g])
    return best, brackets, dead


def _secant(x0, slope, lo, hi, xtol=1e-13):
    """Secant iterations on the derivative from ``x0``, the first step taken with ``slope``
    (the subsample's curvature); a generator like :func:`_root`. Returns ``(x, converged)``;
    not converged if a step leaves ``[lo, hi]``, the slope is not positive, or 8 steps pass."""
    x, fx = x0, (yield x0)
    if fx == 0.0:
        return x, True
    step = -fx / slope
    for _ in range(8):
        if not (slope > 0.0) or not np.isfinite(step):
            return x, False
        xn = x + step
        if not (lo < xn < hi):
            return x, False
        fn = yield xn
        if fn == 0.0 or abs(step) <= xtol * max(1.0, abs(xn)):
            return xn, True
        if not np.isfinite(fn) or fn == fx:
            return xn, False
        slope = (fn - fx) / (xn - x)
        x, fx = xn, fn
        step = -fx / slope
    return x, False


def _polish(problem, lams, brackets, lo, hi, todo):
    """Root of the likelihood's derivative inside each bracket (widened until it changes
    sign, up to the bounds). Returns the lambdas and which features sit at their bound."""
    p = problem.p
    a = brackets[:, 0].copy()
    b = brackets[:, 1].copy()
    a = np.where(a < b, a, lams - 1e-3 * np.maximum(1.0, np.abs(lams)))
    b = np.where(a < b, b, lams + 1e-3 * np.maximum(1.0, np.abs(lams)))
    a = np.maximum(a, lo)
    b = np.minimum(b, hi)
    pending = todo.copy()
    bound_hit = np.zeros(p, dtype=bool)
    fa = np.zeros(p)
    fb = np.zeros(p)
    for _ in range(12):
        if not pending.any():
            break
        _, fp, _ = problem.evaluate(np.vstack([a, b]), pending, want_g=True)
        fa = np.where(pending, fp[0], fa)
        fb = np.where(pending, fp[1], fb)
        nxt = np.zeros(p, dtype=bool)
        for j in np.flatnonzero(pending):
            if fa[j] < 0.0 < fb[j]:
                continue
            if fa[j] == 0.0:
                lams[j] = a[j]
                todo[j] = False
                continue
            if fb[j] == 0.0:
                lams[j] = b[j]
                todo[j] = False
                continue
            if fb[j] < 0.0:  # still decreasing at b: move right
                if b[j] >= hi[j]:
                    lams[j] = hi[j]
                    bound_hit[j] = True
                    todo[j] = False
                    continue
                w = b[j] - a[j]
                a[j], fa[j] = b[j], fb[j]
                b[j] = min(hi[j], b[j] + 4.0 * w)
                nxt[j] = True
            elif fa[j] > 0.0:
                if a[j] <= lo[j]:
                    lams[j] = lo[j]
                    bound_hit[j] = True
                    todo[j] = False
                    continue
                w = b[j] - a[j]
                b[j], fb[j] = a[j], fa[j]
                a[j] = max(lo[j], a[j] - 4.0 * w)
                nxt[j] = True
            else:  # NaN derivative: keep the search's point
                todo[j] = False
        pending = nxt & todo
    gens = [_root(a[j], fa[j], b[j], fb[j]) if todo[j] else None for j in range(p)]
    out = _lockstep(problem, gens, None, True, lambda f, fp: fp)
    for j in np.flatnonzero(todo):
        lams[j] = out[j]
    return lams, bound_hit


# ---------------------------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------------------------


class PowerTransformer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Box-Cox and Yeo-Johnson power transforms that never overflow, fitted exactly in memory,
    over batches, across data owners, or on a Dask cluster.

    A drop-in for :class:`sklearn.preprocessing.PowerTransformer` (same parameters, ``lambdas_``,
    ``inverse_transform``, feature names, ``set_output``) after Xu and Cormode, "Power Transform
    Revisited: Numerically Stable, and Federated" (arXiv 2510.04995): the likelihood is
    evaluated in log space (no ``x ** lambda``), lambda is found by Brent's method on a bracket
    inside the range where the transformed training extremes are representable (the bound
    comes in closed form from the Lambert W function) and polished on the derivative, always in
    float64. See the module notes of ``skspectral.preprocessing._power`` for the derivation.

    Parameters
    ----------
    method : {"yeo-johnson", "box-cox"}, default="yeo-johnson"
        Box-Cox needs strictly positive data.
    standardize : bool, default=True
        Zero mean, unit variance output (computed in the stable frame, so it never overflows
        even where the unstandardized values would not be representable).
    copy : bool, default=True
        Kept for compatibility: the input is never modified (the output is always a new
        array).
    n_jobs : int, default=None
        Threads of the numba kernels (joblib's meaning), used by kernels over more than
        ``2**21`` values; smaller ones run on the calling thread. Where the cores are busy
        with other work, numba's OpenMP layer makes each parallel launch costly (its idle
        threads spin): set ``OMP_WAIT_POLICY=passive`` there, or keep one thread.

    Attributes
    ----------
    lambdas_ : ndarray of shape (n_features,)
        float64, whatever the input dtype. Constant columns (and columns with fewer than two
        distinct values) get ``lambda = 1``. Where the likelihood's minimum lies beyond the
        representability bound, lambda is exactly the bound (see ``lambda_bounds_``) and a
        :class:`PowerTransformWarning` was issued.
    lambda_bounds_ : ndarray of shape (n_features, 2)
        The bounds of lambda for which the transformed training extremes are finite in the
        output dtype (``-inf`` / ``inf`` where a side has none).
    n_rounds_ : int
        Communication rounds the fit used (requests to the clients / blocks / the array).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when ``X`` has string feature names.

    Notes
    -----
    *Outside the training range* the transform is exact wherever the result is representable;
    where it is not (for instance far above the training maximum with a large lambda) it
    saturates at the largest finite value of the output dtype and warns. ``inverse_transform``
    of values outside the image of the transform (Yeo-Johnson or Box-Cox with lambda < 0 has a
    bounded image) clips them to the image's edge, which maps to the largest finite value (or to
    0 for Box-Cox's lower edge), and warns; it never returns NaN. NaN is ignored in ``fit`` and
    kept in ``transform``.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.preprocessing import PowerTransformer
    >>> X = np.array([[1.0, 2.0], [3.0, 2.0], [4.0, 5.0]])
    >>> pt = PowerTransformer().fit(X)
    >>> pt.lambdas_.round(4)
    array([ 1.3867, -3.1005])
    >>> Z = pt.transform(X)
    >>> bool(np.allclose(pt.inverse_transform(Z), X))
    True
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"yeo-johnson", "box-cox"})],
        "standardize": ["boolean"],
        "copy": ["boolean"],
        "n_jobs": [None, Integral],
    }

    def __init__(self, method="yeo-johnson", *, standardize=True, copy=True, n_jobs=None):
        self.method = method
        self.standardize = standardize
        self.copy = copy
        self.n_jobs = n_jobs

    # --- fitting -----------------------------------------------------------------------------

    def fit(self, X, y=None):
        """Fit lambda per feature (NaN ignored). ``X`` may be a NumPy array, a DataFrame, or a
        Dask array / DataFrame (fitted on its workers; only statistics travel)."""
        self._validate_params()
        check_n_jobs(self.n_jobs)
        if _is_dask(X):
            return self._fit_dask(X)
        self._reset()
        X = self._validate(X, reset=True)
        yeo = self.method == "yeo-johnson"
        shard = _LogShard(X, yeo, self.n_jobs)
        self._shards = [shard]
        self._fit_shards([shard], X.dtype, subsample=True)
        return self

    def partial_fit(self, X, y=None):
        """Add a batch of rows and refit lambda exactly on all rows seen so far.

        The batches are kept in their log form (the exact likelihood needs every value), each as
        one shard of a federation, and lambda is refitted from their merged statistics.
        """
        first = not hasattr(self, "_shards")
        if first:
            self._validate_params()
            check_n_jobs(self.n_jobs)
            self._reset()
        X = self._validate(X, reset=first)
        self._shards = [
            *getattr(self, "_shards", []),
            _LogShard(X, self.method == "yeo-johnson", self.n_jobs),
        ]
        self._fit_shards(self._shards, X.dtype, subsample=False)
        return self

    def merge(self, *others):
        """Merge the states of other fitted transformers (same method and features) into this
        one: afterwards it is fitted on the union of all their rows, exactly."""
        check_is_fitted(self)
        shards = list(self._shards)
        for other in others:
            check_is_fitted(other)
            if other.method != self.method or other.n_features_in_ != self.n_features_in_:
                raise ValueError("can only merge transformers of the same method and features")
            shards += list(other._shards)
        self._shards = shards
        dtype = np.float32 if all(s.float32 for s in shards) else np.float64
        self._fit_shards(shards, dtype, subsample=False)
        return self

    def fit_federated(self, clients, *, max_rounds=None):
        """Fit from data owners that answer only with statistics.

        Parameters
        ----------
        clients : list
            :class:`PowerTransformClient` objects, or anything with a ``statistics(request)``
            method, or callables ``client(request)``. The server never sees a row.
        max_rounds : int, optional
            Fail if the fit would need more communication rounds.
        """
        self._validate_params()
        self._reset()
        fed = Federation(clients, max_rounds=max_rounds)
        self._fit_federation(fed, None)
        return self

    def _reset(self):
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, attr)
        for attr in ("_shards", "_frame"):
            self.__dict__.pop(attr, None)

    def _validate(self, X, reset):
        X = validate_data(
            self,
            native_byte_order(X),
            reset=reset,
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
            copy=False,
        )
        if self.method == "box-cox":
            _check_positive(X)
        return X

    def _fit_shards(self, shards, dtype, subsample):
        yeo = self.method == "yeo-johnson"
        log_big = math.log(float(np.finfo(dtype).max))
        estimate = None
        rounds = 0
        n_total = sum(s.S.shape[1] for s in shards)
        if subsample and n_total > 2 * _SUBSAMPLE:
            shard = shards[0]
            step = n_total // _SUBSAMPLE
            sub = _SubShard(shard, step)
            # the extremes (and so the bounds) are those of the full data
            fed_sub = Federation([sub])
            est, bound_hit, (lo, hi), _, sub_problem, _ = _search(fed_sub, yeo, log_big)
            # the subsample's curvature, for the full data's first secant step
            h = 1e-4 * np.maximum(1.0, np.abs(est))
            a, b = np.maximum(est - h, lo), np.minimum(est + h, hi)
            _, fp, _ = sub_problem.evaluate(
                np.vstack([a, b]), np.ones(len(est), dtype=bool), want_g=True
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                slope = (fp[1] - fp[0]) / (b - a)
            estimate = (est, slope)
            rounds += fed_sub.rounds
        fed = Federation(shards)
        self._fit_federation(fed, estimate, log_big=log_big, yeo=yeo)
        self.n_rounds_ += rounds

    def _fit_federation(self, fed, estimate, log_big=None, yeo=None):
        yeo = self.method == "yeo-johnson" if yeo is None else yeo
        lams, bound_hit, (lo, hi), summary, problem, log_big = _search(
            fed, yeo, log_big, polish_only=estimate
        )
        p = summary.n.shape[0]
        if hasattr(self, "n_features_in_") and self.n_features_in_ != p:
            raise ValueError(f"clients have {p} features, the transformer {self.n_features_in_}")
        self.n_features_in_ = p
        if bound_hit.any():
            cols = np.flatnonzero(bound_hit)
            warnings.warn(
                f"the likelihood's maximum lies beyond the range where the transformed "
                f"training data is representable for feature(s) {cols.tolist()}; lambda set "
                f"exactly at the bound {lams[cols].tolist()} (|lambda| limited so that "
                f"psi(x) <= {np.exp(log_big):.3g})",
                PowerTransformWarning,
                stacklevel=3,
            )
        # the frame at the final lambda, and the moments of the training data in it
        st = problem.stats_at(lams)
        kinds, ls, refs, logks = problem.frames(lams[None, :])
        n = st[:, K.N]
        mean = st[:, K.MEAN_D]
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.sqrt(st[:, K.M2_D] / n)
        degenerate = ~(scale > 0) | ~np.isfinite(scale)
        with np.errstate(over="ignore"):
            fallback = np.exp(-logks[0])
        fallback = np.where(np.isfinite(fallback) & (fallback > 0), fallback, 1.0)
        scale = np.where(degenerate, fallback, scale)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        self._frame = {
            "kinds": kinds[0],
            "ls": ls[0],
            "refs": refs[0],
            "logks": logks[0],
            "mean": mean,
            "scale": scale,
            "signs": np.where(kinds[0] == 1, -1.0, 1.0),
        }
        self.lambdas_ = lams
        self.lambda_bounds_ = np.column_stack([lo, hi])
        self.n_rounds_ = fed.rounds

    def _fit_dask(self, X):
        self._reset()
        columns = None
        if hasattr(X, "to_dask_array"):  # a dask DataFrame
            columns = np.asarray(X.columns, dtype=object)
            X = X.to_dask_array(lengths=True)
        if X.ndim != 2:
            raise ValueError(f"expected a 2-D dask array, got {X.ndim} dimensions")
        yeo = self.method == "yeo-johnson"
        from functools import partial

        fed = DaskFederation(X, _dask_statistics, prepare=partial(_dask_prepare, yeo=yeo))
        self._fit_federation(fed, None)
        if self.n_features_in_ != X.shape[1]:  # pragma: no cover - guarded by the merge
            raise ValueError("inconsistent number of features")
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = columns
        self.bytes_received_ = fed.bytes_received
        return self

    # --- transforming ------------------------------------------------------------------------

    def transform(self, X):
        """Apply the power transform (and standardization). Dask input gives a lazy, blockwise
        Dask array."""
        check_is_fitted(self)
        if _is_dask(X):
            return self._dask_map(X, self.transform)
        X = self._validate(X, reset=False)
        return self._apply(X, inverse=False)

    def inverse_transform(self, X):
        """Map transformed values back; values outside the image are clipped (with a
        warning), never NaN."""
        check_is_fitted(self)
        if _is_dask(X):
            return self._dask_map(X, self.inverse_transform)
        X = validate_data(
            self,
            native_byte_order(X),
            reset=False,
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
            copy=False,
        )
        return self._apply(X, inverse=True)

    def _apply(self, X, inverse):
        fr = self._frame
        out = np.empty(X.shape, dtype=X.dtype, order="C")
        big = float(np.finfo(X.dtype).max)
        yeo = self.method == "yeo-johnson"
        if self.standardize:
            ls, kinds, refs, logks = fr["ls"], fr["kinds"], fr["refs"], fr["logks"]
        else:
            ls = self.lambdas_
            kinds, refs, logks = fr["kinds"], fr["refs"], fr["logks"]
        if X.size == 0:
            return out
        Xc = X if X.flags.c_contiguous or X.flags.f_contiguous else np.ascontiguousarray(X)
        args = [
            Xc,
            yeo,
            bool(self.standardize),
            kinds,
            ls,
            refs,
            logks,
            fr["mean"],
            fr["scale"],
            fr["signs"],
        ]
        if inverse:
            count = K.inverse(_jobs(self.n_jobs, X.size), *args, big, out)
        else:
            count = K.forward(_jobs(self.n_jobs, X.size), *args, big, out)
        if count:
            what = (
                "inverse_transform: values outside the image of the transform were clipped to "
                "its edge"
                if inverse
                else "transform: values whose transform is not representable in "
                f"{X.dtype} were saturated at +-{big:.3g}"
            )
            warnings.warn(f"{what} ({count} entries)", PowerTransformWarning, stacklevel=3)
        return out

    def _dask_map(self, X, fn):
        if hasattr(X, "to_dask_array"):
            X = X.to_dask_array(lengths=True)
        X = X.rechunk({1: -1})
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        return X.map_blocks(fn, dtype=dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class _SubShard:
    """Every ``step``-th row of a shard (its extremes kept from the full shard, so that the
    bounds and frames are those of the full data)."""

    def __init__(self, shard, step):
        self.S = np.ascontiguousarray(shard.S[:, ::step])
        self.n = np.sum(~np.isnan(self.S), axis=1).astype(np.float64)
        self.lo, self.hi, self.float32 = shard.lo, shard.hi, shard.float32
        self.n_jobs = shard.n_jobs

    def statistics(self, request):
        return _answer(self.S, self.n, self.lo, self.hi, self.float32, request, self.n_jobs)


def _is_dask(X) -> bool:
    return type(X).__module__.split(".")[0] in ("dask", "dask_expr") and hasattr(X, "dask")
