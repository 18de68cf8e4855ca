"""Array backend, dtype policy and thread control: decided here, once, for every estimator.

* **Namespace.** Estimators compute with NumPy by default. Those whose tags say
  ``array_api_support`` follow scikit-learn's Array API dispatch: when it is on
  (``sklearn.config_context(array_api_dispatch=True)``) and the input is a CuPy (or another
  Array API) array, :func:`get_namespace` returns that array's namespace so the computation stays
  on its device, and outputs are of the input's kind.
* **Dtypes.** float32 and float64 are preserved; everything else (ints, bools, float16) is
  computed in float64, as scikit-learn does.
* **Threads.** ``n_jobs`` / ``workers`` follow joblib's meaning (``None`` is 1, or what an
  enclosing ``joblib.parallel_config(n_jobs=...)`` says; ``-1`` all cores, ``-2`` all but one);
  :func:`numba_threads` applies it to numba's thread pool for the duration of a call, and
  :func:`threaded_kernel` compiles a numba kernel twice (on the calling thread, and with its
  ``prange`` loops in parallel) so that one thread asked for never enters numba's thread pool.
  Parallel launches are serialized by one process-wide lock while numba's threading layer is
  one that is not thread-safe (``workqueue``, numba's fallback where neither OpenMP nor TBB is
  present), so concurrent calls from several Python threads never abort the process.
"""

from __future__ import annotations

import contextlib
import threading
import types

import numpy as np

# The floating dtypes estimators compute in (first is the default), for ``validate_data(dtype=)``.
FLOAT_DTYPES = [np.float64, np.float32]


def native_byte_order(X):
    """``X`` in native byte order when it is a NumPy array stored the other way round (data
    read from a big-endian file), so that its precision survives ``validate_data(dtype=...)``,
    which would otherwise turn a big-endian float32 into float64. Anything else as it is."""
    if isinstance(X, np.ndarray) and not X.dtype.isnative:
        return X.astype(X.dtype.newbyteorder("="))
    return X


def float_dtypes(xp=np) -> list:
    """:data:`FLOAT_DTYPES` in namespace ``xp`` (what ``validate_data(dtype=...)`` takes for
    arrays of that namespace under Array API dispatch)."""
    if xp is np:
        return FLOAT_DTYPES
    return [xp.float64, xp.float32]


def device_of(a):
    """The device of array ``a`` (``"cpu"`` for NumPy arrays)."""
    if isinstance(a, np.ndarray):
        return "cpu"
    try:
        import array_api_compat
    except ImportError:
        from sklearn.externals import array_api_compat
    return array_api_compat.device(a)


def check_same_namespace(X, estimator, *, attribute: str, method: str) -> None:
    """Raise a ValueError when ``X`` is not of the namespace and device that ``estimator`` was
    fitted on (judged by its fitted array ``attribute``), under Array API dispatch.

    A model fitted on a GPU array transforms GPU arrays; mixing namespaces is refused with a
    message that says what to convert, never silently copied.
    """
    import sklearn

    if not sklearn.get_config().get("array_api_dispatch", False):
        return
    fitted = getattr(estimator, attribute)
    fx, x = array_namespace(fitted), array_namespace(X)
    if fx is not x or device_of(fitted) != device_of(X):
        name = type(estimator).__name__
        raise ValueError(
            f"Inputs passed to {name}.{method}() must use the same namespace and the same "
            f"device as those passed to fit(): fitted on {fx.__name__} "
            f"(device {device_of(fitted)}), got {x.__name__} (device {device_of(X)}); convert "
            "the input, or refit"
        )


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
    """Return ``a`` as a NumPy array (copying from the device for CuPy and other Array API
    arrays that live off the host)."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()
    try:
        return np.asarray(a)
    except (RuntimeError, TypeError, ValueError):
        # another device: bring it to the namespace's default (host) device first
        xp = array_namespace(a)
        host = xp.__array_namespace_info__().default_device()
        return np.asarray(xp.asarray(a, device=host, copy=True))


def float_dtype(dtype) -> type:
    """The floating dtype an estimator computes in for input of ``dtype``.

    float32 stays float32 (in either byte order); float64 and every other dtype (integers,
    booleans, float16) give float64. The result is always in native byte order.
    """
    d = np.dtype(dtype)
    return np.float32 if d.kind == "f" and d.itemsize == 4 else np.float64


def complex_dtype(dtype) -> type:
    """The complex dtype matching the precision of ``dtype`` (complex64 for float32 and
    complex64, in either byte order; complex128 otherwise)."""
    d = np.dtype(dtype)
    single = (d.kind == "f" and d.itemsize == 4) or (d.kind == "c" and d.itemsize == 8)
    return np.complex64 if single else np.complex128


def effective_n_jobs(n_jobs) -> int:
    """Number of threads for ``n_jobs`` with joblib's meaning.

    ``None`` means 1 unless an enclosing :func:`joblib.parallel_config` sets ``n_jobs``; ``-1``
    all cores, ``-2`` all but one; ``0`` is an error, as in joblib.
    """
    import joblib

    if n_jobs is not None and int(n_jobs) == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive number or -1")
    return max(1, int(joblib.effective_n_jobs(n_jobs)))


def check_n_jobs(n_jobs):
    """Validate an estimator's ``n_jobs`` at fit time (so that ``n_jobs=0`` fails in ``fit``,
    not later in ``transform``); returns it unchanged."""
    effective_n_jobs(n_jobs)
    return n_jobs


class numba_threads:
    """Run numba's parallel kernels with the thread count ``n_jobs`` asks for.

    A context manager; the count is clipped to the size of numba's pool (``NUMBA_NUM_THREADS``)
    and the previous count is restored on exit. ``with numba_threads(n_jobs) as n:`` gives the
    count in use. numba's thread count is a per-thread setting, so concurrent contexts in
    several Python threads do not interfere.
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


