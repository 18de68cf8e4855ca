"""What both reducers share: validation, the fit / partial_fit / transform skeleton, and the
output stage (normalization for cosine search, float16 / int8 codes with a fitted scale).

A subclass supplies the structure of its map:

* ``_limit(n_features)``: ``(largest n_components the map allows or None, the reason)``;
* ``_auto_components(n_samples, n_features)``: what ``n_components="auto"`` means, for the
  maps that take it;
* ``_init_structure(X, n_components)``: draw or build the map (signs, rows kept, ...) on the
  first batch;
* ``_update(X)``: learn from a batch (frequency energies); a no-op for maps that learn nothing;
* ``_project(X)`` / ``_project_xp(X, xp)``: the float map of a dense batch, in the dtype of
  ``X`` (NumPy, C-contiguous; or an array of the Array API namespace ``xp``);
* ``_reconstruct(Y)`` / ``_reconstruct_xp(Y, xp)``: the float map back to the input space
  (when ``_has_inverse()``).

NumPy input may also be sparse (CSR): it is densified one chunk of rows at a time, so memory
stays bounded by :func:`skspectral.utils.row_chunks`.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
import scipy.sparse
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._backend import (
    check_n_jobs,
    check_same_namespace,
    device_of,
    float_dtypes,
    get_namespace,
    native_byte_order,
)
from ..utils import reset_fitted_state, row_chunks

_FLOAT16_MAX = float(np.finfo(np.float16).max)


def _inverse_available(estimator) -> bool:
    return estimator._has_inverse()


class _BaseSpectralReducer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared scikit-learn plumbing of the reducers in this package (not public)."""

    # a fitted array whose namespace and device tell where the model lives
    _reference_attribute = "n_components_"

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "output_dtype": [None, StrOptions({"float16", "int8"})],
        "normalize": ["boolean"],
        "n_jobs": [Integral, None],
    }

    # ---------------------------------------------------------------- hooks (subclasses)
    def _limit(self, n_features: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _auto_components(self, n_samples: int, n_features: int) -> int:  # pragma: no cover
        raise NotImplementedError

    def _init_structure(self, X, n_components):  # pragma: no cover - abstract
        raise NotImplementedError

    def _update(self, X) -> None:
        """Learn from one batch; most maps learn nothing."""

    def _project(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _project_xp(self, X, xp):  # pragma: no cover - abstract
        raise NotImplementedError

    def _reconstruct(self, Y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _reconstruct_xp(self, Y, xp):  # pragma: no cover - abstract
        raise NotImplementedError

    def _has_inverse(self) -> bool:
        return True

    def _nonfinite_reaches_every_output(self) -> bool:
        """True when every output coordinate mixes every input coordinate, so a NaN or an
        infinity in a row always shows in its output: the finiteness check can then run on the
        (much smaller) output instead of a separate pass over the input."""
        return False

    # ---------------------------------------------------------------- fitting
    def _resolve_n_components(self, n_samples: int, n_features: int) -> int:
        limit, why = self._limit(n_features)
        if isinstance(self.n_components, str):  # "auto": the subclass's meaning
            k = self._auto_components(n_samples, n_features)
        elif isinstance(self.n_components, Integral):
            k = int(self.n_components)
        else:  # a fraction of the input dimension
            k = max(1, math.ceil(float(self.n_components) * n_features - 1e-9))
            return k if limit is None else min(k, limit)
        if limit is not None and k > limit:
            raise ValueError(
                f"n_components={k} is larger than allowed: at most {limit} ({why}) for "
                f"n_features={n_features}; a fraction such as n_components=0.25 adapts to the "
                "input dimension"
            )
        return k

    def _validate(self, X, *, reset: bool, late: bool = False):
        xp, is_xp = get_namespace(X)
        return validate_data(
            self,
            native_byte_order(X),
            accept_sparse=False if is_xp else ["csr"],
            dtype=float_dtypes(xp),
            order="C",
            reset=reset,
            ensure_all_finite=not late,
        ), xp

    def _first_batch(self, X) -> None:
        self.n_components_ = self._resolve_n_components(X.shape[0], X.shape[1])
        self.n_samples_seen_ = 0
        self._init_structure(X, self.n_components_)

    def _learn(self, X, xp) -> None:
        self._update(X)
        self.n_samples_seen_ += X.shape[0]
        if self.output_dtype == "int8":
            peak = 0.0
            for Y in self._float_chunks(X, xp, late=False):
                if Y.shape[0]:
                    peak = max(peak, float(xp.max(xp.abs(Y))))
            self.max_abs_ = max(getattr(self, "max_abs_", 0.0), peak)
            self.quantization_scale_ = self.max_abs_ / 127.0 if self.max_abs_ > 0 else 1.0

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the map on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 is kept as float32). Sparse input is densified one chunk
            of rows at a time.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        reset_fitted_state(self)
        check_n_jobs(self.n_jobs)
        X, xp = self._validate(X, reset=True)
        self._first_batch(X)
        self._learn(X, xp)
        self._publish(X, xp)
        return self

    def _publish(self, X, xp) -> None:
        """Put the fitted arrays in the namespace and on the device of the training data, as
        scikit-learn's Array API convention asks (the maps read them back through
        :func:`skspectral._backend.to_numpy`, a no-op for NumPy)."""
        if xp is np:
            return
        dev = device_of(X)
        for name, value in list(vars(self).items()):
            if name.endswith("_") and isinstance(value, np.ndarray):
                setattr(self, name, xp.asarray(value, device=dev))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Update the fitted state with one more batch of samples.

        The first call fits; later calls must have the same number of features. What is
        learned from the batches (frequency energies for ``select="energy"``, the int8 scale
        for ``output_dtype="int8"``) is a running statistic, so fitting batch by batch gives
        the state a single :meth:`fit` on all batches would, up to the int8 scale under a
        changing frequency selection (see the class notes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The updated estimator.
        """
        first = not hasattr(self, "n_components_")
        if first:
            check_n_jobs(self.n_jobs)
        X, xp = self._validate(X, reset=first)
        if first:
            self._first_batch(X)
        self._learn(X, xp)
        self._publish(X, xp)
        return self

    # ---------------------------------------------------------------- transforming
    def _float_chunks(self, X, xp, late: bool):
        """The float map of ``X``, checked finite, normalized when asked, chunk by chunk."""
        if xp is not np:
            yield self._finish_float(self._checked(self._project_xp(X, xp), xp, late), xp)
            return
        width = max(X.shape[1], self.n_components_)
        if not scipy.sparse.issparse(X):
            if self.output_dtype is None:  # one call: the map chunks internally if it needs to
                yield self._finish_float(self._checked(self._project(X), np, late), np)
                return
            for rows in row_chunks(X.shape[0], width):
                yield self._finish_float(self._checked(self._project(X[rows]), np, late), np)
            return
        for rows in row_chunks(X.shape[0], width):
            dense = np.ascontiguousarray(X[rows].toarray())
            yield self._finish_float(self._checked(self._project(dense), np, late), np)

    def _finish_float(self, Y, xp):
        """Normalize rows (in place for NumPy) when asked; ``Y`` is a float array."""
        if not self.normalize or Y.shape[0] == 0:
            return Y
        if xp is np:
            norms = np.sqrt(np.einsum("ij,ij->i", Y, Y, dtype=np.float64))
            norms[norms == 0] = 1.0
            Y /= norms.astype(Y.dtype)[:, None]
            return Y
        norms = xp.linalg.vector_norm(Y, axis=1, keepdims=True)
        return Y / xp.where(norms == 0, xp.ones_like(norms), norms)

    @staticmethod
    def _checked(Y, xp, late):
        """``Y``, or a ValueError when it is not finite: the input held NaN or infinity (only
        possible when its check was left to the output, ``late``) or was so large that the
        transform overflowed."""
        if not bool(xp.all(xp.isfinite(Y))):
            if late:
                raise ValueError(
                    "Input X contains NaN or infinity, or values so large that the transform "
                    "overflows; remove or impute them, or scale X down."
                )
            raise ValueError(
                "The transform of X overflows the floating-point range (X holds values too "
                "large in magnitude for this map in its dtype); scale X down."
            )
        return Y

    def _encode(self, Y, xp):
        if self.output_dtype == "float16":
            if Y.shape[0] and float(xp.max(xp.abs(Y))) > _FLOAT16_MAX:
                raise ValueError(
                    f"the outputs exceed the float16 range (largest magnitude {_FLOAT16_MAX}); "
                    "use normalize=True, output_dtype='int8' or output_dtype=None, or scale X"
                )
            if xp is np:
                return Y.astype(np.float16)
            if not hasattr(xp, "float16"):
                raise ValueError(f"output_dtype='float16' needs a float16 dtype in {xp.__name__}")
            return xp.astype(Y, xp.float16)
        if self.output_dtype == "int8":
            scale = self.quantization_scale_
            Y = xp.round(Y / scale) if xp is not np else np.rint(Y / Y.dtype.type(scale))
            Y = xp.clip(Y, -127, 127)
            return xp.astype(Y, xp.int8) if xp is not np else Y.astype(np.int8)
        return Y

    def transform(self, X):
        """Reduce ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reduce; must have the width seen in :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, `n_components_`)
            The reduced data: the dtype of ``X`` (float32 or float64) unless ``output_dtype``
            asks for float16 or int8 codes. An array of the input's namespace under Array API
            dispatch.

        Raises
        ------
        ValueError
            When ``X`` holds NaN or infinity, or values so large that the map overflows.
        """
        check_is_fitted(self)
        check_same_namespace(X, self, attribute=self._reference_attribute, method="transform")
        late = self._nonfinite_reaches_every_output()
        X, xp = self._validate(X, reset=False, late=late)
        chunks = [self._encode(Y, xp) for Y in self._float_chunks(X, xp, late)]
        if len(chunks) == 1:
            return chunks[0]
        if xp is not np:  # pragma: no cover - one chunk on the Array API path
            return xp.concat(chunks, axis=0)
        if not chunks:
            return np.empty((0, self.n_components_), dtype=self._code_dtype(X.dtype))
        return np.concatenate(chunks, axis=0)

    def _code_dtype(self, dtype):
        if self.output_dtype is None:
            return dtype
        return np.float16 if self.output_dtype == "float16" else np.int8

    @available_if(_inverse_available)
    def inverse_transform(self, X):
        """Map reduced data back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_components_`)
            Output of :meth:`transform` (float16 and int8 codes are decoded first).

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`)
            float32 for float32, float16 or int8 input, float64 otherwise. Normalization
            (``normalize=True``) is not undone: the result then has the direction only.
        """
        check_is_fitted(self)
        check_same_namespace(
            X, self, attribute=self._reference_attribute, method="inverse_transform"
        )
        xp, is_xp = get_namespace(X)
        if is_xp:
            X = check_array(X, dtype=None, input_name="X")
            if X.shape[1] != self.n_components_:
                raise ValueError(self._width_message(X.shape[1]))
            single = X.dtype in (xp.float32, xp.int8, getattr(xp, "float16", xp.float32))
            Y = xp.astype(X, xp.float32 if single else xp.float64)
            if self.output_dtype == "int8":
                Y = Y * self.quantization_scale_
            return self._reconstruct_xp(Y, xp)
        X = check_array(X, dtype=None, order="C", input_name="X")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"inverse_transform needs numeric input, got dtype {X.dtype}")
        if X.shape[1] != self.n_components_:
            raise ValueError(self._width_message(X.shape[1]))
        if self.output_dtype == "int8":
            Y = X.astype(np.float32) * np.float32(self.quantization_scale_)
        elif X.dtype in (np.float32, np.float16, np.int8):
            Y = X.astype(np.float32, copy=False)
        else:
            Y = X.astype(np.float64, copy=False)
        return self._reconstruct(np.ascontiguousarray(Y))

    def _width_message(self, width):
        return (
            f"X has {width} features, but inverse_transform expects "
            f"n_components_={self.n_components_} columns"
        )

    # ---------------------------------------------------------------- metadata
    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = (
            ["float64", "float32"] if self.output_dtype is None else []
        )
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        tags.array_api_support = True
        tags.non_deterministic = False
        return tags
