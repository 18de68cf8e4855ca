import os
import subprocess
import sys

import numpy as np
import pytest
import sklearn

from skspectral._backend import (
    complex_dtype,
    effective_n_jobs,
    float_dtype,
    get_namespace,
    numba_threads,
    to_numpy,
)


def test_float_dtype_policy():
    assert float_dtype(np.float32) is np.float32
    for d in (np.float64, np.float16, np.int32, np.int64, bool):
        assert float_dtype(d) is np.float64
    assert complex_dtype(np.float32) is np.complex64
    assert complex_dtype(np.float64) is np.complex128


def test_effective_n_jobs_follows_joblib():
    n = os.cpu_count()
    assert effective_n_jobs(None) == 1
    assert effective_n_jobs(3) == 3
    assert effective_n_jobs(-1) == n
    assert effective_n_jobs(-2) == max(1, n - 1)
    with pytest.raises(ValueError, match="n_jobs == 0"):
        effective_n_jobs(0)


def test_numba_threads_sets_and_restores():
    import numba

    before = numba.get_num_threads()
    with numba_threads(1) as n:
        assert n == 1
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with numba_threads(10_000) as n:  # clipped to the pool
        assert n == numba.config.NUMBA_NUM_THREADS


def test_namespace_is_numpy_without_dispatch():
    xp, is_api = get_namespace(np.ones(3))
    assert xp is np and not is_api
    with sklearn.config_context(array_api_dispatch=True):
        xp, is_api = get_namespace(np.ones(3))
        assert xp is np and not is_api


def test_namespace_of_array_api_strict_under_dispatch():
    strict = pytest.importorskip("array_api_strict")
    x = strict.asarray([1.0, 2.0])
    with sklearn.config_context(array_api_dispatch=True):
        xp, is_api = get_namespace(x)
    assert is_api
    assert xp.__name__ == strict.__name__ or "array_api_strict" in xp.__name__
    np.testing.assert_array_equal(to_numpy(np.ones(2)), np.ones(2))


def test_import_is_cheap_and_compiles_nothing():
    code = (
        "import sys, time; t = time.perf_counter(); import skspectral; "
        "dt = time.perf_counter() - t; "
        "heavy = [m for m in ('numba', 'sklearn', 'scipy') if m in sys.modules]; "
        "print(dt, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dt, heavy = out.stdout.split(" ", 1)
    assert float(dt) < 0.5
    assert heavy.strip() == "[]"  # numba not even imported, so nothing compiled


def test_n_jobs_follows_joblib_parallel_config_and_refuses_zero():
    import joblib

    from skspectral._backend import check_n_jobs

    with joblib.parallel_config(n_jobs=2):
        assert effective_n_jobs(None) == 2
    assert effective_n_jobs(None) == 1
    with pytest.raises(ValueError, match="n_jobs == 0"):
        check_n_jobs(0)
    assert check_n_jobs(-1) == -1


def test_threaded_kernel_runs_serial_for_one_thread_and_matches_parallel():
    import numba

    from skspectral._backend import threaded_kernel

    @threaded_kernel(cache=False)
    def row_threads(x, out):
        for i in numba.prange(x.shape[0]):
            out[i] = x[i].sum() + 0 * numba.get_thread_id()

    x = np.arange(12.0).reshape(6, 2)
    a, b = np.empty(6), np.empty(6)
    row_threads(1, x, a)
    row_threads(2, x, b)
    np.testing.assert_array_equal(a, x.sum(axis=1))
    np.testing.assert_array_equal(b, x.sum(axis=1))
    # the serial compilation has no parallel loop at all
    assert not row_threads.serial.targetoptions.get("parallel")
    assert row_threads.parallel.targetoptions.get("parallel")
