"""The subsampled randomized Hadamard transform (SRHT) and the fast Johnson-Lindenstrauss
transform (FJLT)."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import scipy.fft
import scipy.sparse
from sklearn.random_projection import johnson_lindenstrauss_min_dim
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from .._backend import device_of, effective_n_jobs, to_numpy
from ..fft import _dct_xp, fwht
from ..utils import row_chunks
from ._base import _BaseSpectralReducer


class SubsampledRandomizedHadamard(_BaseSpectralReducer):
    """Fast random projection: random signs, a fast orthogonal transform, then a few rows.

    Each sample ``x`` (zero-padded to ``p`` coordinates) is mapped to

    * ``projection="subsample"`` (SRHT, [2]_, [3]_):
      ``y = sqrt(p / k) * S H D x``, with ``D`` a diagonal of random signs, ``H`` the
      orthonormal Walsh-Hadamard transform of size ``p`` (the next power of two; computed with
      :func:`skspectral.fft.fwht_row`) or the orthonormal DCT-II (``basis="dct"``, ``p``
      equal to the number of features, no padding), and ``S`` the selection of ``k`` of the
      ``p`` rows, drawn uniformly without replacement;
    * ``projection="sparse"`` (FJLT, [1]_, [4]_): ``y = k**-0.5 * P H D x``, with ``P`` a
      sparse ``k x p`` matrix whose entries are nonzero with probability ``q`` (``density``) and
      then drawn from ``N(0, 1/q)``.

    ``H D`` spreads the energy of any vector evenly over the coordinates, so a few rows (or a
    sparse mix of them) keep its norm: ``E ||y||^2 = ||x||^2`` for every ``x``, and all
    pairwise distances of ``n`` points are kept within ``1 +- eps`` with high probability
    once ``k`` is of order ``eps**-2 log n`` (with an extra ``log n`` factor for the subsampled
    form). The cost is ``O(p log p)`` per sample whatever ``k`` is, against ``O(p k)`` for a
    dense Gaussian projection.

    Parameters
    ----------
    n_components : int, float in (0, 1] or "auto", default=0.25
        Output dimension ``k``. An int is taken as it is: with ``projection="subsample"`` at
        most ``p`` (the padded size for ``"hadamard"``, ``n_features`` for ``"dct"``); the
        sparse projection has no limit. A float is a fraction of ``n_features`` (rounded up,
        and capped at the limit), so the default, a fourfold reduction, fits any input width.
        ``"auto"`` has the meaning it has in :mod:`sklearn.random_projection`: the
        Johnson-Lindenstrauss bound :func:`~sklearn.random_projection.johnson_lindenstrauss_min_dim`
        for the number of samples of the first fit and ``eps``; an error when that exceeds
        ``n_features``.
    basis : {"hadamard", "dct"}, default="hadamard"
        The fast orthogonal transform: Walsh-Hadamard with zero-padding to a power of two
        (numba kernel, rows in parallel), or the DCT-II of :mod:`scipy.fft` (any length).
    projection : {"subsample", "sparse"}, default="subsample"
        Keep ``k`` random rows of the transform (SRHT), or apply the sparse Gaussian matrix of
        the fast JL transform.
    eps : float in (0, 1), default=0.1
        Distortion allowed by the Johnson-Lindenstrauss bound, for ``n_components="auto"``
        only.
    density : float in (0, 1] or "auto", default="auto"
        Probability ``q`` that an entry of the sparse ``P`` is nonzero
        (``projection="sparse"`` only). ``"auto"``: ``min(1, max(4, ln n) / p)`` with ``n`` the
        number of samples of the first fit, about ``ln n`` nonzeros per row, the sparsity that
        the analysis of Fandina, Hogsgaard and Larsen [4]_ shows enough (Ailon and Chazelle
        [1]_ used ``ln(n)**2``).
    output_dtype : {None, "float16", "int8"}, default=None
        ``None`` keeps the dtype of the input (float32 or float64). ``"float16"`` halves the
        storage; ``"int8"`` stores ``round(y / quantization_scale_)`` with one scale fitted on
        the training data (largest absolute output over 127; clipped beyond).
    normalize : bool, default=False
        Scale each output row to unit norm (before the dtype conversion), for cosine search.
    random_state : int, RandomState instance or None, default=None
        Draws the signs and the rows (or ``P``). An int gives the same map on every fit.
    n_jobs : int, default=None
        Threads (numba threads, or ``workers`` of :mod:`scipy.fft` for the DCT), with joblib's
        meaning: ``None`` is one (unless a :func:`joblib.parallel_config` says otherwise),
        ``-1`` all cores. Results do not depend on it.

    Attributes
    ----------
    n_components_ : int
        Output dimension ``k``.
    n_padded_ : int
        Size ``p`` of the orthogonal transform.
    signs_ : ndarray of shape (`n_features_in_`,)
        The random signs (the diagonal of ``D``), as float64.
    selected_rows_ : ndarray of shape (`n_components_`,)
        The rows of the transform that are kept, sorted (``projection="subsample"``).
    projection_ : scipy.sparse.csr_matrix of shape (`n_components_`, `n_padded_`)
        The sparse matrix ``P`` with entries ``N(0, 1/q)`` (``projection="sparse"``).
    density_ : float
        The probability ``q`` used (``projection="sparse"``).
    n_samples_seen_ : int
        Number of samples seen by :meth:`fit` / :meth:`partial_fit`.
    quantization_scale_ : float
        The int8 step (``output_dtype="int8"`` only).
    max_abs_ : float
        Largest absolute output seen in fit (``output_dtype="int8"`` only).
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string feature names.

    Notes
    -----
    Input may be a sparse CSR matrix (densified one chunk of rows at a time), or, under
    scikit-learn's Array API dispatch (``sklearn.config_context(array_api_dispatch=True)``), an
    array of another namespace (CuPy on a GPU): the map then runs with that namespace's
    operations on the array's device (the Walsh-Hadamard transform as whole-array butterflies,
    the DCT through one FFT, the sparse ``P`` as a dense matrix) and returns an array of it.

    :meth:`inverse_transform` is the adjoint of the map, scaled by ``k / p`` for the subsampled
    form: that is the pseudo-inverse (the orthogonal projection onto the kept subspace, and the
    exact inverse when ``k = p``) whenever no padding is needed (``"dct"``, or ``n_features`` a
    power of two). For the sparse form it is the plain adjoint ``A^T``, for which
    ``E[A^T A] = I``.

    See Also
    --------
    FFTEmbeddingReducer : deterministic FFT / DCT truncation, and the magnitude map.
    sklearn.random_projection.GaussianRandomProjection : the dense Gaussian projection.

    References
    ----------
    .. [1] N. Ailon and B. Chazelle, "The fast Johnson-Lindenstrauss transform and approximate
       nearest neighbors", SIAM Journal on Computing 39(1) (2009).
    .. [2] J. A. Tropp, "Improved analysis of the subsampled randomized Hadamard transform",
       Advances in Adaptive Data Analysis 3 (2011).
    .. [3] N. Halko, P.-G. Martinsson and J. A. Tropp, "Finding structure with randomness:
       probabilistic algorithms for constructing approximate matrix decompositions", SIAM
       Review 53(2) (2011) (the subsampled random Fourier transform, SRFT).
    .. [4] O. N. Fandina, M. M. Hogsgaard and K. G. Larsen, "The fast Johnson-Lindenstrauss
       transform is even faster", ICML (2023).

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.random_projection import SubsampledRandomizedHadamard
    >>> X = np.random.default_rng(0).normal(size=(100, 300)).astype(np.float32)
    >>> srht = SubsampledRandomizedHadamard(n_components=64, random_state=0).fit(X)
    >>> Y = srht.transform(X)
    >>> Y.shape, Y.dtype.name, srht.n_padded_
    ((100, 64), 'float32', 512)
    >>> ratio = np.linalg.norm(Y, axis=1) ** 2 / np.linalg.norm(X, axis=1) ** 2
    >>> bool(abs(ratio.mean() - 1) < 0.05)
    True
    """

    _reference_attribute = "signs_"
    _parameter_constraints: dict = {
        **_BaseSpectralReducer._parameter_constraints,
        "n_components": [
            *_BaseSpectralReducer._parameter_constraints["n_components"],
            StrOptions({"auto"}),
        ],
        "eps": [Interval(Real, 0, 1, closed="neither")],
        "basis": [StrOptions({"hadamard", "dct"})],
        "projection": [StrOptions({"subsample", "sparse"})],
        "density": [Interval(Real, 0, 1, closed="right"), StrOptions({"auto"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=0.25,
        *,
        eps=0.1,
        basis="hadamard",
        projection="subsample",
        density="auto",
        output_dtype=None,
        normalize=False,
        random_state=None,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.eps = eps
        self.basis = basis
        self.projection = projection
        self.density = density
        self.output_dtype = output_dtype
        self.normalize = normalize
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ structure
    def _padded(self, n_features):
        if self.basis == "dct":
            return n_features
        return 1 << max(n_features - 1, 0).bit_length()

    def _limit(self, n_features):
        if self.projection == "sparse":
            return None, ""
        p = self._padded(n_features)
        if self.basis == "dct":
            return p, "the rows of the DCT, n_features"
        return p, "the rows of the Hadamard transform, n_features padded to a power of two"

    def _auto_components(self, n_samples, n_features):
        if n_samples < 2:
            raise ValueError(
                "n_components='auto' takes the Johnson-Lindenstrauss bound for the pairwise "
                f"distances of the training samples, which needs at least 2 samples, got "
                f"n_samples={n_samples}; set n_components to an int or a fraction"
            )
        k = int(johnson_lindenstrauss_min_dim(n_samples, eps=self.eps))
        if k > n_features:
            raise ValueError(
                f"n_components='auto' with eps={self.eps} and n_samples={n_samples} gives the "
                f"Johnson-Lindenstrauss dimension {k}, which is larger than the original space "
                f"with n_features={n_features}; set n_components (an int or a fraction) or a "
                "larger eps"
            )
        return k

    def _init_structure(self, X, n_components):
        rng = check_random_state(self.random_state)
        d = X.shape[1]
        p = self._padded(d)
        k = n_components
        self.n_padded_ = p
        self.signs_ = rng.randint(0, 2, size=d).astype(np.float64) * 2.0 - 1.0
        if self.projection == "subsample":
            self.selected_rows_ = np.sort(rng.choice(p, size=k, replace=False)).astype(np.intp)
            return
        if self.density == "auto":
            q = min(1.0, max(4.0, math.log(max(X.shape[0], 2))) / p)
        else:
            q = float(self.density)
        self.density_ = q
        self.projection_ = _bernoulli_gaussian(rng, k, p, q)
        if self.basis == "dct":  # the DCT path multiplies by the transpose: build it once
            self._projection_t_ = (self.projection_.T * (1.0 / math.sqrt(k))).tocsc()

    # ------------------------------------------------------------------ the map
    def _sparse_parts(self, dtype, scale):
        P = self.projection_
        return (
            P.indptr.astype(np.int64),
            P.indices.astype(np.int64),
            (P.data * scale).astype(dtype),
        )

    def _sparse_transposed(self, dtype):
        """``P^T / sqrt(k)`` as CSC in ``dtype`` (built at fit in float64)."""
        Pt = self._projection_t_
        return Pt if Pt.dtype == dtype else Pt.astype(dtype)

    def _nonfinite_reaches_every_output(self) -> bool:
        # each kept Hadamard coefficient is a +-1 combination of all (sign-flipped) inputs, and
        # scipy's DCT-II carries a non-finite input into every coefficient (see
        # FFTEmbeddingReducer); a row of the sparse P may be empty, so that form checks its input
        return self.projection == "subsample"

    def _blocks(self, n):
        return min(n, 4 * effective_n_jobs(self.n_jobs)) if n else 0

    def _project(self, X):
        n, d = X.shape
        k = self.n_components_
        p = self.n_padded_
        dtype = X.dtype.type
        out = np.empty((n, k), dtype=dtype)
        signs = to_numpy(self.signs_).astype(dtype)
        if self.basis == "hadamard":
            from . import _kernels  # numba loads on first use, not at import

            if self.projection == "subsample":
                scale = dtype(1.0 / math.sqrt(k))  # sqrt(p / k) times the 1/sqrt(p) of H
                _kernels.srht_gather(
                    self.n_jobs,
                    X,
                    signs,
                    p,
                    to_numpy(self.selected_rows_),
                    scale,
                    out,
                    self._blocks(n),
                )
            else:
                parts = self._sparse_parts(dtype, 1.0 / math.sqrt(k * p))
                _kernels.srht_sparse(self.n_jobs, X, signs, p, *parts, out, self._blocks(n))
            return out
        workers = effective_n_jobs(self.n_jobs)
        Pt = self._sparse_transposed(dtype) if self.projection == "sparse" else None
        for rows in row_chunks(n, d):
            Z = scipy.fft.dct(
                X[rows] * signs, type=2, norm="ortho", axis=1, workers=workers, overwrite_x=True
            )
            if Pt is None:
                out[rows] = Z[:, to_numpy(self.selected_rows_)] * dtype(math.sqrt(p / k))
            else:
                out[rows] = Z @ Pt
        return out

    def _reconstruct(self, Y):
        n, k = Y.shape
        d = self.n_features_in_
        p = self.n_padded_
        dtype = Y.dtype.type
        out = np.empty((n, d), dtype=dtype)
        signs = to_numpy(self.signs_).astype(dtype)
        if self.basis == "hadamard":
            from . import _kernels  # numba loads on first use, not at import

            if self.projection == "subsample":
                # (k / p) A^T with A = k**-0.5 S H_p D (H_p unnormalized)
                scale = dtype(math.sqrt(k) / p)
                _kernels.srht_gather_adjoint(
                    self.n_jobs,
                    Y,
                    signs,
                    p,
                    to_numpy(self.selected_rows_),
                    scale,
                    out,
                    self._blocks(n),
                )
            else:
                parts = self._sparse_parts(dtype, 1.0 / math.sqrt(k * p))
                _kernels.srht_sparse_adjoint(self.n_jobs, Y, signs, p, *parts, out, self._blocks(n))
            return out
        workers = effective_n_jobs(self.n_jobs)
        Pt = self._sparse_transposed(dtype) if self.projection == "sparse" else None
        for rows in row_chunks(n, d):
            if Pt is None:
                Z = np.zeros((rows.stop - rows.start, d), dtype=dtype)
                Z[:, to_numpy(self.selected_rows_)] = Y[rows] * dtype(math.sqrt(k / p))
            else:
                Z = np.ascontiguousarray((Pt @ Y[rows].T).T)
            out[rows] = scipy.fft.idct(Z, type=2, norm="ortho", axis=1, workers=workers) * signs
        return out

    # ------------------------------------------------------------------ Array API path
    def _dense_on(self, xp, X, matrix):
        return xp.asarray(np.ascontiguousarray(matrix), dtype=X.dtype, device=device_of(X))

    def _selection(self, xp, X, scale):
        """The kept rows as a dense ``p x k`` selection matrix times ``scale`` (or ``P^T``)."""
        k, p = self.n_components_, self.n_padded_
        if self.projection == "subsample":
            E = np.zeros((p, k))
            E[to_numpy(self.selected_rows_), np.arange(k)] = scale
            return self._dense_on(xp, X, E)
        return self._dense_on(xp, X, self.projection_.T.toarray() / math.sqrt(k))

    def _project_xp(self, X, xp):
        n, d = X.shape
        k, p = self.n_components_, self.n_padded_
        Z = X * self._dense_on(xp, X, to_numpy(self.signs_))
        if self.basis == "hadamard":
            if p > d:
                Z = xp.concat([Z, xp.zeros((n, p - d), dtype=X.dtype, device=device_of(X))], axis=1)
            Z = fwht(Z, axis=1)
        else:
            Z = _dct_xp(Z)
        return Z @ self._selection(xp, X, math.sqrt(p / k))

    def _reconstruct_xp(self, Y, xp):
        k, p = self.n_components_, self.n_padded_
        d = self.n_features_in_
        Z = Y @ xp.matrix_transpose(self._selection(xp, Y, math.sqrt(k / p)))
        Z = fwht(Z, axis=1) if self.basis == "hadamard" else _dct_xp(Z, inverse=True)
        return Z[:, :d] * self._dense_on(xp, Y, to_numpy(self.signs_))


def _bernoulli_gaussian(rng, k, p, q):
    """A ``k x p`` CSR matrix whose entries are nonzero independently with probability ``q``,
    then ``N(0, 1/q)``: the positions of the nonzeros in row-major order are drawn as the
    cumulative sums of geometric gaps, O(number of nonzeros) work, no loop over rows."""
    total = k * p
    if q >= 1.0:
        positions = np.arange(total, dtype=np.int64)
    else:
        expected = total * q
        chunk = int(expected + 6 * math.sqrt(expected + 1) + 16)
        gaps = [rng.geometric(q, size=chunk)]
        while int(sum(int(g.sum()) for g in gaps)) < total:
            gaps.append(rng.geometric(q, size=chunk))
        positions = np.cumsum(np.concatenate(gaps)).astype(np.int64) - 1
        positions = positions[positions < total]
    rows, cols = np.divmod(positions, p)
    indptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=k), out=indptr[1:])
    values = rng.standard_normal(positions.shape[0]) / math.sqrt(q)
    return scipy.sparse.csr_matrix((values, cols.astype(np.int64), indptr), shape=(k, p))
