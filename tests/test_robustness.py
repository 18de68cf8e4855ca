"""The robustness harness: applied by discovery to every public estimator, present and future.

What it asks of each estimator, whatever its method:

* **Fuzzing** (hypothesis): generated inputs of every awkward kind (magnitudes from 1e-308 to
  1e308, subnormals, duplicates, constant columns, NaN and inf patterns, 1 to 3 rows, very wide
  rows, float32 / float64 / integers in either byte order, Fortran order, non-contiguous views,
  read-only and memory-mapped arrays). Every ``fit`` and ``transform`` / ``predict`` call ends
  in finite output of the right shape and dtype, or in a ``ValueError`` whose message names the
  problem; no input is ever modified; where the tags declare ``allow_nan``, NaN is kept where
  it was and spread nowhere else.
* **Concurrency**: one fitted estimator used from 4 threads at once gives the serial result,
  in this process and in a subprocess under ``NUMBA_THREADING_LAYER=workqueue`` (the layer
  that is not thread-safe).
* **Refit and pickling**: a refit, after other parameters and on other data, holds exactly the
  learned state of a fresh fit; a pickled fitted estimator gives identical output in a fresh
  process; ``n_jobs=0`` is refused at fit.

An estimator that cannot meet one of these says so in a class attribute
``_harness_exceptions = {"property": "the reason"}`` (properties: ``"fuzz"``,
``"concurrency"``, ``"refit"``, ``"pickle"``), which the harness reads and reports as a skip
with that reason: there is no skip list here. The number of generated inputs per estimator is
``SKSPECTRAL_FUZZ_EXAMPLES`` (default 150; the ``slow`` variant runs 20 times more) and is
printed at the end of the run. Half of the generated cases run the default parameters, the
others one string option from the estimator's parameter constraints (every mode and basis).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.utils import get_tags

from skspectral.utils import all_estimators

ROOT = Path(__file__).resolve().parents[1]
CLASSES = [cls for _, cls in all_estimators()]
IDS = [cls.__name__ for cls in CLASSES]
N_EXAMPLES = int(os.environ.get("SKSPECTRAL_FUZZ_EXAMPLES", "150"))

# what a message must mention when the input held NaN or inf and the estimator refuses them
_NONFINITE_WORDS = ("nan", "inf", "finite")


def _exception(cls, prop):
    reason = getattr(cls, "_harness_exceptions", {}).get(prop)
    if reason:
        pytest.skip(f"{cls.__name__} declares it cannot meet '{prop}': {reason}")


def _make(cls, **params):
    est = cls()
    fixed = {"random_state": 0} if "random_state" in est.get_params() else {}
    return est.set_params(**{**fixed, **params})


def _target(est, n_rows, rng):
    if is_classifier(est):
        y = np.arange(n_rows) % 2
        return y
    if is_regressor(est):
        return rng.standard_normal(n_rows)
    return None


def _apply(est, X):
    return est.transform(X) if hasattr(est, "transform") else est.predict(X)


def _n_outputs(est, X):
    if hasattr(est, "get_feature_names_out") and hasattr(est, "transform"):
        return len(est.get_feature_names_out())
    return None


def _option_values(cls):
    """Every (parameter, value) from the string options of the parameter constraints."""
    from sklearn.utils._param_validation import StrOptions

    out = []
    for name, constraints in getattr(cls, "_parameter_constraints", {}).items():
        for c in constraints:
            if isinstance(c, StrOptions):
                out += [(name, v) for v in sorted(c.options) if v != "deprecated"]
    return out


# ------------------------------------------------------------------------------------------
# generated inputs
# ------------------------------------------------------------------------------------------

_KINDS = ["normal", "huge", "tiny", "subnormal", "mixed", "constant", "duplicates", "integers"]
_NONFINITE = ["none", "none", "none", "nan_one", "nan_column", "nan_row", "inf_one", "neg_inf"]
_LAYOUTS = ["C", "F", "strided", "readonly", "memmap"]
_DTYPES = ["<f8", "<f4", ">f8", ">f4", "<i8", "<i4"]


def _values(kind, shape, rng):
    n, d = shape
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "huge":  # finite, up to the float64 limit
        return rng.standard_normal(shape) * 10.0 ** rng.uniform(200, 307.9, size=shape)
    if kind == "tiny":
        return rng.standard_normal(shape) * 10.0 ** -rng.uniform(200, 307, size=shape)
    if kind == "subnormal":
        return rng.integers(-1000, 1000, size=shape) * 5e-324
    if kind == "mixed":  # every magnitude at once
        return rng.standard_normal(shape) * 10.0 ** rng.uniform(-308, 308, size=shape)
    if kind == "constant":
        X = rng.standard_normal(shape)
        X[:, rng.integers(0, d)] = rng.standard_normal()  # one constant column
        if rng.random() < 0.3:
            X[:] = 1.5  # or all of them
        return X
    if kind == "duplicates":
        X = rng.standard_normal((1, d)) if rng.random() < 0.5 else rng.standard_normal((2, d))
        return X[rng.integers(0, X.shape[0], size=n)]
    return rng.integers(-5, 6, size=shape).astype(np.float64)  # integers with many ties


def _nonfinite(pattern, X, rng):
    n, d = X.shape
    if pattern == "nan_one":
        X[rng.integers(0, n), rng.integers(0, d)] = np.nan
    elif pattern == "nan_column":
        X[:, rng.integers(0, d)] = np.nan
    elif pattern == "nan_row":
        X[rng.integers(0, n), :] = np.nan
    elif pattern == "inf_one":
        X[rng.integers(0, n), rng.integers(0, d)] = np.inf
    elif pattern == "neg_inf":
        X[rng.integers(0, n), rng.integers(0, d)] = -np.inf
    return X


def _as_dtype(X, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "i":
        info = np.iinfo(dt)
        with np.errstate(invalid="ignore", over="ignore"):
            Xi = np.nan_to_num(X, nan=0, posinf=info.max, neginf=info.min)
            # the largest float64 below the int64 limit is 2**63 - 1024: clip inside it
            Xi = np.clip(np.rint(Xi), info.min, float(np.nextafter(float(info.max), 0)))
            return Xi.astype(dt)
    with np.errstate(over="ignore"):
        return X.astype(dt)  # float32: huge values become inf, which is part of the test


def _layout(X, layout, tmp_dir, counter=[0]):  # noqa: B006 - a per-process file counter
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "strided":
        big = np.empty((X.shape[0], 2 * X.shape[1]), dtype=X.dtype)
        big[:, ::2] = X
        return big[:, ::2]
    if layout == "readonly":
        X = X.copy()
        X.setflags(write=False)
        return X
    if layout == "memmap":
        counter[0] += 1
        path = Path(tmp_dir) / f"x{os.getpid()}_{counter[0]}.npy"
        m = np.lib.format.open_memmap(path, mode="w+", dtype=X.dtype, shape=X.shape)
        m[:] = X
        m.flush()
        del m
        return np.load(path, mmap_mode="r")
    return np.ascontiguousarray(X)


@st.composite
def _inputs(draw, options=(), n_features=None):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.sampled_from([1, 2, 3]) | st.integers(4, 40))
    if n_features is None:
        wide = draw(st.integers(0, 9)) == 0
        n_features = draw(st.integers(200, 700) if wide else st.integers(1, 12))
    kind = draw(st.sampled_from(_KINDS))
    X = _values(kind, (n, n_features), rng)
    X = _nonfinite(draw(st.sampled_from(_NONFINITE)), X, rng)
    # half of the cases run the defaults, the others one string option of the estimator
    option = draw(st.sampled_from([None, *options])) if draw(st.booleans()) else None
    return {
        "X": _as_dtype(X, draw(st.sampled_from(_DTYPES))),
        "layout": draw(st.sampled_from(_LAYOUTS)),
        "seed": seed,
        "params": {} if option is None else {option[0]: option[1]},
    }


def _check_error(err, X, refit=None):
    """A ValueError must say something; when the input held NaN or inf and the same fit
    succeeds once they are replaced by 1.0, the message must say that they were the problem."""
    msg = str(err)
    assert len(msg) >= 10, f"uninformative ValueError: {msg!r}"
    if X.dtype.kind != "f" or np.isfinite(X).all() or refit is None:
        return
    with np.errstate(invalid="ignore"):
        clean = np.nan_to_num(np.array(X, dtype=np.float64), nan=1.0, posinf=1.0, neginf=1.0)
    try:
        refit(clean.astype(X.dtype.newbyteorder("=")))
    except ValueError:
        return  # the input has another problem, which the message may name instead
    low = msg.lower()
    assert any(w in low for w in _NONFINITE_WORDS) or "overflow" in low, (
        f"a NaN / inf input got an error that does not say so: {msg!r}"
    )


def _check_output(est, X, out, tags):
    out = np.asarray(out)
    assert out.shape[0] == X.shape[0], f"output has {out.shape[0]} rows for {X.shape[0]}"
    width = _n_outputs(est, X)
    if width is not None:
        assert out.ndim == 2 and out.shape[1] == width
    preserves = tags.transformer_tags.preserves_dtype if tags.transformer_tags else []
    if out.dtype.kind == "f":
        if X.dtype.kind == "f" and X.dtype.itemsize == 4 and "float32" in preserves:
            assert out.dtype == np.float32, f"float32 in, {out.dtype} out"
        assert out.dtype.isnative
    finite_in = np.isfinite(X).all() if X.dtype.kind == "f" else True
    if finite_in:
        assert np.isfinite(out).all(), "finite input gave non-finite output without an error"
        return
    assert tags.input_tags.allow_nan, "non-finite input accepted by an estimator without allow_nan"
    nan_in = np.isnan(X)
    if out.shape == X.shape:  # an elementwise map: NaN stays where it was, and only there
        np.testing.assert_array_equal(np.isnan(out), nan_in)
        assert np.isfinite(out[~nan_in]).all() or not np.isfinite(X[~nan_in]).all()
    else:  # rows without NaN stay finite
        clean = ~nan_in.any(axis=1)
        assert np.isfinite(out[clean]).all()


def _run_one(cls, case, tmp_dir):
    est = _make(cls, **case["params"])
    tags = get_tags(est)
    X = _layout(case["X"], case["layout"], tmp_dir)
    before = np.array(X, copy=True)
    rng = np.random.default_rng(case["seed"])
    y = _target(est, X.shape[0], rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est.fit(X, y)
        except ValueError as err:
            _check_error(err, X, refit=lambda Z: clone(est).fit(Z, y))
            np.testing.assert_array_equal(np.asarray(X), before)
            return
        np.testing.assert_array_equal(np.asarray(X), before, err_msg="fit modified its input")
        for X_new in (X, _layout(_values("normal", X.shape, rng), case["layout"], tmp_dir)):
            X_new = X_new if X_new.dtype == X.dtype else X_new.astype(X.dtype)
            snapshot = np.array(X_new, copy=True)
            try:
                out = _apply(est, X_new)
            except ValueError as err:
                _check_error(err, X_new, refit=lambda Z: _apply(est, Z))
                continue
            np.testing.assert_array_equal(np.asarray(X_new), snapshot, err_msg="input modified")
            _check_output(est, X_new, out, tags)


def _fuzz(cls, n_examples, tmp_path, fuzz_counter):
    _exception(cls, "fuzz")

    @settings(
        max_examples=n_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_inputs(options=_option_values(cls)))
    def run(case):
        fuzz_counter[cls.__name__] += 1
        _run_one(cls, case, tmp_path)

    run()


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_fuzzed_inputs(cls, tmp_path, fuzz_counter):
    _fuzz(cls, N_EXAMPLES, tmp_path, fuzz_counter)


@pytest.mark.slow
@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_fuzzed_inputs_many(cls, tmp_path, fuzz_counter):
    _fuzz(cls, 20 * N_EXAMPLES, tmp_path, fuzz_counter)


# ------------------------------------------------------------------------------------------
# concurrency
# ------------------------------------------------------------------------------------------


def _concurrency_data(n_rows=400, n_features=32):
    # small enough for the dense fallbacks of the regressors; n_jobs=2 sends every numba kernel
    # through its parallel compilation whatever the size
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n_rows, n_features))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _threaded(est):
    params = est.get_params()
    return est.set_params(n_jobs=2) if "n_jobs" in params else est


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_concurrent_calls_give_the_serial_result(cls):
    _exception(cls, "concurrency")
    X = _concurrency_data()
    est = _threaded(_make(cls))
    est.fit(X, _target(est, X.shape[0], np.random.default_rng(0)))
    ref = _apply(est, X)
    results, errors = [None] * 4, []
    barrier = threading.Barrier(4)

    def work(i):
        try:
            barrier.wait()
            for _ in range(3):
                results[i] = _apply(est, X)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for r in results:
        np.testing.assert_array_equal(r, ref)


_WORKQUEUE_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    import numpy as np
    sys.path.insert(0, {root!r})
    from tests.test_robustness import CLASSES, _apply, _concurrency_data, _make, _target, _threaded
    names = {names!r}
    X = _concurrency_data()
    for cls in CLASSES:
        if cls.__name__ not in names:
            continue
        est = _threaded(_make(cls))
        est.fit(X, _target(est, X.shape[0], np.random.default_rng(0)))
        ref = _apply(est, X)
        out = [None] * 4
        def work(i):
            for _ in range(3):
                out[i] = _apply(est, X)
        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        for o in out:
            assert np.array_equal(o, ref), cls.__name__
    import numba
    print("layer", numba.threading_layer())
    """
)