# One lock for every parallel launch while the threading layer is not known to be thread-safe.
_LAUNCH_LOCK = threading.RLock()
_SAFE_LAYERS = ("omp", "tbb")
_layer_is_safe = False


def _launch_lock_needed() -> bool:
    """True until numba's threading layer is known to be thread-safe (OpenMP or TBB)."""
    global _layer_is_safe
    if _layer_is_safe:
        return False
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel launched yet: the layer is not chosen
        return True
    _layer_is_safe = layer in _SAFE_LAYERS
    return not _layer_is_safe


class parallel_launch:
    """Context for launching numba parallel kernels with ``n_jobs`` threads, safely.

    Sets numba's thread count (as :class:`numba_threads`) and, while the threading layer is
    not thread-safe, holds the process-wide launch lock, so that concurrent launches from
    several Python threads run one after the other instead of aborting the process.
    """

    __slots__ = ("_lock", "_threads")

    def __init__(self, n_jobs):
        self._threads = numba_threads(n_jobs)
        self._lock = None

    def __enter__(self) -> int:
        if _launch_lock_needed():
            self._lock = _LAUNCH_LOCK
            self._lock.acquire()
        try:
            return self._threads.__enter__()
        except BaseException:
            self._release()
            raise

    def __exit__(self, *exc) -> None:
        try:
            self._threads.__exit__(*exc)
        finally:
            self._release()

    def _release(self):
        if self._lock is not None:
            self._lock.release()
            self._lock = None


class ThreadedKernel:
    """A numba kernel compiled twice: ``serial`` (its ``prange`` loops run as ``range`` on the
    calling thread) and ``parallel`` (``parallel=True``), both compiled lazily on first use.

    Call it as ``kernel(n_jobs, *args)``: one thread asked for runs ``serial`` and never enters
    numba's thread pool; more run ``parallel`` inside :class:`parallel_launch`. Build it with
    the :func:`threaded_kernel` decorator.
    """

    def __init__(self, py_func, options):
        from numba import njit

        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__doc__ = py_func.__doc__
        self.__module__ = py_func.__module__
        self.serial = njit(**options)(py_func)
        # a second function object with its own qualified name, so numba's on-disk cache keeps
        # the two compilations apart
        twin = types.FunctionType(
            py_func.__code__,
            py_func.__globals__,
            py_func.__name__,
            py_func.__defaults__,
            py_func.__closure__,
        )
        twin.__qualname__ = py_func.__qualname__ + "_parallel"
        twin.__module__ = py_func.__module__
        twin.__doc__ = py_func.__doc__
        self.parallel = njit(parallel=True, **options)(twin)

    def __call__(self, n_jobs, *args):
        if effective_n_jobs(n_jobs) <= 1:
            return self.serial(*args)
        with parallel_launch(n_jobs):
            return self.parallel(*args)


def threaded_kernel(**options):
    """Decorator: compile a ``prange`` kernel as a :class:`ThreadedKernel`.

    ``options`` go to :func:`numba.njit` (``cache=True, nogil=True`` by default; never
    ``parallel``). The kernel is then called as ``kernel(n_jobs, *args)``.

    Examples
    --------
    >>> import numpy as np
    >>> from numba import prange
    >>> from skspectral._backend import threaded_kernel
    >>> @threaded_kernel(cache=False)  # a doctest has no file to cache in
    ... def row_sums(x, out):
    ...     for i in prange(x.shape[0]):
    ...         out[i] = x[i].sum()
    >>> x = np.arange(6.0).reshape(3, 2); out = np.empty(3)
    >>> row_sums(1, x, out); out
    array([1., 5., 9.])
    >>> out[:] = 0; row_sums(2, x, out); out
    array([1., 5., 9.])
    """
    if "parallel" in options:
        raise TypeError("threaded_kernel compiles both variants; do not pass parallel=")
    options = {"cache": True, "nogil": True, **options}

    def wrap(py_func):
        return ThreadedKernel(py_func, options)

    return wrap


_BLAS_LOCK = threading.Lock()
_blas_state = {"depth": 0, "limits": None}


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS on one thread while our own threads (or numba's) do the parallel work: OpenBLAS's
    threads spin after each call and would take the cores from them. Nested and concurrent uses
    share one process-wide limit; the last to leave restores the original setting."""
    from threadpoolctl import threadpool_limits

    with _BLAS_LOCK:
        if _blas_state["depth"] == 0:
            _blas_state["limits"] = threadpool_limits(1, user_api="blas")
        _blas_state["depth"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_state["depth"] -= 1
            if _blas_state["depth"] == 0:
                _blas_state["limits"].restore_original_limits()
                _blas_state["limits"] = None
