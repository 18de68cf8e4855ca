"""Mergeable statistics, and the one driver every federated or Dask fit of skspectral uses.

A fit is *mergeable* when the estimator, for any parameters it wants to try, needs only
statistics of the data that merge exactly: the statistics of the union of two shards are a
function of the two shards' statistics (counts add, extremes take the min / max, means and
sums of squared deviations merge with Chan, Golub and LeVeque's pairwise update). Such a fit
runs the same way over

* one in-memory array (one client),
* several data owners who never share a row (a federation of clients), and
* the blocks of a Dask array on a ``dask.distributed`` cluster (each block a client; the blocks
  stay on the workers, only the statistics travel).

The protocol, in three pieces:

``request``
    any picklable object the estimator defines (which statistics, at which parameters);
``client``
    anything that answers a request with statistics: an object with a
    ``statistics(request)`` method, or a plain callable ``client(request)``;
``statistics``
    objects with a ``merge(other)`` method returning the statistics of the union (see
    :class:`Mergeable`); :func:`merge_all` reduces a list of them pairwise.

:class:`Federation` and :class:`DaskFederation` both expose ``ask(request)`` (one
*communication round*: the request goes to every client, the merged statistics come back) and
count the rounds and the bytes received, so an estimator's search is written once against
``ask`` and runs unchanged in memory, across owners, or on a cluster.

References
----------
T. F. Chan, G. H. Golub and R. J. LeVeque, "Updating formulae and a pairwise algorithm for
computing sample variances", COMPSTAT 1982 (the pairwise merge of means and sums of squares).
"""

from __future__ import annotations

import pickle
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "DaskFederation",
    "Federation",
    "Mergeable",
    "chan_merge",
    "client_statistics",
    "merge_all",
]


@runtime_checkable
class Mergeable(Protocol):
    """Statistics of a shard of data that merge exactly with those of another shard."""

    def merge(self, other: Mergeable) -> Mergeable:  # pragma: no cover - protocol
        ...


def chan_merge(n_a, mean_a, m2_a, n_b, mean_b, m2_b):
    """Merge (count, mean, sum of squared deviations) of two shards (Chan et al. 1982).

    Works elementwise on arrays (one entry per feature). Exact in exact arithmetic; in floating
    point it avoids the cancellation of merging raw sums of squares.

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.utils._mergeable import chan_merge
    >>> a, b = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0])
    >>> n, mean, m2 = chan_merge(3, a.mean(), ((a - a.mean())**2).sum(),
    ...                          2, b.mean(), ((b - b.mean())**2).sum())
    >>> both = np.r_[a, b]
    >>> bool(np.isclose(mean, both.mean()) and np.isclose(m2 / n, both.var()))
    True
    """
    n_a = np.asarray(n_a, dtype=np.float64)
    n_b = np.asarray(n_b, dtype=np.float64)
    n = n_a + n_b
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(n > 0, n_b / np.where(n > 0, n, 1.0), 0.0)
        delta = np.asarray(mean_b, dtype=np.float64) - mean_a
        mean = np.where(n_b > 0, np.where(n_a > 0, mean_a + delta * w, mean_b), mean_a)
        m2 = np.where(
            (n_a > 0) & (n_b > 0),
            m2_a + m2_b + delta * delta * n_a * w,
            np.where(n_a > 0, m2_a, m2_b),
        )
    return n, mean, m2


def merge_all(stats: list) -> Any:
    """Merge a list of statistics pairwise (a balanced tree, so rounding stays small)."""
    stats = list(stats)
    if not stats:
        raise ValueError("no statistics to merge (no clients answered)")
    while len(stats) > 1:
        merged = [stats[i].merge(stats[i + 1]) for i in range(0, len(stats) - 1, 2)]
        if len(stats) % 2:
            merged.append(stats[-1])
        stats = merged
    return stats[0]


def client_statistics(client, request):
    """Ask one client (an object with ``statistics(request)`` or a callable) for statistics."""
    answer = getattr(client, "statistics", None)
    if answer is not None:
        return answer(request)
    if callable(client):
        return client(request)
    raise TypeError(
        f"a client must have a statistics(request) method or be callable, got {type(client)!r}"
    )


