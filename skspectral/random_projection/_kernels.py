"""Numba kernels of the subsampled randomized Hadamard transform (plain arrays in and out).

Each kernel works row by row, over blocks of rows: in parallel when more than one thread is
asked for (each is a :func:`skspectral._backend.threaded_kernel`, called as
``kernel(n_jobs, *args)``), on the calling thread otherwise. A block owns one scratch buffer
of the padded length ``p``: a row is sign-flipped into it, transformed there in cache by
:func:`skspectral.fft.fwht_row` (unnormalized), and only the ``k`` kept outputs are written, so
the transformed ``n x p`` matrix is never formed. Compiled lazily, on first use.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._backend import threaded_kernel
from ..fft import fwht_row


@njit(cache=True, nogil=True, inline="always")
def _load_signed(xr, signs, buf):
    d = xr.shape[0]
    for j in range(d):
        buf[j] = xr[j] * signs[j]
    for j in range(d, buf.shape[0]):
        buf[j] = 0


@threaded_kernel()
def srht_gather(X, signs, p, keep, scale, out, n_blocks):
    """``out[r, i] = scale * (H_p D x_r)[keep[i]]`` (``H_p`` the unnormalized Hadamard matrix,
    ``D = diag(signs)``, ``x_r`` zero-padded to ``p``)."""
    n = X.shape[0]
    k = keep.shape[0]
    for b in prange(n_blocks):
        buf = np.empty(p, dtype=X.dtype)
        for r in range(b * n // n_blocks, (b + 1) * n // n_blocks):
            _load_signed(X[r], signs, buf)
            fwht_row(buf, 1.0)
            orow = out[r]
            for i in range(k):
                orow[i] = buf[keep[i]] * scale


@threaded_kernel()
def srht_sparse(X, signs, p, indptr, indices, values, out, n_blocks):
    """``out[r] = P (H_p D x_r)`` for the sparse ``P`` in CSR form (its values carry the scale)."""
    n = X.shape[0]
    k = indptr.shape[0] - 1
    for b in prange(n_blocks):
        buf = np.empty(p, dtype=X.dtype)
        for r in range(b * n // n_blocks, (b + 1) * n // n_blocks):
            _load_signed(X[r], signs, buf)
            fwht_row(buf, 1.0)
            orow = out[r]
            for i in range(k):
                acc = buf[0] * 0
                for t in range(indptr[i], indptr[i + 1]):
                    acc += values[t] * buf[indices[t]]
                orow[i] = acc


@threaded_kernel()
def srht_gather_adjoint(Y, signs, p, keep, scale, out, n_blocks):
    """``out[r] = scale * D (H_p S^T y_r)[:d]``: the adjoint of :func:`srht_gather`."""
    n = Y.shape[0]
    d = out.shape[1]
    k = keep.shape[0]
    for b in prange(n_blocks):
        buf = np.empty(p, dtype=Y.dtype)
        for r in range(b * n // n_blocks, (b + 1) * n // n_blocks):
            buf[:] = 0
            yr = Y[r]
            for i in range(k):
                buf[keep[i]] = yr[i]
            fwht_row(buf, 1.0)
            orow = out[r]
            for j in range(d):
                orow[j] = buf[j] * signs[j] * scale


@threaded_kernel()
def srht_sparse_adjoint(Y, signs, p, indptr, indices, values, out, n_blocks):
    """``out[r] = D (H_p P^T y_r)[:d]``: the adjoint of :func:`srht_sparse`."""
    n = Y.shape[0]
    d = out.shape[1]
    k = indptr.shape[0] - 1
    for b in prange(n_blocks):
        buf = np.empty(p, dtype=Y.dtype)
        for r in range(b * n // n_blocks, (b + 1) * n // n_blocks):
            buf[:] = 0
            yr = Y[r]
            for i in range(k):
                for t in range(indptr[i], indptr[i + 1]):
                    buf[indices[t]] += values[t] * yr[i]
            fwht_row(buf, 1.0)
            orow = out[r]
            for j in range(d):
                orow[j] = buf[j] * signs[j]
