"""Random Fourier features: :class:`RandomFourierFeatures`, and the fitted map both estimators
of this package share."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._backend import (
    FLOAT_DTYPES,
    check_n_jobs,
    effective_n_jobs,
    float_dtype,
    get_namespace,
    single_threaded_blas,
    to_numpy,
)
from . import _samplers

# bytes per block of the fused transform: the block of projections (rows x D) stays in the
# last-level cache (32 MiB, shared, on the 2-core EPYC measured) between the product and the
# cosine. Large blocks amortize what each one-thread GEMM call repeats (packing all of W, the
# call itself): 8 MiB blocks (1024 float32 / 512 float64 rows at D = 2048) measured faster than
# 2 MiB, and 64-row blocks 1.4x slower; small inputs get blocks down to 2 MiB, so that they
# spread over threads
_BLOCK_BYTES = 1 << 23
_MIN_BLOCK_BYTES = 1 << 21

_KERNELS = {"rbf", "laplacian", "matern", "cauchy"}
_SAMPLINGS = {"iid", "orthogonal", "structured", "qmc"}


def run_blocks(n, step, fn, n_jobs):
    """Call ``fn(rows)`` for the row blocks ``rows`` of ``range(n)`` of ``step`` rows, on
    ``n_jobs`` threads (each block: one-thread BLAS product, then a serial numba kernel that
    releases the GIL). The blocks, and so the results, do not depend on ``n_jobs``."""
    blocks = [slice(s, min(n, s + step)) for s in range(0, n, step)]
    threads = min(effective_n_jobs(n_jobs), len(blocks))
    with single_threaded_blas():
        if threads <= 1:
            for rows in blocks:
                fn(rows)
            return
        with ThreadPoolExecutor(threads) as pool:
            for _ in pool.map(fn, blocks):
                pass


class _BaseRandomFeatures(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """The frequencies and phases of a random Fourier map, and its blockwise evaluation."""

    _parameter_constraints: dict = {
        "kernel": [StrOptions(_KERNELS)],
        "gamma": [Interval(Real, 0, None, closed="neither"), StrOptions({"scale"})],
        "nu": [Interval(Real, 0, None, closed="right")],
        "length_scale": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "sampling": [StrOptions(_SAMPLINGS)],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    _fitted_names = (
        "random_weights_",
        "random_offset_",
        "signs_",
        "radial_",
        "gamma_",
        "n_frequencies_",
        "n_padded_",
    )

    # ------------------------------------------------------------------ fit
    def _reset(self):
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("__"):
                delattr(self, name)

    def _kernel_params(self, X):
        d = X.shape[1]
        gamma = self.gamma
        if gamma == "scale":
            if scipy.sparse.issparse(X):
                var = X.multiply(X).mean() - X.mean() ** 2
            else:
                var = X.var()
            var = float(var)
            if self.kernel == "laplacian":
                gamma = 1.0 / (d * math.sqrt(var)) if var > 0 and np.isfinite(var) else 1.0
            else:
                gamma = 1.0 / (d * var) if var != 0 else 1.0
        gamma = float(gamma)
        if not np.isfinite(gamma):
            gamma = 0.0
        return {
            "gamma": gamma,
            "nu": float(self.nu),
            "length_scale": float(self.length_scale),
            "alpha": float(self.alpha),
        }

    def _check_combination(self):
        if self.sampling in ("orthogonal", "structured") and self.kernel == "laplacian":
            raise ValueError(
                f"sampling={self.sampling!r} needs a radial (rotation-invariant) kernel: "
                "'rbf', 'matern' or 'cauchy'; the 'laplacian' kernel (L1 distance) is not. "
                "Use sampling='iid' or 'qmc'."
            )

    def _fit_map(self, X, m, with_offset):
        """Draw ``m`` frequencies (and phases when ``with_offset``) for ``X``."""
        self._check_combination()
        check_n_jobs(self.n_jobs)
        rng = check_random_state(self.random_state)
        params = self._kernel_params(X)
        self.gamma_ = params["gamma"]
        d = X.shape[1]
        kernel, sampling = self.kernel, self.sampling
        if kernel == "matern" and np.isinf(params["nu"]):
            kernel, params["gamma"] = "rbf", 0.5 / params["length_scale"] ** 2
        self.n_frequencies_ = m
        offset = None
        if sampling == "iid":
            self.random_weights_ = _samplers.iid(kernel, params, d, m, rng)
        elif sampling == "orthogonal":
            # many small QR factorizations: one BLAS thread each is faster than a team
            with single_threaded_blas():
                self.random_weights_ = _samplers.orthogonal(kernel, params, d, m, rng)
        elif sampling == "structured":
            self.signs_, self.radial_ = _samplers.structured(kernel, params, d, m, rng)
            self.n_padded_ = self.signs_.shape[2]
        else:
            self.random_weights_, offset = _samplers.qmc(kernel, params, d, m, rng, with_offset)
        if with_offset:
            if offset is None:
                offset = rng.uniform(0, 2 * np.pi, size=m)
            self.random_offset_ = offset

    # ------------------------------------------------------------------ transform
    def _validated(self, X):
        check_is_fitted(self)
        X = _native(X)
        return validate_data(
            self, X, accept_sparse="csr", dtype=FLOAT_DTYPES, reset=False, order="C"
        )

    def _prepared(self, dtype, mode):
        """The fitted arrays cast to the transform's dtype, once per transform (not per
        block: casting ``W`` per block would cost as much as a pass over the output)."""
        b = self.random_offset_.astype(dtype) if mode == 1 else np.zeros(1, dtype=dtype)
        if self.sampling == "structured":
            return (self.signs_.astype(dtype), self.radial_.astype(dtype), b)
        W = self.random_weights_
        return (W if W.dtype == dtype else W.astype(dtype), b)

    def _features(self, X, mode, scale, out, rows, prep=None):
        """Write the features of ``X[rows]`` into ``out`` (``mode`` 0: the projection
        ``X @ W``; 1: ``scale * cos(X @ W + b)``; 2: ``scale * [cos, sin](X @ W)``)."""
        if prep is None:
            prep = self._prepared(out.dtype.type, mode)
        with np.errstate(over="ignore", invalid="ignore"):
            self._features_block(X, mode, scale, out, rows, prep)

    def _features_block(self, X, mode, scale, out, rows, prep):
        from . import _kernels  # numba loads on first use

        dtype = out.dtype.type
        Xc = X[rows]
        if self.sampling == "structured":
            if scipy.sparse.issparse(Xc):
                Xc = Xc.toarray()
            Xc = np.ascontiguousarray(Xc, dtype=dtype)
            signs, radial, b = prep
            bad = _kernels.sorf_rows.serial(Xc, signs, radial, b, dtype(scale), mode, out)
        else:
            W, b = prep
            if mode == 2:
                T = np.asarray(Xc @ W, dtype=dtype)
                bad = _kernels.cossin_rows.serial(T, dtype(scale), out)
            else:
                if scipy.sparse.issparse(Xc):
                    out[...] = Xc @ W
                else:
                    np.matmul(Xc, W, out=out)
                if mode == 0:
                    return
                bad = _kernels.cos_rows_inplace.serial(out, b, dtype(scale))
        if bad:
            raise ValueError(
                "X has values so large that the projections X @ W overflow to infinity "
                f"({bad} rows); scale the input (or fit on float64 input) first"
            )

    def _map(self, X, mode, scale, width):
        """Evaluate the map on validated ``X`` (numpy or CSR), block by block."""
        n = X.shape[0]
        dtype = float_dtype(X.dtype)
        out = np.empty((n, width), dtype=dtype)
        prep = self._prepared(dtype, mode)

        def block(rows):
            self._features(X, mode, scale, out[rows], rows, prep)

        run_blocks(n, self._block_rows(dtype, width, n), block, self.n_jobs)
        return out

    def _block_rows(self, dtype, width, n):
        """Rows per block of ``n`` rows of ``width`` features: up to ``_BLOCK_BYTES``, at
        least four blocks while they keep ``_MIN_BLOCK_BYTES`` (at least 64 rows for the
        structured map, whose cost per row does not depend on the block)."""
        row = np.dtype(dtype).itemsize * max(width, 1)
        step = max(1, min(_BLOCK_BYTES // row, -(-n // 4)), _MIN_BLOCK_BYTES // row)
        return max(step, 64) if self.sampling == "structured" else step

    def _more_tags(self):  # pragma: no cover - kept for older scikit-learn
        return {}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class RandomFourierFeatures(_BaseRandomFeatures):
    """Random Fourier features of shift-invariant kernels; a drop-in for ``RBFSampler``.

    Maps each sample to ``z(x)`` so that ``z(x) . z(y)`` approximates ``k(x, y)`` (Rahimi and
    Recht [1]_): with frequencies ``w_i`` drawn from the kernel's spectral measure,

    * ``features="cos"``: ``z(x) = sqrt(2 / D) cos(W^T x + b)``, ``b`` uniform on
      ``[0, 2 pi)`` (the map of :class:`sklearn.kernel_approximation.RBFSampler`);
    * ``features="cossin"``: ``z(x) = sqrt(2 / D) [cos(W^T x), sin(W^T x)]`` with ``D / 2``
      frequencies, whose estimate ``(2 / D) sum cos(w_i . (x - y))`` has no phase noise (lower
      variance at the same output size [5]_).

    Kernels: ``"rbf"`` ``exp(-gamma ||x - y||^2)`` (as :func:`sklearn.metrics.pairwise.rbf_kernel`),
    ``"laplacian"`` ``exp(-gamma ||x - y||_1)`` (as
    :func:`~sklearn.metrics.pairwise.laplacian_kernel`), ``"matern"`` (``nu``,
    ``length_scale``, as :class:`sklearn.gaussian_process.kernels.Matern`) and ``"cauchy"``
    (the rational quadratic kernel with ``alpha``, ``length_scale``, as
    :class:`~sklearn.gaussian_process.kernels.RationalQuadratic`; ``alpha=1`` is the Cauchy
    kernel ``1 / (1 + r^2 / (2 l^2))``).

    Samplers: ``"iid"``; ``"orthogonal"`` (ORF [2]_: blocks of ``n_features`` frequencies with
    orthogonal directions and norms from the radial law: unbiased, lower variance);
    ``"structured"`` (SORF [2]_: ``s * H D1 H D2 H D3 x`` with random signs ``D`` and the
    Walsh-Hadamard transform ``H``, ``O(D log d)`` per sample and no ``d x D`` matrix; each
    frequency's norm is drawn from the radial law, so the only bias is that of the SORF
    directions, which is ``O(1/sqrt(d))`` [2]_); ``"qmc"`` (randomized quasi-Monte Carlo [3]_:
    for the radial kernels the radial-angular decomposition, directions from orthogonal
    blocks and norms by randomized QMC (stratified or scrambled Sobol') of the radial law's
    inverse CDF; for ``"laplacian"`` a scrambled Sobol' sequence through the Cauchy inverse
    CDF; with ``features="cos"`` the phases come in antithetic pairs ``b``, ``b + pi/2`` on
    one frequency, which cancels the phase-noise term). Orthogonal and
    structured sampling need a radial kernel (not ``"laplacian"``).

    With ``kernel="rbf", sampling="iid", features="cos"`` and the same ``random_state`` the
    output equals ``RBFSampler(gamma=gamma, n_components=n_components,
    random_state=random_state)``'s (same draws in the same order; the cosine here is computed
    in registers, to about 1e-16 in float64).

    The dtype is decided at transform: float32 input gives float32 output and is computed in
    float32 end to end, whatever the fit saw. The transform runs block by block: ``X @ W`` for
    a block of rows (BLAS, or the sparse product for CSR input) is followed, while it is in
    cache, by a numba kernel that evaluates the cosine in place, rows in parallel over
    ``n_jobs`` threads. Under ``sklearn.config_context(array_api_dispatch=True)`` an Array API
    input (CuPy, ...) is transformed with that namespace's operations, on its device.

    Parameters
    ----------
    n_components : int, default=100
        Output dimension ``D`` (even for ``features="cossin"``).
    kernel : {"rbf", "laplacian", "matern", "cauchy"}, default="rbf"
        The shift-invariant kernel to approximate.
    gamma : float or "scale", default=1.0
        ``gamma`` of the rbf and laplacian kernels. ``"scale"``: ``1 / (n_features * X.var())``
        as in ``RBFSampler`` (for ``"laplacian"``: ``1 / (n_features * X.std())``).
    nu : float, default=1.5
        Smoothness of the Matern kernel (``np.inf`` gives the rbf kernel).
    length_scale : float, default=1.0
        Length scale of the Matern and Cauchy (rational quadratic) kernels.
    alpha : float, default=1.0
        Scale mixture parameter of the rational quadratic kernel (``kernel="cauchy"``).
    sampling : {"iid", "orthogonal", "structured", "qmc"}, default="iid"
        How the frequencies are drawn.
    features : {"cos", "cossin"}, default="cos"
        The feature pairs (see above).
    random_state : int, RandomState instance or None, default=None
        Draws the frequencies and phases; an int gives bit-identical maps.
    n_jobs : int, default=None
        Threads over blocks of rows (joblib's meaning: ``None`` is one, ``-1`` all cores);
        within a block the product runs on one BLAS thread (BLAS is held to one thread during
        the transform) and the cosine in a numba kernel that releases the GIL. Results do
        not depend on it.

    Attributes
    ----------
    random_weights_ : ndarray of shape (n_features, n_frequencies_)
        The frequencies ``W`` as float64 (all samplers but ``"structured"``).
    random_offset_ : ndarray of shape (n_frequencies_,)
        The phases ``b`` (``features="cos"``).
    signs_ : ndarray of shape (3, n_blocks, n_padded_)
        The random signs of ``D1, D2, D3`` per block (``"structured"``).
    radial_ : ndarray of shape (n_frequencies_,)
        The frequency norms over ``n_padded_**1.5`` (``"structured"``).
    n_padded_ : int
        ``n_features`` padded to a power of two (``"structured"``).
    n_frequencies_ : int
        Number of frequencies: ``D`` for ``"cos"``, ``D / 2`` for ``"cossin"``.
    gamma_ : float
        The ``gamma`` used (resolved from ``"scale"``).
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string feature names.

    See Also
    --------
    QuantizedRandomFourierFeatures : the same features in 1 to a few bits (Sigma-Delta).
    sklearn.kernel_approximation.RBFSampler : i.i.d. rbf features.
    sklearn.kernel_approximation.Nystroem : data-dependent low-rank kernel approximation.

    References
    ----------
    .. [1] A. Rahimi and B. Recht, "Random features for large-scale kernel machines", NeurIPS
       (2007).
    .. [2] F. X. Yu, A. T. Suresh, K. Choromanski, D. Holtmann-Rice and S. Kumar, "Orthogonal
       random features", NeurIPS (2016).
    .. [3] J. Yang, V. Sindhwani, H. Avron and M. Mahoney, "Quasi-Monte Carlo feature maps for
       shift-invariant kernels", ICML (2014).
    .. [4] F. Liu, X. Huang, Y. Chen and J. A. K. Suykens, "Random features for kernel
       approximation: a survey on algorithms, theory, and beyond", IEEE TPAMI (2021).
    .. [5] D. J. Sutherland and J. Schneider, "On the error of random Fourier features", UAI
       (2015).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics.pairwise import rbf_kernel
    >>> from skspectral.kernel_approximation import RandomFourierFeatures
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> rff = RandomFourierFeatures(n_components=4096, gamma=0.05, sampling="orthogonal",
    ...                             features="cossin", random_state=0)
    >>> Z = rff.fit_transform(X)
    >>> Z.shape
    (200, 4096)
    >>> err = np.abs(Z @ Z.T - rbf_kernel(X, gamma=0.05)).mean()
    >>> bool(err < 0.02)
    True
    >>> rff.transform(X.astype(np.float32)).dtype
    dtype('float32')
    """

    _parameter_constraints: dict = {
        **_BaseRandomFeatures._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "features": [StrOptions({"cos", "cossin"})],
    }

    def __init__(
        self,
        n_components=100,
        *,
        kernel="rbf",
        gamma=1.0,
        nu=1.5,
        length_scale=1.0,
        alpha=1.0,
        sampling="iid",
        features="cos",
        random_state=None,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.kernel = kernel
        self.gamma = gamma
        self.nu = nu
        self.length_scale = length_scale
        self.alpha = alpha
        self.sampling = sampling
        self.features = features
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Draw the frequencies (and phases) for data shaped like ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; only its number of features (and variance, for ``gamma="scale"``)
            is used.
        y : None
            Ignored.

        Returns
        -------
        self : RandomFourierFeatures
        """
        self._validate_params()
        self._reset()
        X = _fit_input(self, X)
        D = self.n_components
        if self.features == "cossin" and D % 2:
            raise ValueError(
                f"features='cossin' makes pairs (cos, sin): n_components must be even, got {D}"
            )
        m = D // 2 if self.features == "cossin" else D
        self._fit_map(X, m, with_offset=self.features == "cos")
        self._n_features_out = D
        return self

    def transform(self, X):
        """Map ``X`` to the random Fourier features.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input; float32 gives float32 output.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
        """
        xp, is_api = get_namespace(X)
        if is_api:
            return self._transform_xp(X, xp)
        X = self._validated(X)
        D = self.n_components
        mode = 2 if self.features == "cossin" else 1
        return self._map(X, mode, math.sqrt(2.0 / D), D)

    def _transform_xp(self, X, xp):
        """The transform on an Array API namespace (the arrays stay on their device)."""
        check_is_fitted(self)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1] if X.ndim == 2 else X.shape} features, but "
                f"{type(self).__name__} is expecting {self.n_features_in_} features as input"
            )
        if X.dtype not in (xp.float32, xp.float64):
            X = xp.astype(X, xp.float64)
        device = getattr(X, "device", None)
        if not bool(xp.all(xp.isfinite(X))):
            raise ValueError("Input X contains NaN or infinity.")
        D = self.n_components
        scale = math.sqrt(2.0 / D)
        if self.sampling == "structured":
            W = self._structured_weights()
        else:
            W = self.random_weights_
        np_dtype = np.float32 if X.dtype == xp.float32 else np.float64
        W = xp.asarray(W.astype(np_dtype), device=device)
        n = X.shape[0]
        step = max(1, (1 << 20) // D)
        parts = []
        for start in range(0, n, step):
            T = X[start : min(n, start + step), :] @ W
            if self.features == "cossin":
                parts.append(xp.concat([xp.cos(T), xp.sin(T)], axis=1) * scale)
            else:
                b = xp.asarray(self.random_offset_.astype(np_dtype), device=device)
                parts.append(xp.cos(T + b) * scale)
        return xp.concat(parts, axis=0) if len(parts) > 1 else parts[0]

    def _structured_weights(self):
        """The dense ``d x m`` frequency matrix of the structured map (the map of the basis)."""
        d = self.n_features_in_
        dtype = np.float64
        return self._map(np.eye(d, dtype=dtype), 0, 1.0, self.n_frequencies_)

    def projection(self, X):
        """The bare projection ``X @ W`` (``n_samples x n_frequencies_``), for analysis."""
        X = self._validated(X)
        return self._map(X, 0, 1.0, self.n_frequencies_)


def _native(X):
    """``X`` with its dtype in native byte order (a big-endian float32 array stays float32)."""
    if isinstance(X, np.ndarray) and not X.dtype.isnative:
        return X.astype(X.dtype.newbyteorder("="))
    return X


def _fit_input(est, X):
    """Validate the training input (an Array API input is brought to NumPy: fitting only draws
    random numbers)."""
    if not isinstance(X, np.ndarray) and not scipy.sparse.issparse(X):
        xp, is_api = get_namespace(X)
        if is_api:
            X = to_numpy(X)
    return validate_data(est, _native(X), accept_sparse="csr", dtype=FLOAT_DTYPES)
