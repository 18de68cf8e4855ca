"""skspectral: fast spectral estimators with a scikit-learn API.

Every estimator here gets its speed from a structured matrix (circulant, Hadamard / Walsh, or a
product of them) applied with a fast Fourier or fast Walsh-Hadamard transform. The transforms live
in :mod:`skspectral.fft`; the estimators live in modules named like scikit-learn's.

Importing :mod:`skspectral` is cheap: submodules (and numba) load on first use.
"""

import importlib

__version__ = "0.1.0.dev0"

_SUBMODULES = ("fft", "random_projection", "datasets", "utils")

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
