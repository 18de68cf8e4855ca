"""What both reducers share: validation, the fit / partial_fit / transform skeleton, and the
output stage (normalization for cosine search, float16 / int8 codes with a fitted scale).

A subclass supplies the structure of its map:

* ``_limit(n_features)``: the largest ``n_components`` the map allows, and the reason;
* ``_init_structure(X, n_components, first_batch)``: draw or build the map (signs, rows kept,
  ...) on the first batch;
* ``_update(X)``: learn from a batch (frequency energies); a no-op for maps that learn nothing;
* ``_project(X)``: the float map of a C-contiguous batch, in the dtype of ``X``;
* ``_reconstruct(Y)``: the float map back to the input space (when ``_has_inverse()``).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._backend import FLOAT_DTYPES as _FLOATS
from ..utils import row_chunks


def _inverse_available(estimator) -> bool:
    return estimator._has_inverse()


class _BaseSpectralReducer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared scikit-learn plumbing of the reducers in this package (not public)."""

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "output_dtype": [None, StrOptions({"float16", "int8"})],
        "normalize": ["boolean"],
        "n_jobs": [Integral, None],
    }

    # ---------------------------------------------------------------- hooks (subclasses)
    def _limit(self, n_features: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _init_structure(self, X, n_components):  # pragma: no cover - abstract
        raise NotImplementedError

    def _update(self, X) -> None:
        """Learn from one batch; most maps learn nothing."""

    def _project(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _reconstruct(self, Y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _has_inverse(self) -> bool:
        return True

    # ---------------------------------------------------------------- fitting
    def _resolve_n_components(self, n_features: int) -> int:
        limit, why = self._limit(n_features)
        if self.n_components == "auto":
            k = max(1, n_features // 4)
            return k if limit is None else min(k, limit)
        k = int(self.n_components)
        if limit is not None and k > limit:
            raise ValueError(
                f"n_components={k} is larger than allowed: at most {limit} ({why}) for "
                f"n_features={n_features}"
            )
        return k

    def _validate_first(self, X):
        return validate_data(self, X, dtype=_FLOATS, order="C", reset=True)

    def _first_batch(self, X) -> None:
        n_features = X.shape[1]
        self.n_components_ = self._resolve_n_components(n_features)
        self.n_samples_seen_ = 0
        self._init_structure(X, self.n_components_)

    def _learn(self, X) -> None:
        self._update(X)
        self.n_samples_seen_ += X.shape[0]
        if self.output_dtype == "int8":
            peak = 0.0
            for rows in row_chunks(X.shape[0], max(X.shape[1], self.n_components_)):
                Y = self._finish_float(self._project(X[rows]))
                if Y.size:
                    peak = max(peak, float(np.max(np.abs(Y))))
            self.max_abs_ = max(getattr(self, "max_abs_", 0.0), peak)
            self.quantization_scale_ = self.max_abs_ / 127.0 if self.max_abs_ > 0 else 1.0

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the map on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (float32 is kept as float32).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        for attr in ("max_abs_", "quantization_scale_"):
            if hasattr(self, attr):
                delattr(self, attr)
        X = self._validate_first(X)
        self._first_batch(X)
        self._learn(X)
        return self

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
        X : array-like of shape (n_samples, n_features)
            A batch of training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if not hasattr(self, "n_components_"):
            X = self._validate_first(X)
            self._first_batch(X)
        else:
            X = validate_data(self, X, dtype=_FLOATS, order="C", reset=False)
        self._learn(X)
        return self

    # ---------------------------------------------------------------- transforming
    def _finish_float(self, Y):
        """Normalize rows (in place) when asked; ``Y`` is a float array."""
        if self.normalize and Y.size:
            norms = np.sqrt(np.einsum("ij,ij->i", Y, Y, dtype=np.float64))
            norms[norms == 0] = 1.0
            Y /= norms.astype(Y.dtype)[:, None]
        return Y

    def _encode(self, Y):
        if self.output_dtype == "float16":
            return Y.astype(np.float16)
        if self.output_dtype == "int8":
            Y = np.rint(Y / Y.dtype.type(self.quantization_scale_))
            np.clip(Y, -127, 127, out=Y)
            return Y.astype(np.int8)
        return Y

    def transform(self, X):
        """Reduce ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reduce; must have the width seen in :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, `n_components_`)
            The reduced data: the dtype of ``X`` (float32 or float64) unless ``output_dtype``
            asks for float16 or int8 codes.
        """
        check_is_fitted(self)
        late = self._nonfinite_reaches_every_output()
        X = validate_data(
            self, X, dtype=_FLOATS, order="C", reset=False, ensure_all_finite=not late
        )
        if self.output_dtype is None:
            return self._finish_float(self._checked(self._project(X), late))
        out = np.empty((X.shape[0], self.n_components_), dtype=self._code_dtype())
        for rows in row_chunks(X.shape[0], max(X.shape[1], self.n_components_)):
            out[rows] = self._encode(
                self._finish_float(self._checked(self._project(X[rows]), late))
            )
        return out

    def _nonfinite_reaches_every_output(self) -> bool:
        """True when every output coordinate mixes every input coordinate, so a NaN or an
        infinity in a row always shows in its output: the finiteness check can then run on the
        (much smaller) output instead of a separate pass over the input."""
        return False

    @staticmethod
    def _checked(Y, late):
        if late and not np.isfinite(Y).all():
            raise ValueError(
                "Input X contains NaN or infinity (or values so large that the transform "
                "overflows); remove or impute them first."
            )
        return Y

    def _code_dtype(self):
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
        X = check_array(X, dtype=None, order="C", input_name="X")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"inverse_transform needs numeric input, got dtype {X.dtype}")
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} features, but inverse_transform expects "
                f"n_components_={self.n_components_} columns"
            )
        if self.output_dtype == "int8":
            Y = X.astype(np.float32) * np.float32(self.quantization_scale_)
        elif X.dtype in (np.float32, np.float16, np.int8):
            Y = X.astype(np.float32, copy=False)
        else:
            Y = X.astype(np.float64, copy=False)
        return self._reconstruct(np.ascontiguousarray(Y))

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
        tags.non_deterministic = False
        return tags
