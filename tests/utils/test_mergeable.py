"""The shared mergeable-statistics protocol: Chan's merge, the federation driver, Dask blocks."""

from __future__ import annotations

import numpy as np
import pytest

from skspectral.utils._mergeable import (
    DaskFederation,
    Federation,
    Mergeable,
    chan_merge,
    client_statistics,
    merge_all,
)


class Moments:
    """Count, mean and sum of squared deviations per feature (a test statistic)."""

    def __init__(self, n, mean, m2):
        self.n, self.mean, self.m2 = n, mean, m2

    @classmethod
    def of(cls, x):
        x = np.asarray(x, dtype=np.float64)
        return cls(np.full(x.shape[1], float(len(x))), x.mean(0), ((x - x.mean(0)) ** 2).sum(0))

    def merge(self, other):
        return Moments(*chan_merge(self.n, self.mean, self.m2, other.n, other.mean, other.m2))


def _moment_request(block, power):
    return Moments.of(np.asarray(block, dtype=np.float64) ** power)


def test_chan_merge_is_exact_against_two_pass():
    rng = np.random.default_rng(0)
    # a large offset: a naive merge of raw sums of squares would lose every digit
    parts = [1e6 + rng.normal(size=(m, 2)) for m in (1, 7, 300, 2, 50)]
    merged = merge_all([Moments.of(p) for p in parts])
    full = np.vstack(parts)
    np.testing.assert_allclose(merged.mean, full.mean(0), rtol=1e-14)
    np.testing.assert_allclose(merged.m2 / merged.n, full.var(0), rtol=1e-8)
    assert isinstance(merged, Mergeable)


def test_chan_merge_empty_sides():
    n, mean, m2 = chan_merge(0, 0.0, 0.0, 3, 2.0, 5.0)
    assert (n, mean, m2) == (3, 2.0, 5.0)
    n, mean, m2 = chan_merge(3, 2.0, 5.0, 0, 0.0, 0.0)
    assert (n, mean, m2) == (3, 2.0, 5.0)


def test_federation_objects_and_callables_rounds():
    rng = np.random.default_rng(1)
    owners = [rng.normal(size=(m, 3)) for m in (3, 40, 11)]

    class Owner:
        def __init__(self, x):
            self._x = x

        def statistics(self, power):
            return Moments.of(self._x**power)

    clients = [Owner(owners[0]), lambda p, x=owners[1]: Moments.of(x**p), Owner(owners[2])]
    fed = Federation(clients, measure_bytes=True)
    for power in (1, 2, 3):
        got = fed.ask(power)
        want = np.vstack(owners) ** power
        np.testing.assert_allclose(got.mean, want.mean(0), rtol=1e-12)
        np.testing.assert_allclose(got.m2 / got.n, want.var(0), rtol=1e-10)
    assert fed.rounds == 3
    assert 0 < fed.bytes_received < 3 * 3 * 2000


def test_federation_guards():
    with pytest.raises(ValueError, match="at least one client"):
        Federation([])
    fed = Federation([lambda r: Moments.of(np.ones((2, 1)))], max_rounds=1)
    fed.ask(0)
    with pytest.raises(RuntimeError, match="max_rounds"):
        fed.ask(0)
    with pytest.raises(TypeError, match="statistics"):
        client_statistics(42, None)
    with pytest.raises(ValueError, match="no statistics"):
        merge_all([])


def test_dask_federation_local_scheduler():
    da = pytest.importorskip("dask.array")
    x = np.random.default_rng(2).lognormal(size=(1000, 4))
    dx = da.from_array(x, chunks=(130, 2))  # column chunks are joined: blocks hold whole rows
    fed = DaskFederation(dx, _moment_request)
    got = fed.ask(2)
    np.testing.assert_allclose(got.mean, (x**2).mean(0), rtol=1e-12)
    np.testing.assert_allclose(got.m2 / got.n, (x**2).var(0), rtol=1e-10)
    assert fed.rounds == 1 and len(fed.clients) == 8
    # only per-block statistics came back: a few hundred bytes each
    assert fed.bytes_received < 8 * 1000 < x.nbytes
    with pytest.raises(ValueError, match="2-D"):
        DaskFederation(da.ones(5), _moment_request)
