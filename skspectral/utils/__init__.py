"""Utilities: estimator discovery, row chunking."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

__all__ = ["all_estimators", "reset_fitted_state", "row_chunks"]


def reset_fitted_state(estimator) -> None:
    """Remove every learned attribute of ``estimator`` (names ending in ``_``, public or
    private, but not dunder names), so that a refit starts from its parameters alone and keeps
    nothing of an earlier fit.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skspectral.utils import reset_fitted_state
    >>> s = StandardScaler().fit([[0.0], [1.0]])
    >>> reset_fitted_state(s)
    >>> sorted(k for k in vars(s) if k.endswith("_"))
    []
    """
    for name in list(vars(estimator)):
        if name.endswith("_") and not name.startswith("__"):
            delattr(estimator, name)


# Budget (in elements) of the per-chunk temporaries of a transform: 2**23 float32 = 32 MiB.
CHUNK_ELEMENTS = 1 << 23


def row_chunks(n_rows: int, width: int, budget: int = CHUNK_ELEMENTS):
    """Yield ``slice`` objects over ``n_rows`` rows so that ``rows * width <= budget``.

    Transforms whose temporaries are ``width`` wide per row work chunk by chunk over these
    slices, so their memory stays bounded whatever the number of rows.

    Examples
    --------
    >>> from skspectral.utils import row_chunks
    >>> list(row_chunks(5, width=10, budget=20))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    step = max(1, budget // max(1, width))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


# Subpackages that hold estimators; utilities and data loaders hold none.
_SKIP = {"utils", "datasets", "fft", "tests"}


def all_estimators(type_filter=None):
    """Every public scikit-learn estimator class of skspectral, sorted by name.

    Walks the public subpackages (importing them), in the way
    :func:`sklearn.utils.discovery.all_estimators` does for scikit-learn, so a new estimator is
    found by existing: nothing lists it by hand.

    Parameters
    ----------
    type_filter : {"transformer", "classifier", "regressor", "cluster"} or list of them, optional
        Keep only estimators of these kinds (by scikit-learn's mixins).

    Returns
    -------
    estimators : list of (name, class) tuples

    Examples
    --------
    >>> from skspectral.utils import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    >>> "SubsampledRandomizedHadamard" in names
    True
    """
    from sklearn.base import (
        BaseEstimator,
        ClassifierMixin,
        ClusterMixin,
        RegressorMixin,
        TransformerMixin,
    )

    import skspectral

    found = {}
    for info in pkgutil.walk_packages(skspectral.__path__, prefix="skspectral."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or parts[1] in _SKIP:
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and not name.startswith("_")
                and cls.__module__.startswith("skspectral.")
                and not inspect.isabstract(cls)
            ):
                found[name] = cls
    kinds = {
        "transformer": TransformerMixin,
        "classifier": ClassifierMixin,
        "regressor": RegressorMixin,
        "cluster": ClusterMixin,
    }
    if type_filter is not None:
        wanted = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = set(wanted) - set(kinds)
        if unknown:
            raise ValueError(f"type_filter must be among {sorted(kinds)}, got {sorted(unknown)}")
        found = {n: c for n, c in found.items() if any(issubclass(c, kinds[w]) for w in wanted)}
    return sorted(found.items())
