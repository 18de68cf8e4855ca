"""t-SNE with the FFT-interpolated gradient of FIt-SNE, as a scikit-learn transformer."""

from __future__ import annotations

import math
import sys
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import (
    FLOAT_DTYPES,
    check_n_jobs,
    effective_n_jobs,
    float_dtype,
    native_byte_order,
)
from . import _affinity as A
from . import _gradient as G
from . import _kernels as K

# Below this many samples, method="auto" sums the repulsion exactly (it is faster there).
EXACT_BELOW = 2_000
# Placing new points: iterations, learning rate, momentum.
TRANSFORM_LEARNING_RATE = 1.0
TRANSFORM_MOMENTUM = 0.8


class TSNE(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """t-distributed Stochastic Neighbor Embedding, FFT-accelerated (FIt-SNE), with transform.

    t-SNE ([1]_) places ``n`` points in 1 or 2 dimensions so that the distribution ``Q`` of
    pairwise similarities ``q_ij ~ (1 + |y_i - y_j|^2 / dof)^-dof`` matches the input
    affinities ``P`` (Gaussian on the ``3 * perplexity`` nearest neighbours, calibrated to the
    perplexity, symmetrized), by gradient descent on ``KL(P || Q)``. The attraction is summed
    over the sparse ``P``; the repulsion over all pairs is interpolated on an equispaced grid
    and convolved with the kernel by FFT ([2]_): O(n) per iteration. The optimizer follows the
    published schedule ([3]_, [4]_): early exaggeration 12 for 250 iterations at momentum 0.5,
    then momentum 0.8, learning rate ``n / exaggeration``, per-parameter gains, re-centring.

    Unlike scikit-learn's :class:`sklearn.manifold.TSNE`, a fitted model places new points:
    :meth:`transform` computes their affinities to the training points and optimizes their
    positions against the frozen reference embedding (``embedding_`` never moves), so
    ``make_pipeline(PCA(50), TSNE())`` works on held-out data.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the embedding. The FFT gradient supports 1 and 2; more needs
        ``method="exact"`` (O(n^2) per iteration).
    perplexity : float, default=30.0
        Effective number of neighbours of each point. When ``3 * perplexity`` is more than
        ``n_samples - 1`` it is reduced to ``(n_samples - 1) / 3`` with a warning.
    early_exaggeration : float, default=12.0
        Factor on the attraction during the first ``early_exaggeration_iter`` iterations;
        it lets clusters form before they spread.
    early_exaggeration_iter : int, default=250
        Length of the early exaggeration phase (momentum 0.5).
    exaggeration : float, default=1.0
        Factor on the attraction after it (above 1 gives tighter, more separated clusters,
        as in UMAP-like pictures).
    learning_rate : float or "auto", default="auto"
        Step size; ``"auto"`` is ``n_samples / exaggeration`` of each phase ([4]_). The
        gradient is the KL gradient divided by 4 (FIt-SNE's and
        openTSNE's convention; scikit-learn's learning rate is 4 times smaller for the same
        step).
    max_iter : int, default=750
        Iterations in all, the early exaggeration phase included.
    metric : str, default="euclidean"
        Distance of the input space, any metric of scikit-learn's
        :class:`~sklearn.neighbors.NearestNeighbors` (and of pynndescent for the approximate
        search), or ``"precomputed"``: ``X`` is a square matrix of distances (and
        :meth:`transform` takes the distances of new points to the training points).
        Euclidean distances are squared before calibration, as in [1]_.
    affinity : {"perplexity", "precomputed"}, default="perplexity"
        ``"precomputed"``: ``X`` is a square, nonnegative affinity matrix (dense or sparse),
        symmetrized and normalized here; :meth:`transform` then takes the affinities of new
        points to the training points.
    neighbors : {"auto", "exact", "approx"}, default="auto"
        Nearest-neighbour search: exact (scikit-learn, brute force) or approximate
        (pynndescent); ``"auto"`` is exact below 50,000 samples.
    method : {"auto", "fft", "exact"}, default="auto"
        Repulsion by FFT interpolation or summed exactly (O(n^2)); ``"auto"`` sums exactly
        below 2,000 samples, where it is the faster of the two (and for
        ``n_components > 2``).
    dof : float, default=1.0
        Degrees of freedom of the Student-t kernel; below 1 gives heavier tails (finer
        clusters, [5]_).
    init : {"pca", "spectral", "random"} or ndarray of shape (n_samples, n_components), \
default="pca"
        Start: the leading principal components (the leading eigenvectors of ``P`` when there
        are no features, with a precomputed input), the spectral embedding of ``P``, or
        Gaussian noise; each rescaled so that the first coordinate has standard deviation
        1e-4.
    n_interpolation_points : int, default=3
        Lagrange nodes per grid box and axis.
    min_num_intervals : int, default=50
        Fewest grid boxes along the widest axis.
    ints_in_interval : float, default=1.0
        Width of a grid box once the embedding spans more than ``min_num_intervals`` of them.
        In 2-D the boxes widen further as the embedding expands, when that is cheaper, and
        the pairs closer than 1.5 box widths are then summed directly (a near/far split of the
        kernel that keeps the accuracy while the grid stops growing; see the user guide).
    max_num_intervals : int, default=200
        Most grid boxes along the widest axis: beyond it the boxes widen in any case, so the
        time per iteration stays bounded however far outliers fly.
    transform_max_iter : int, default=100
        Iterations when placing new points in :meth:`transform`.
    verbose : int, default=0
        Print the KL divergence and the time every 50 iterations.
    callbacks : callable or list of callables, default=None
        Each is called as ``callback(iteration, kl_divergence, embedding)`` every
        ``callbacks_every_iters`` iterations; returning ``True`` stops the optimization.
    callbacks_every_iters : int, default=50
        How often the callbacks run (each evaluation of the KL costs about one iteration).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization and the approximate neighbour search; the result is
        reproducible for a given ``n_jobs``.
    n_jobs : int, default=None
        Threads (joblib's meaning) of the neighbour search, the calibration and the
        optimization. With 2 or more, the FFT method computes the attraction and the repulsion
        side by side on two threads, each on half of them (below 200,000 points); with 2, its
        embedding is then the same as with 1 (see the user guide's "Cost and scaling").

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The embedding of the training points (the dtype of ``X``).
    kl_divergence_ : float
        ``KL(P || Q)`` of the final embedding (``Z`` as the gradient computes it).
    n_iter_ : int
        Iterations run (fewer than ``max_iter`` after a callback's stop or Ctrl-C).
    perplexity_ : float
        The perplexity used (after any reduction for small ``n_samples``).
    learning_rate_ : float
        The learning rate of the last phase.
    method_ : str
        ``"fft"`` or ``"exact"``, the repulsion actually used.
    affinities_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        The joint affinities ``P``.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in :meth:`fit`, when ``X`` has string column names.

    Notes
    -----
    The tag ``non_deterministic`` is set although the result is reproducible under a fixed
    ``random_state`` and ``n_jobs``: scikit-learn's checks read it as "``fit_transform(X)`` and
    ``fit(X).transform(X)`` need not agree", which is true of t-SNE by design (transform places
    the points anew against the fitted embedding, near their training positions but not on
    them). The checks it skips (determinism, invariance of transform to subsets and order of
    the samples, pipelines) are run in this package's own tests.

    Memory: ``P`` (about ``3 * perplexity * n`` entries, twice), the embedding and its optimizer
    state (``5 n * n_components`` floats), per-thread grids of a few MB, and for
    :meth:`transform` a copy of the (scaled) training data. No ``n x n`` matrix, except with
    ``method="exact"``'s O(n^2) work (not memory) and a precomputed distance matrix.

    References
    ----------
    .. [1] L. van der Maaten, G. Hinton, "Visualizing data using t-SNE", JMLR 9 (2008).
    .. [2] G. C. Linderman, M. Rachh, J. G. Hoskins, S. Steinerberger, Y. Kluger, "Fast
       interpolation-based t-SNE for improved visualization of single-cell RNA-seq data",
       Nature Methods 16 (2019).
    .. [3] L. van der Maaten, "Accelerating t-SNE using tree-based algorithms", JMLR 15 (2014).
    .. [4] A. C. Belkina et al., "Automated optimized parameters for t-distributed stochastic
       neighbor embedding improve visualization and analysis of large datasets", Nature
       Communications 10 (2019).
    .. [5] D. Kobak, G. Linderman, S. Steinerberger, Y. Kluger, P. Berens, "Heavy-tailed
       kernels reveal a finer cluster structure in t-SNE visualisations", ECML PKDD (2019).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skspectral.manifold import TSNE
    >>> X = load_digits().data[:300]
    >>> tsne = TSNE(perplexity=20, max_iter=300, random_state=0).fit(X)
    >>> tsne.embedding_.shape
    (300, 2)
    >>> tsne.transform(X[:5]).shape
    (5, 2)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "perplexity": [Interval(Real, 0, None, closed="neither")],
        "early_exaggeration": [Interval(Real, 0, None, closed="neither")],
        "early_exaggeration_iter": [Interval(Integral, 0, None, closed="left")],
        "exaggeration": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "metric": [str, callable],
        "affinity": [StrOptions({"perplexity", "precomputed"})],
        "neighbors": [StrOptions({"auto", "exact", "approx"})],
        "method": [StrOptions({"auto", "fft", "exact"})],
        "dof": [Interval(Real, 0, None, closed="neither")],
        "init": [StrOptions({"pca", "spectral", "random"}), np.ndarray],
        "n_interpolation_points": [Interval(Integral, 1, None, closed="left")],
        "min_num_intervals": [Interval(Integral, 1, None, closed="left")],
        "ints_in_interval": [Interval(Real, 0, None, closed="neither")],
        "max_num_intervals": [Interval(Integral, 1, None, closed="left")],
        "transform_max_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "callbacks": [None, callable, list, tuple],
        "callbacks_every_iters": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        n_components=2,
        *,
        perplexity=30.0,
        early_exaggeration=12.0,
        early_exaggeration_iter=250,
        exaggeration=1.0,
        learning_rate="auto",
        max_iter=750,
        metric="euclidean",
        affinity="perplexity",
        neighbors="auto",
        method="auto",
        dof=1.0,
        init="pca",
        n_interpolation_points=3,
        min_num_intervals=50,
        ints_in_interval=1.0,
        max_num_intervals=200,
        transform_max_iter=100,
        verbose=0,
        callbacks=None,
        callbacks_every_iters=50,
        random_state=None,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.early_exaggeration_iter = early_exaggeration_iter
        self.exaggeration = exaggeration
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.metric = metric
        self.affinity = affinity
        self.neighbors = neighbors
        self.method = method
        self.dof = dof
        self.init = init
        self.n_interpolation_points = n_interpolation_points
        self.min_num_intervals = min_num_intervals
        self.ints_in_interval = ints_in_interval
        self.max_num_intervals = max_num_intervals
        self.transform_max_iter = transform_max_iter
        self.verbose = verbose
        self.callbacks = callbacks
        self.callbacks_every_iters = callbacks_every_iters
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # see Notes: fit_transform(X) != fit(X).transform(X)
        tags.input_tags.sparse = self.affinity == "precomputed"
        tags.input_tags.pairwise = self.metric == "precomputed" or self.affinity == "precomputed"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.n_components

    # ------------------------------------------------------------------ validation
    def _precomputed(self) -> bool:
        return self.metric == "precomputed" or self.affinity == "precomputed"

    def _validate_fit_input(self, X):
        X = native_byte_order(X)
        if self.affinity == "precomputed":
            X = validate_data(
                self,
                X,
                accept_sparse=["csr", "csc", "coo"],
                dtype=FLOAT_DTYPES,
                ensure_min_samples=2,
            )
        else:
            X = validate_data(self, X, dtype=FLOAT_DTYPES, ensure_min_samples=2)
        if self._precomputed():
            what = "affinity" if self.affinity == "precomputed" else "distance"
            if X.shape[0] != X.shape[1]:
                raise ValueError(f"a precomputed {what} matrix must be square, got shape {X.shape}")
            values = X.data if scipy.sparse.issparse(X) else X
            if values.size and values.min() < 0:
                raise ValueError(f"a precomputed {what} matrix must be nonnegative")
        return X

    def _effective_perplexity(self, n):
        perplexity = float(self.perplexity)
        if 3 * perplexity > n - 1:
            reduced = (n - 1) / 3.0
            warnings.warn(
                f"perplexity={perplexity:g} needs more than n_samples={n} points (3 * "
                f"perplexity neighbours); using perplexity={reduced:g}",
                UserWarning,
                stacklevel=3,
            )
            perplexity = reduced
        return perplexity

    def _method(self, n):
        d = self.n_components
        if self.method == "fft":
            if d > 2:
                raise ValueError(
                    f"method='fft' supports n_components 1 and 2, got n_components={d}; use "
                    "method='exact' (O(n^2) per iteration)"
                )
            return "fft"
        if self.method == "exact" or d > 2 or n < EXACT_BELOW:
            return "exact"
        return "fft"

    # ------------------------------------------------------------------ affinities
    @staticmethod
    def _scale_of(X):
        values = X.data if scipy.sparse.issparse(X) else X
        if values.size == 0:
            return 1.0
        m = float(np.max(np.abs(values)))
        return m if m > 0 and np.isfinite(m) else 1.0

    def _affinities(self, X, rng):
        n = X.shape[0]
        if self.affinity == "precomputed":
            return A.precomputed(X), None
        k = A.n_neighbors_for(self.perplexity_, n)
        if self.metric == "precomputed":
            dist, ind = A.knn_precomputed(X, k)
            index = None
        else:
            dist, ind = A.knn(X, k, self.metric, self.neighbors, self.n_jobs, rng)
            index = A.exact_index(X, self.metric, self.n_jobs)
        cond = A.conditional(dist, self.perplexity_, self.n_jobs)
        del dist  # (not needed by P: freed before it is symmetrized)
        return A.joint(cond, ind, n), index

    # ------------------------------------------------------------------ initialization
    def _initial(self, X, P, n, rng):
        d = self.n_components
        if isinstance(self.init, np.ndarray):
            Y = np.array(self.init, dtype=np.float64)
            if Y.shape != (n, d):
                raise ValueError(
                    f"init has shape {Y.shape}, expected (n_samples, n_components) = {(n, d)}"
                )
            if not np.all(np.isfinite(Y)):
                raise ValueError("init contains NaN or infinity")
            return Y - Y.mean(axis=0)
        init = self.init
        if init == "pca" and self._precomputed():
            init = "spectral"
        Y = None
        if init == "pca":
            Y = self._pca(X, d, rng)
        elif init == "spectral":
            Y = self._spectral(P, d, rng)
        if Y is None or not np.all(np.isfinite(Y)) or not np.std(Y[:, 0]) > 0:
            Y = rng.standard_normal((n, d))
        Y = Y - Y.mean(axis=0)
        return Y * (1e-4 / np.std(Y[:, 0]))

    @staticmethod
    def _pca(X, d, rng):
        Xc = np.asarray(X, dtype=np.float64)
        Xc = Xc - Xc.mean(axis=0)
        n, f = Xc.shape
        r = min(d, f, n)
        from sklearn.decomposition import PCA

        try:
            Y = PCA(r, svd_solver="auto", random_state=rng).fit_transform(Xc)
        except (ValueError, np.linalg.LinAlgError):
            return None
        if r < d:  # fewer features than components: noise on the rest
            extra = rng.standard_normal((n, d - r)) * (np.std(Y[:, 0]) if r else 1.0) * 1e-2
            Y = np.hstack([Y, extra])
        return Y

    @staticmethod
    def _spectral(P, d, rng):
        from sklearn.manifold import spectral_embedding

        if P.shape[0] <= 5 * (d + 1):  # too few points for the sparse eigensolver
            P = P.toarray() if hasattr(P, "toarray") else P
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Y = spectral_embedding(P, n_components=d, random_state=rng, drop_first=True)
        except (ValueError, TypeError, np.linalg.LinAlgError, RuntimeError):
            return None
        # too few points give fewer non-trivial eigenvectors than dimensions: no spectral start
        return Y if Y.ndim == 2 and Y.shape[1] == d else None

    # ------------------------------------------------------------------ gradient
    def _field(self):
        return G.GridField(
            self.n_interpolation_points,
            self.min_num_intervals,
            self.ints_in_interval,
            self.max_num_intervals,
            self.dof,
        )

    def _gradient(self, P, Y, exaggeration, field, want_kl, overlap=None):
        """``(gradient, KL or nan)`` at ``Y`` (with an :class:`~._gradient.Overlap`, its
        attraction and repulsion side by side)."""
        if overlap is not None:
            attr, cross, rep, z = overlap.forces(P, Y, field, want_kl)
        else:
            # the repulsion first: its FFT threads then start while numba's workers have been
            # idle longest (their spin-wait after a parallel kernel competes with them)
            if field is None:
                rep, z = G.exact_repulsion(Y, self.dof, self.n_jobs)
            else:
                rep, z = field.repulsion(Y, self.n_jobs)
            attr, cross = G.attraction(P, Y, self.dof, self.n_jobs, want_kl)
        z = max(z, np.finfo(np.float64).tiny)
        attr *= exaggeration
        attr -= rep / z
        kl = self._plogp - cross + math.log(z) if want_kl else math.nan
        return attr, kl

    # ------------------------------------------------------------------ optimization
    def _callbacks(self):
        if self.callbacks is None:
            return []
        if callable(self.callbacks):
            return [self.callbacks]
        return list(self.callbacks)

    def _optimize(self, P, Y, n):
        field = None if self.method_ == "exact" else self._field()
        callbacks = self._callbacks()
        update = np.zeros_like(Y)
        gains = np.ones_like(Y)
        n_ee = min(self.early_exaggeration_iter, self.max_iter)
        phases = [
            (n_ee, self.early_exaggeration, 0.5),
            (self.max_iter - n_ee, self.exaggeration, 0.8),
        ]
        it = 0
        t0 = time.perf_counter()
        stop = False
        self.learning_rate_ = math.nan
        overlap = None
        step_jobs = self.n_jobs
        if field is not None and effective_n_jobs(self.n_jobs) > 1 and n < G.OVERLAP_BELOW:
            overlap = G.Overlap(self.n_jobs)
            # (a parallel step would leave its threads spinning into the next gradient's
            # serial sides; it is a light pass)
            step_jobs = overlap.repulsion_jobs
        try:
            for n_iter, exaggeration, momentum in phases:
                if n_iter <= 0 or stop:
                    continue
                lr = n / exaggeration if self.learning_rate == "auto" else self.learning_rate
                self.learning_rate_ = float(lr)
                for _ in range(n_iter):
                    report = (it + 1) % self.callbacks_every_iters == 0 and bool(callbacks)
                    report_v = self.verbose and (it + 1) % 50 == 0
                    grad, kl_now = self._gradient(
                        P, Y, exaggeration, field, report or report_v, overlap
                    )
                    K.gradient_step(
                        step_jobs, Y, grad, update, gains, float(lr), momentum, 0.01, 5.0
                    )
                    Y -= K.column_means(Y)
                    it += 1
                    if report_v:
                        print(
                            f"[TSNE] iteration {it:5d}: KL divergence {kl_now:.4f} "
                            f"(exaggeration {exaggeration:g}), {time.perf_counter() - t0:.2f} s",
                            file=sys.stdout,
                            flush=True,
                        )
                    if report and any(bool(cb(it, kl_now, Y)) for cb in callbacks):
                        stop = True
                        break
                if not np.all(np.isfinite(Y)):
                    raise FloatingPointError("the embedding diverged (non-finite coordinates)")
        except KeyboardInterrupt:
            warnings.warn(
                f"optimization interrupted at iteration {it}; keeping the current embedding",
                UserWarning,
                stacklevel=3,
            )
        finally:
            if overlap is not None:
                overlap.close()
        self.n_iter_ = it
        return Y, field

    # ------------------------------------------------------------------ fit
    def _clear(self):
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, attr)
        for attr in ("_index", "_reference", "_scale", "_plogp", "_Y64"):
            self.__dict__.pop(attr, None)

    def _fit(self, X):
        self._clear()
        check_n_jobs(self.n_jobs)
        X = self._validate_fit_input(X)
        out_dtype = float_dtype(X.dtype)
        n = X.shape[0]
        rng = check_random_state(self.random_state)
        self.method_ = self._method(n)
        self.perplexity_ = (
            float(self.perplexity)
            if self.affinity == "precomputed"
            else self._effective_perplexity(n)
        )
        self._scale = self._scale_of(X)
        Xs = X / self._scale if not scipy.sparse.issparse(X) else X / self._scale
        if not scipy.sparse.issparse(Xs):
            Xs = np.ascontiguousarray(Xs, dtype=np.float64)
        P, index = self._affinities(Xs, rng)
        self.affinities_ = P
        data = P.data
        self._plogp = float(np.dot(data, np.log(data)))
        Y = self._initial(Xs, P, n, rng)
        compact = G.CompactAffinities(P)
        Y, field = self._optimize(compact, Y, n)
        # final KL with the gradient's own Z
        _, self.kl_divergence_ = self._gradient(compact, Y, 1.0, field, True)
        del compact
        self.embedding_ = Y.astype(out_dtype, copy=False)
        self.embedding_.setflags(write=False)
        self._index = index
        if self.method_ == "fft" and self.n_components <= 2:
            self._reference = G.ReferenceField(Y, self._field(), self.n_jobs)
        else:
            self._reference = G.ExactReference(Y, self.dof)
        self._Y64 = Y
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Embed ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_samples)
            Training data; a square distance matrix with ``metric="precomputed"``, an affinity
            matrix (dense or sparse) with ``affinity="precomputed"``.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Embed ``X`` and return the embedding (``embedding_``, a copy).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, n_samples)
            As in :meth:`fit`.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The embedding of the training points.
        """
        return np.array(self._fit(X).embedding_)

    # ------------------------------------------------------------------ transform
    def transform(self, X):
        """Place new points into the fitted embedding (which does not move).

        Each new point gets Gaussian affinities to its ``3 * perplexity_`` nearest training
        points (calibrated to ``perplexity_``, normalized over its row), starts at the
        affinity-weighted mean of their positions, and is moved by ``transform_max_iter``
        steps of gradient descent on its own KL divergence against the frozen training
        embedding, whose repulsive field is computed once (on the FFT grid, or exactly for
        small or higher-dimensional embeddings). The points are placed independently of each
        other.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features) or (n_queries, n_samples)
            New points; with a precomputed ``metric`` (``affinity``), their distances
            (affinities) to the training points.

        Returns
        -------
        X_new : ndarray of shape (n_queries, n_components)
            Their positions in the embedding (the dtype of ``X``).
        """
        check_is_fitted(self)
        sparse_ok = ["csr", "csc", "coo"] if self.affinity == "precomputed" else False
        X = validate_data(
            self, native_byte_order(X), accept_sparse=sparse_ok, dtype=FLOAT_DTYPES, reset=False
        )
        out_dtype = float_dtype(X.dtype)
        m = X.shape[0]
        R = self._Y64
        n = R.shape[0]
        if m == 0:
            return np.empty((0, self.n_components), dtype=out_dtype)
        P = self._transform_affinities(X, n)
        Y = np.asarray(P @ R)
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        update = np.zeros_like(Y)
        gains = np.ones_like(Y)
        ref = self._reference
        empty = np.empty(0)
        for _ in range(self.transform_max_iter):
            attr = np.empty_like(Y)
            K.attraction(
                self.n_jobs, P.indptr, P.indices, P.data, Y, R, float(self.dof), attr, empty
            )
            rep, z = ref.evaluate(Y, self.n_jobs)
            attr -= rep / z[:, None]
            K.gradient_step(
                self.n_jobs,
                Y,
                attr,
                update,
                gains,
                TRANSFORM_LEARNING_RATE,
                TRANSFORM_MOMENTUM,
                0.01,
                5.0,
            )
        if not np.all(np.isfinite(Y)):
            raise FloatingPointError("placing the new points diverged (non-finite coordinates)")
        return Y.astype(out_dtype, copy=False)

    def _transform_affinities(self, X, n):
        """Row-normalized affinities (CSR, m x n) of the new points to the training points."""
        m = X.shape[0]
        if self.affinity == "precomputed":
            C = scipy.sparse.csr_matrix(X, dtype=np.float64)
            if C.nnz and C.data.min() < 0:
                raise ValueError("precomputed affinities must be nonnegative")
            sums = np.asarray(C.sum(axis=1)).ravel()
            if np.any(sums <= 0):
                raise ValueError("every new point needs a positive affinity to a training point")
            C = scipy.sparse.diags(1.0 / sums) @ C
            C = scipy.sparse.csr_matrix(C)
        else:
            k = int(min(n, max(1, math.floor(3 * self.perplexity_))))
            if self.metric == "precomputed":
                D = np.asarray(X, dtype=np.float64)
                if D.size and D.min() < 0:
                    raise ValueError("a precomputed distance matrix must be nonnegative")
                ind = np.argsort(D, axis=1, kind="stable")[:, :k]
                dist = np.take_along_axis(D, ind, axis=1)
            else:
                with np.errstate(over="ignore"):
                    Xs = np.ascontiguousarray(X / self._scale, dtype=np.float64)
                if not np.all(np.isfinite(Xs)):
                    raise ValueError(
                        "X overflows once scaled as the training data was (divided by "
                        f"{self._scale:.3g}, the training data's largest magnitude)"
                    )
                dist, ind = A.exact_knn(self._index, Xs, k, self.n_jobs)
            dist = np.ascontiguousarray(dist, dtype=np.float64)
            cond = A.conditional(dist, min(self.perplexity_, k), self.n_jobs)
            C = scipy.sparse.csr_matrix(
                (cond.ravel(), ind.ravel().astype(np.int64), np.arange(0, m * k + 1, k)),
                shape=(m, n),
            )
        C.indices = C.indices.astype(np.int64)
        C.indptr = C.indptr.astype(np.int64)
        return C
