"""scikit-learn's estimator checks, and ours, on every public estimator, found by discovery."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from skspectral.utils import all_estimators

ESTIMATORS = [cls() for _, cls in all_estimators()]


def _seeded(estimator):
    """A clone with ``random_state`` fixed (where it has one), for comparing two fits."""
    est = clone(estimator)
    if "random_state" in est.get_params():
        est.set_params(random_state=0)
    return est


def test_discovery_finds_estimators():
    # a discovery that finds nothing would make every test below vacuous
    assert len(ESTIMATORS) >= 1
    names = {type(e).__name__ for e in ESTIMATORS}
    assert all(not n.startswith("_") for n in names)


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def _data(n_samples=60, n_features=16, dtype=np.float64):
    X, y = make_regression(n_samples=n_samples, n_features=n_features, random_state=0)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(dtype), y


def _ids(estimators):
    return [type(e).__name__ for e in estimators]


def _fit(est, X, y):
    return est.fit(X, y)


def _output(est, X):
    if hasattr(est, "transform"):
        return est.transform(X)
    return est.predict(X)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
def test_pickle_round_trip_of_fitted_estimator(estimator):
    X, y = _data()
    est = _fit(clone(estimator), X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(_output(restored, X), _output(est, X))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
def test_set_output_pandas(estimator):
    pd = pytest.importorskip("pandas")
    if not hasattr(estimator, "transform"):
        pytest.skip("not a transformer")
    X, y = _data()
    columns = [f"col{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=columns)
    est = _seeded(estimator).set_output(transform="pandas")
    out = est.fit(df, y).transform(df)
    assert isinstance(out, pd.DataFrame)
    np.testing.assert_array_equal(out.columns, est.get_feature_names_out())
    np.testing.assert_array_equal(list(est.feature_names_in_), columns)
    plain = _seeded(estimator).fit(X, y).transform(X)
    np.testing.assert_allclose(out.to_numpy(), plain)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
def test_float32_preserved_where_claimed(estimator):
    tags = get_tags(estimator)
    preserves = tags.transformer_tags.preserves_dtype if tags.transformer_tags else []
    X, y = _data(dtype=np.float32)
    est = clone(estimator).fit(X, y)
    out = _output(est, X)
    if "float32" in preserves:
        assert out.dtype == np.float32
    X64 = X.astype(np.float64)
    out64 = _output(clone(estimator).fit(X64, y), X64)
    if "float64" in preserves:
        assert out64.dtype == np.float64


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids(ESTIMATORS))
def test_clone_and_grid_search_in_pipeline(estimator):
    X, y = _data(n_samples=90)
    if is_classifier(estimator):
        y = (y > np.median(y)).astype(int)
    if is_regressor(estimator) or is_classifier(estimator):
        pipe = Pipeline([("est", clone(estimator))])
        grid = {}
    else:
        pipe = Pipeline([("est", clone(estimator)), ("ridge", Ridge())])
        grid = {"ridge__alpha": [0.1, 1.0]}
    search = GridSearchCV(pipe, grid or {"est": [clone(estimator)]}, cv=3).fit(X, y)
    assert np.isfinite(search.best_score_)
    assert search.best_estimator_.predict(X).shape == (X.shape[0],)
    # the clone of the fitted best model holds its (searched) parameters and nothing learned
    fitted = search.best_estimator_
    c = clone(fitted)
    assert c.get_params(deep=False).keys() == fitted.get_params(deep=False).keys()
    assert [type(s) for _, s in c.steps] == [type(s) for _, s in fitted.steps]
    learned = [k for s in (st for _, st in c.steps) for k in vars(s) if k.endswith("_")]
    assert learned == [], f"a clone kept learned state: {learned}"
    assert search.best_estimator_.steps[0][1] is not search.estimator.steps[0][1]
