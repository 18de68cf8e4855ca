"""Test-session set-up shared by tests/ and the doctests in skspectral/."""

import os

# scikit-learn's Array API dispatch needs SciPy's, which must be switched on before SciPy loads.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
