"""PowerTransformer fitted on a ``dask.distributed.LocalCluster`` with worker processes, the
blocks of rows made on the workers and unable to reach this process.

Run as a script by ``test_power.py`` (in a process session of its own, so that the test can
stop it, cluster included, after a time limit). Exits non-zero if a check fails; prints
``OK`` with the rounds and bytes received when all pass. Its functions travel to the workers
by value (they are ``__main__``'s), so the workers need not import this file.
"""

from __future__ import annotations

import logging
import sys

import numpy as np

N_BLOCKS = 6
ROWS = 2_000


def _on_worker_only(x):
    """Unpickling hook of :class:`WorkerRows`: refuses to rebuild rows outside a worker."""
    from distributed import get_worker

    get_worker()  # raises ValueError in the client process
    return WorkerRows(x)


class WorkerRows:
    """A block of rows that can travel between workers but never arrives in the client
    process (its unpickling raises there); an array through ``__array__``."""

    def __init__(self, x):
        self.x = np.asarray(x)
        self.shape, self.ndim, self.dtype = self.x.shape, self.x.ndim, self.x.dtype

    def __array__(self, dtype=None, copy=None):
        return self.x if dtype is None else self.x.astype(dtype)

    def __reduce__(self):
        return _on_worker_only, (self.x,)


def rows_of_block(i, *, on_worker=True):
    """Rows of block ``i``, made only inside a dask worker unless ``on_worker`` is false (the
    local copy for the reference fit)."""
    if on_worker:
        from distributed import get_worker

        get_worker()  # raises outside a worker: the client process never makes a block
    rng = np.random.default_rng(100 + i)
    x = rng.lognormal(0.1, 0.6, size=(ROWS + 37 * i, 3))
    x[:, 2] -= 1.5  # mixed sign for Yeo-Johnson
    return WorkerRows(x) if on_worker else x


def positive_rows(block):
    return WorkerRows(np.abs(np.asarray(block)) + 0.1)


def main():
    import dask
    import dask.array as da
    import distributed

    from skspectral.preprocessing import PowerTransformer

    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster, timeout=120),
    ):
        blocks = [
            da.from_delayed(
                dask.delayed(rows_of_block)(i), shape=(ROWS + 37 * i, 3), dtype=np.float64
            )
            for i in range(N_BLOCKS)
        ]
        dX = da.concatenate(blocks, axis=0)
        local = np.vstack([rows_of_block(i, on_worker=False) for i in range(N_BLOCKS)])
        for method in ("yeo-johnson", "box-cox"):
            if method == "box-cox":
                dXm, localm = dX.map_blocks(positive_rows), np.abs(local) + 0.1
            else:
                dXm, localm = dX, local
            pt = PowerTransformer(method=method).fit(dXm)
            central = PowerTransformer(method=method).fit(localm)
            np.testing.assert_allclose(pt.lambdas_, central.lambdas_, rtol=1e-8)
            assert pt.n_rounds_ <= 40, pt.n_rounds_
            # only statistics travelled (rows would fail to unpickle here), less than the rows
            assert pt.bytes_received_ < localm.nbytes, (pt.bytes_received_, localm.nbytes)
            Z = pt.transform(dXm)
            np.testing.assert_allclose(
                Z[:500].compute(), central.transform(localm[:500]), rtol=1e-8, atol=1e-10
            )
            print(method, "rounds", pt.n_rounds_, "bytes", pt.bytes_received_, flush=True)
        # the guard works: bringing the rows here fails
        try:
            dX.blocks[0].compute()
        except ValueError as exc:
            assert "worker" in str(exc), exc
        else:
            raise AssertionError("a block of rows reached the client process")
    print("OK")


if __name__ == "__main__":
    sys.exit(main())
