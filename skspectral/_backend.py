"""Array backend, dtype policy and thread control: decided here, once, for every estimator.

* **Namespace.** Estimators compute with NumPy by default. When scikit-learn's Array API dispatch
  is on (``sklearn.config_context(array_api_dispatch=True)``) and the input is a CuPy (or another
  Array API) array, :func:`get_namespace` returns that array's namespace so the computation stays
  on its device, and outputs are of the input's kind.
* **Dtypes.** float32 and float64 are preserved; everything else (ints, bools, float16) is
  computed in float64, as scikit-learn does.
* **Threads.** ``n_jobs`` / ``workers`` follow joblib's meaning (``None`` is 1, ``-1`` all
  cores, ``-2`` all but one); :func:`numba_threads` applies it to numba's thread pool for the
  duration of a call.
"""

from __future__ import annotations

import os

import numpy as np

FLOAT_DTYPES = (np.float64, np.float32)


def get_namespace(*arrays):
    """Return ``(xp, is_array_api)`` for ``arrays``.

    NumPy (``is_array_api=False``) unless scikit-learn's ``array_api_dispatch`` is enabled and the
    arrays are not NumPy arrays, in which case the common Array API namespace of the arrays is
    returned (via ``array_api_compat``, which scikit-learn's Array API support uses). As for
    scikit-learn, dispatch needs ``SCIPY_ARRAY_API=1`` in the environment before SciPy is
    imported.
    """
    import sklearn

    arrays = [a for a in arrays if a is not None and not isinstance(a, (int, float, str))]
    if not sklearn.get_config().get("array_api_dispatch", False) or all(
        isinstance(a, np.ndarray) for a in arrays
    ):
        return np, False
    return array_namespace(*arrays), True


def array_namespace(*arrays):
    """The Array API namespace of ``arrays`` (NumPy's compatible wrapper for NumPy arrays)."""
    try:
        import array_api_compat
    except ImportError:
        # scikit-learn ships a copy; it is what its own dispatch uses
        from sklearn.externals import array_api_compat
    return array_api_compat.array_namespace(*arrays)


def to_numpy(a):
    """Return ``a`` as a NumPy array (copying from the device for CuPy arrays)."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()
    return np.asarray(a)


def float_dtype(dtype) -> type:
    """The floating dtype an estimator computes in for input of ``dtype``.

    float32 stays float32; float64 and every other dtype (integers, booleans, float16) give
    float64.
    """
    return np.float32 if np.dtype(dtype) == np.float32 else np.float64


def complex_dtype(dtype) -> type:
    """The complex dtype matching the precision of ``dtype`` (complex64 for float32)."""
    d = np.dtype(dtype)
    if d in (np.float32, np.complex64):
        return np.complex64
    return np.complex128


def effective_n_jobs(n_jobs) -> int:
    """Number of threads for ``n_jobs`` with joblib's meaning (``None`` -> 1, ``-1`` -> all)."""
    n_cpus = os.cpu_count() or 1
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive number or -1")
    if n_jobs < 0:
        return max(1, n_cpus + 1 + n_jobs)
    return n_jobs


class numba_threads:
    """Run numba's parallel kernels with the thread count ``n_jobs`` asks for.

    A context manager; the count is clipped to the size of numba's pool (``NUMBA_NUM_THREADS``)
    and the previous count is restored on exit. ``with numba_threads(n_jobs) as n:`` gives the
    count in use.
    """

    __slots__ = ("_n", "_previous")

    def __init__(self, n_jobs):
        import numba

        self._n = min(effective_n_jobs(n_jobs), numba.config.NUMBA_NUM_THREADS)
        self._previous = None

    def __enter__(self) -> int:
        import numba

        self._previous = numba.get_num_threads()
        if self._previous != self._n:
            numba.set_num_threads(self._n)
        return self._n

    def __exit__(self, *exc) -> None:
        import numba

        if self._previous != self._n:
            numba.set_num_threads(self._previous)