def test_concurrent_calls_under_the_workqueue_layer():
    names = [
        c.__name__ for c in CLASSES if "concurrency" not in getattr(c, "_harness_exceptions", {})
    ]
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue", "NUMBA_NUM_THREADS": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", _WORKQUEUE_SCRIPT.format(root=str(ROOT), names=names)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    assert "layer workqueue" in proc.stdout


# ------------------------------------------------------------------------------------------
# refit, invalid n_jobs, pickling
# ------------------------------------------------------------------------------------------


def _learned(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("__")}


def _same(a, b):
    """Value equality of learned state: arrays, sparse matrices, containers and plain objects
    (compared attribute by attribute), random generators by their state."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if hasattr(a, "toarray"):
        return np.array_equal(a.toarray(), b.toarray())
    if isinstance(a, np.random.Generator):
        return a.bit_generator.state == b.bit_generator.state
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float, complex, str, bytes, bool, type(None), np.generic)):
        return bool(a == b) or (a != a and b != b)  # NaN equals NaN here
    if hasattr(a, "__dict__"):
        return _same(vars(a), vars(b))
    return True  # an opaque object of the same type


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_refit_keeps_nothing_of_the_first_fit(cls):
    _exception(cls, "refit")
    rng = np.random.default_rng(3)
    A = rng.standard_normal((50, 24))
    B = rng.standard_normal((40, 16)) * 3 + 1
    tried = 0
    for name, value in [(None, None), *_option_values(cls)]:
        first = _make(cls) if name is None else _make(cls, **{name: value})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                first.fit(A, _target(first, A.shape[0], rng))
        except (ValueError, TypeError):
            continue  # an option that needs other settings
        tried += 1
        refit = first.set_params(**cls().get_params()).set_params(
            **({"random_state": 0} if "random_state" in first.get_params() else {})
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            refit.fit(B, _target(refit, B.shape[0], np.random.default_rng(1)))
            fresh = _make(cls).fit(B, _target(refit, B.shape[0], np.random.default_rng(1)))
        got, want = _learned(refit), _learned(fresh)
        assert set(got) == set(want), (
            f"after fitting with {name}={value!r}: stale {set(got) - set(want)}, "
            f"missing {set(want) - set(got)}"
        )
        if not get_tags(fresh).non_deterministic:
            for k in want:
                assert _same(got[k], want[k]), f"{k} differs from a fresh fit's"
    assert tried >= 1


@pytest.mark.parametrize("cls", [c for c in CLASSES if "n_jobs" in c().get_params()])
def test_n_jobs_zero_is_refused_at_fit(cls):
    X = np.random.default_rng(0).standard_normal((20, 8))
    est = _make(cls, n_jobs=0)
    with pytest.raises(ValueError, match="n_jobs"):
        est.fit(X, _target(est, 20, np.random.default_rng(0)))


_PICKLE_SCRIPT = textwrap.dedent(
    """
    import pickle, sys
    import numpy as np
    sys.path.insert(0, {root!r})
    with open({path!r}, "rb") as f:
        cases = pickle.load(f)
    out = {{}}
    for name, (est, X) in cases.items():
        out[name] = est.transform(X) if hasattr(est, "transform") else est.predict(X)
    with open({path!r} + ".out", "wb") as f:
        pickle.dump(out, f)
    """
)


def test_pickled_estimators_give_identical_output_in_a_fresh_process(tmp_path):
    X = _concurrency_data(300, 32)
    cases, expected = {}, {}
    for cls in CLASSES:
        if "pickle" in getattr(cls, "_harness_exceptions", {}):
            continue
        est = _make(cls)
        est.fit(X, _target(est, X.shape[0], np.random.default_rng(0)))
        cases[cls.__name__] = (est, X)
        expected[cls.__name__] = _apply(est, X)
    path = tmp_path / "fitted.pkl"
    path.write_bytes(pickle.dumps(cases))
    proc = subprocess.run(
        [sys.executable, "-c", _PICKLE_SCRIPT.format(root=str(ROOT), path=str(path))],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = pickle.loads((tmp_path / "fitted.pkl.out").read_bytes())
    assert set(got) == set(expected)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