def _nbytes(obj) -> int:
    """Bytes a statistics object takes on the wire (its pickle)."""
    try:
        return len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # pragma: no cover - unpicklable local objects
        return 0


class Federation:
    """Server side of a federated fit: sends each request to every client, merges answers.

    Parameters
    ----------
    clients : list
        Objects with a ``statistics(request)`` method, or callables ``client(request)``. The
        server only ever sees what they return.
    max_rounds : int, optional
        Raise ``RuntimeError`` if a fit asks for more rounds (a guard for a search that would
        not converge).
    measure_bytes : bool
        Record the pickled size of every answer in :attr:`bytes_received`.

    Attributes
    ----------
    rounds : int
        Communication rounds so far (calls of :meth:`ask`).
    bytes_received : int
        Total pickled size of the clients' answers (when ``measure_bytes``).

    Examples
    --------
    >>> import numpy as np
    >>> from skspectral.utils._mergeable import Federation
    >>> class Sum:
    ...     def __init__(self, s): self.s = s
    ...     def merge(self, other): return Sum(self.s + other.s)
    >>> owners = [np.arange(3.0), np.arange(10.0)]
    >>> fed = Federation([lambda req, x=x: Sum((x ** req).sum()) for x in owners])
    >>> float(fed.ask(2).s), fed.rounds
    (290.0, 1)
    """

    def __init__(self, clients, *, max_rounds=None, measure_bytes=False):
        self.clients = list(clients)
        if not self.clients:
            raise ValueError("a federation needs at least one client")
        self.max_rounds = max_rounds
        self.measure_bytes = measure_bytes
        self.rounds = 0
        self.bytes_received = 0

    def ask(self, request):
        """One round: every client's statistics for ``request``, merged."""
        self._count()
        answers = [client_statistics(c, request) for c in self.clients]
        if self.measure_bytes:
            self.bytes_received += sum(_nbytes(a) for a in answers)
        return merge_all(answers)

    def _count(self):
        self.rounds += 1
        if self.max_rounds is not None and self.rounds > self.max_rounds:
            raise RuntimeError(f"the fit asked for more than max_rounds={self.max_rounds} rounds")


class DaskFederation(Federation):
    """The blocks of a Dask array as the clients of a federation.

    Each round maps ``statistics(block, request)`` over the row blocks as Dask tasks (on the
    workers of the active ``dask.distributed`` client, if any); only the per-block statistics
    come back to this process, where they are merged. The blocks are first mapped through
    ``prepare`` (for instance to a per-estimator working representation) and persisted, so
    they are computed once and stay on the workers between rounds.

    Parameters
    ----------
    array : dask.array.Array
        Two-dimensional; rechunked so that each block holds whole rows.
    statistics : callable
        ``statistics(block, request) -> Mergeable``, a module-level function (it is shipped to
        the workers by reference).
    prepare : callable, optional
        ``prepare(block) -> object`` applied to each block once.
    """

    def __init__(self, array, statistics, *, prepare=None, max_rounds=None, measure_bytes=True):
        import dask

        if array.ndim != 2:
            raise ValueError(f"expected a 2-D dask array, got {array.ndim} dimensions")
        array = array.rechunk({1: -1})
        blocks = array.to_delayed().ravel().tolist()
        if prepare is not None:
            blocks = [dask.delayed(prepare)(b) for b in blocks]
        blocks = _persist(blocks)
        self._statistics = statistics
        super().__init__(blocks, max_rounds=max_rounds, measure_bytes=measure_bytes)

    def ask(self, request):
        import dask

        self._count()
        tasks = [dask.delayed(self._statistics)(b, request) for b in self.clients]
        answers = list(dask.compute(*tasks))
        if self.measure_bytes:
            self.bytes_received += sum(_nbytes(a) for a in answers)
        return merge_all(answers)


def _persist(blocks):
    """Persist delayed blocks (on the cluster when a distributed client is active)."""
    import dask

    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        client = None
    if client is not None:
        return list(client.persist(blocks))
    return list(dask.persist(*blocks))
