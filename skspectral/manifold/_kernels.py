"""Numba kernels of t-SNE (plain arrays in and out, compiled lazily on first use).

Grouped by concern:

* affinities: the per-row binary search of the Gaussian bandwidth that meets a perplexity;
* attraction: the attractive force on a sparse (CSR) affinity matrix, and its KL term;
* exact repulsion: the O(N^2) repulsive force and normalization (``method="exact"``, and
  placing new points against a small reference);
* interpolation: Lagrange weights of each point on an equispaced grid, spreading charges to the
  grid and gathering potentials back (1-D and 2-D), the steps of the FIt-SNE scheme around the
  grid convolution;
* the optimizer's step (gains, momentum, step clipping) in one pass.

Kernels with ``prange`` loops are :func:`skspectral._backend.threaded_kernel`\\ s, called as
``kernel(n_jobs, *args)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._backend import threaded_kernel

# The options of the floating-point kernels: fast math (reassociated sums, so reductions
# vectorize) and NumPy's error model: under numba's default (Python's), every division checks
# its divisor to raise ZeroDivisionError, a branch that keeps LLVM from vectorizing any loop
# with a division in it (1 / (1 + d^2) is in every force loop here). No divisor here can be
# zero.
FAST = {"fastmath": True, "error_model": "numpy"}

# ------------------------------------------------------------------------------ affinities


@threaded_kernel(error_model="numpy")
def calibrate_perplexity(dist, log_perplexity, tol, max_steps, out):
    """Conditional probabilities ``out[i, j] = exp(-beta_i d_ij) / sum_j exp(-beta_i d_ij)``.

    ``dist`` (n, k) holds the distances of row ``i`` to its ``k`` neighbours (squared for the
    Euclidean metric); ``beta_i`` is found by bisection (doubling until bracketed) so that the
    entropy of row ``i`` (in nats) is ``log_perplexity`` within ``tol``. Distances are shifted
    by the row minimum first, which changes nothing but keeps ``exp`` in range.
    """
    n, k = dist.shape
    for i in prange(n):
        row = dist[i]
        dmin = np.inf
        dsum = 0.0
        for j in range(k):
            if row[j] < dmin:
                dmin = row[j]
        for j in range(k):
            dsum += row[j] - dmin
        beta = k / dsum if dsum > 0 else 1.0
        lo = 0.0
        hi = np.inf
        s = 0.0
        for _ in range(max_steps):
            s = 0.0
            sd = 0.0
            for j in range(k):
                e = np.exp(-beta * (row[j] - dmin))
                out[i, j] = e
                s += e
                sd += e * (row[j] - dmin)
            entropy = np.log(s) + beta * sd / s
            diff = entropy - log_perplexity
            if abs(diff) <= tol:
                break
            if diff > 0:  # too flat: sharpen
                lo = beta
                beta = beta * 2.0 if hi == np.inf else 0.5 * (beta + hi)
            else:
                hi = beta
                beta = 0.5 * (beta + lo)
        inv = 1.0 / s
        for j in range(k):
            out[i, j] *= inv


# ------------------------------------------------------------------------------ exact neighbours

# width of the runs of a row whose minima screen the neighbour candidates
RUN = 16
# a finite stand-in for +infinity (fast math assumes no infinities); the screened values are
# at most 3 in magnitude
FAR = 1e30


@njit(cache=True, nogil=True, **FAST)
def _at_least(values, k, enough):
    """A threshold ``T`` with at least ``k`` of ``values`` (float32, ``k <= len``) at most ``T``,
    and at most ``enough`` of them where bisection finds one in 40 halvings (the counting
    passes vectorize; a selection of the ``k``-th smallest would not)."""
    a = np.float32(FAR)
    b = np.float32(-FAR)
    for u in range(values.shape[0]):
        a = min(a, values[u])
        b = max(b, values[u])
    for _ in range(40):
        mid = np.float32(0.5) * (a + b)
        if not (mid > a and mid < b):
            break
        c = 0
        for u in range(values.shape[0]):
            c += values[u] <= mid
        if c >= k:
            b = mid
            if c <= enough:
                break
        else:
            a = mid
    return b


@threaded_kernel(**FAST)
def knn_screened(Q32, RT32, sq32, Q, R, margin, own, block, k, dist, ind):
    """The ``k`` nearest rows of ``R`` to each row of ``Q`` (squared Euclidean distances in
    float64, ascending, ties by index): ``dist`` and ``ind``, each (m, k).

    ``Q32`` (m, f) and ``RT32`` (f, n) are the rows centred and scaled to norms at most one,
    in float32 (``RT32`` transposed), and ``sq32`` the squared norms of the reference rows.
    Per block of ``block`` query rows, one matrix product (BLAS: call under a single-threaded
    BLAS) gives ``v_j = |r_j|^2 - 2 q . r_j``, the squared distance less ``|q|^2``, in float32,
    off from its exact value by at most ``margin[i]``. Then, per row: the minimum of each run
    of ``RUN`` values (a vectorized pass) and a threshold ``T`` that at least ``k`` of these
    minima pass (:func:`_at_least`). ``k`` runs hold a value at most ``T``, so the ``k``-th
    nearest has exact ``v <= T + margin`` and every one of the ``k`` nearest has float32
    ``v <= T + 2 margin``: the candidates, found only in the runs whose minimum passes, whose
    float64 distances then pick the ``k``. The result is exact. ``own[i]`` is the reference
    index of query ``i`` itself (left out), or -1.
    """
    m = Q32.shape[0]
    n = RT32.shape[1]
    f = Q.shape[1]
    n_full = n // RUN
    n_runs = (n + RUN - 1) // RUN
    n_blocks = (m + block - 1) // block
    for b in prange(n_blocks):
        s = b * block
        e = min(m, s + block)
        G = np.dot(Q32[s:e], RT32)
        low = np.empty(n_runs, dtype=np.float32)
        cand = np.empty(n, dtype=np.int64)
        cd = np.empty(n)
        for r in range(e - s):
            i = s + r
            g = G[r]
            for u in range(n_full):
                gu = g[u * RUN : (u + 1) * RUN]
                su = sq32[u * RUN : (u + 1) * RUN]
                lo = np.float32(FAR)
                for t in range(RUN):
                    lo = min(lo, su[t] - np.float32(2.0) * gu[t])
                low[u] = lo
            me = own[i]
            for u in range(n_full, n_runs):
                low[u] = FAR
            for u in range(n_full, n_runs):
                for j in range(u * RUN, n):
                    if j != me:
                        low[u] = min(low[u], sq32[j] - np.float32(2.0) * g[j])
            if me >= 0 and me < n_full * RUN:
                u = me // RUN
                lo = np.float32(FAR)
                for j in range(u * RUN, (u + 1) * RUN):
                    if j != me:
                        lo = min(lo, sq32[j] - np.float32(2.0) * g[j])
                low[u] = lo
            if n_runs > k:
                thr = float(_at_least(low, k, k + k // 8 + 4)) + 2.0 * margin[i]
            else:
                thr = FAR
            c = 0
            for u in range(n_runs):
                if low[u] <= thr:
                    for j in range(u * RUN, min(n, (u + 1) * RUN)):
                        if j != me and sq32[j] - np.float32(2.0) * g[j] <= thr:
                            cand[c] = j
                            c += 1
            if c < k:  # (never, by the bound; kept as a guard: then every point is one)
                c = 0
                for j in range(n):
                    if j != me:
                        cand[c] = j
                        c += 1
            for t in range(c):
                j = cand[t]
                acc = 0.0
                for a in range(f):
                    diff = Q[i, a] - R[j, a]
                    acc += diff * diff
                cd[t] = acc
            # a stable sort of candidates in index order: equal distances go by index
            order = np.argsort(cd[:c], kind="mergesort")
            for t in range(k):
                dist[i, t] = cd[order[t]]
                ind[i, t] = cand[order[t]]


# ------------------------------------------------------------------------------ attraction


@threaded_kernel(**FAST)
def attraction(indptr, indices, data, Y, R, dof, out, log_w):
    """``out[i] = sum_j p_ij (1 + |y_i - r_j|^2 / dof)^-1 (y_i - r_j)`` over the CSR ``P``
    (row ``i`` of ``Y``, column ``j`` of ``R``; ``R`` is ``Y`` in a fit);
    ``log_w[i] = sum_j p_ij log w_ij`` with ``w = (1 + d^2 / dof)^-dof`` (for the KL), filled
    when ``log_w`` has ``len(Y)`` entries (pass an empty array to skip it)."""
    n, d = Y.shape
    want = log_w.shape[0] == n
    for i in prange(n):
        # the force is summed in locals and written once: stores into ``out`` inside the
        # inner loop keep the compiler from holding it in registers (2-3x slower)
        acc = 0.0
        if d == 2:
            y0 = Y[i, 0]
            y1 = Y[i, 1]
            f0 = 0.0
            f1 = 0.0
            for t in range(indptr[i], indptr[i + 1]):
                j = indices[t]
                e0 = y0 - R[j, 0]
                e1 = y1 - R[j, 1]
                q = 1.0 / (1.0 + (e0 * e0 + e1 * e1) / dof)
                f = data[t] * q
                f0 += f * e0
                f1 += f * e1
                if want:
                    acc += data[t] * dof * np.log(q)
            out[i, 0] = f0
            out[i, 1] = f1
        else:
            for a in range(d):
                out[i, a] = 0.0
            for t in range(indptr[i], indptr[i + 1]):
                j = indices[t]
                d2 = 0.0
                for a in range(d):
                    diff = Y[i, a] - R[j, a]
                    d2 += diff * diff
                q = 1.0 / (1.0 + d2 / dof)
                f = data[t] * q
                for a in range(d):
                    out[i, a] += f * (Y[i, a] - R[j, a])
                if want:
                    acc += data[t] * dof * np.log(q)
        if want:
            log_w[i] = acc


@threaded_kernel(**FAST)
def attraction_pairs(indptr, indices, data, Y, dof, bounds, work, out, log_w):
    """The fit's :func:`attraction` on a symmetric ``P`` from its upper triangle (CSR, row
    ``i`` holds ``j > i``), each pair once: ``p_ij q_ij (y_i - y_j)`` is added to point ``i``
    and subtracted from point ``j``, with ``q = (1 + |y_i - y_j|^2 / dof)^-1``.

    Chunk ``c`` takes the rows ``bounds[c]:bounds[c + 1]`` (cut at equal pair counts) and works
    in its own ``work[c]`` (n, 2 d): the points scaled by ``dof^-1/2`` (so that ``q`` needs no
    division by ``dof``) beside their force sums, so that the position read and the force
    written at a random ``j`` share one cache line. Its pairs have ``j > i >= bounds[c]``: only
    the rows from ``bounds[c]`` on are filled and summed. ``out`` gets the sum of the chunks'
    forces, in chunk order (the result depends on the chunking only). ``log_w[c]`` gets chunk
    ``c``'s ``sum p_ij log w_ij`` (``w = q^dof``; each pair once, so half the full sum) when
    ``log_w`` has ``len(work)`` entries (pass an empty array to skip it)."""
    n, d = Y.shape
    n_chunks = work.shape[0]
    scale = 1.0 / np.sqrt(dof)
    for c in prange(n_chunks):
        w = work[c]
        lo = bounds[c]
        for i in range(lo, n):
            for a in range(d):
                w[i, a] = Y[i, a] * scale
                w[i, d + a] = 0.0
        if log_w.shape[0] == n_chunks:
            log_w[c] = dof * _attract_pairs(indptr, indices, data, w, lo, bounds[c + 1], True)
        elif d == 2:
            _attract_pairs_2d(indptr, indices, data, w, lo, bounds[c + 1])
        else:
            _attract_pairs(indptr, indices, data, w, lo, bounds[c + 1], False)
    back = np.sqrt(dof)
    for i in prange(n):
        for a in range(d):
            s = 0.0
            for c in range(n_chunks):
                if bounds[c] > i:
                    break
                s += work[c, i, d + a]
            out[i, a] = s * back


@njit(cache=True, nogil=True, **FAST)
def _attract_pairs_2d(indptr, indices, data, w, lo, hi):
    """The pairs of the rows ``lo:hi`` of :func:`attraction_pairs` in ``w`` (positions in
    columns 0-1, forces added to columns 2-3), in 2-D: the loop of every iteration. (Called,
    not inlined into the parallel kernel: inlining doubled its compile time for no speed.)"""
    for i in range(lo, hi):
        # the force on ``i`` in registers, the opposite ones scattered
        y0 = w[i, 0]
        y1 = w[i, 1]
        f0 = 0.0
        f1 = 0.0
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            e0 = y0 - w[j, 0]
            e1 = y1 - w[j, 1]
            f = data[t] / (1.0 + e0 * e0 + e1 * e1)
            g0 = f * e0
            g1 = f * e1
            f0 += g0
            f1 += g1
            w[j, 2] -= g0
            w[j, 3] -= g1
        w[i, 2] += f0
        w[i, 3] += f1


@njit(cache=True, nogil=True, **FAST)
def _attract_pairs(indptr, indices, data, w, lo, hi, want):
    """:func:`_attract_pairs_2d` in any dimension, and ``sum p_ij log q_ij`` if ``want``."""
    d = w.shape[1] // 2
    acc = 0.0
    for i in range(lo, hi):
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            d2 = 0.0
            for a in range(d):
                diff = w[i, a] - w[j, a]
                d2 += diff * diff
            q = 1.0 / (1.0 + d2)
            pij = np.float64(data[t])
            f = pij * q
            for a in range(d):
                g = f * (w[i, a] - w[j, a])
                w[i, d + a] += g
                w[j, d + a] -= g
            if want:
                acc += pij * np.log(q)
    return acc


@njit(cache=True, nogil=True)
def upper_triangle(indptr, indices, data):
    """``(symmetric, indptr, indices, data)``: whether the CSR matrix (square, indices sorted
    within rows, no duplicates) equals its transpose exactly, and if so its entries right of
    the diagonal (int64 row pointers, float32 values; empty arrays otherwise). No copy of the
    matrix is made: rows are visited in order, so the mirrors ``(j, i)`` of the entries
    ``(i, j)``, ``j > i``, come up in the order row ``j`` stores them (a cursor per row)."""
    n = indptr.shape[0] - 1
    up_ptr = np.zeros(n + 1, dtype=np.int64)
    cursor = indptr[:-1].astype(np.int64)
    n_lower = 0
    for i in range(n):
        count = 0
        for t in range(indptr[i], indptr[i + 1]):
            j = indices[t]
            if j < i:
                n_lower += 1
            elif j > i:
                count += 1
                u = cursor[j]
                if u == indptr[j + 1] or indices[u] != i or data[u] != data[t]:
                    return False, up_ptr[:0], indices[:0], np.empty(0, dtype=np.float32)
                cursor[j] = u + 1
        up_ptr[i + 1] = up_ptr[i] + count
    m = up_ptr[n]
    # each upper entry has its mirror; as many lower entries as upper ones: they are all mirrors
    if n_lower != m:
        return False, up_ptr[:0], indices[:0], np.empty(0, dtype=np.float32)
    up_indices = np.empty(m, dtype=indices.dtype)
    up_data = np.empty(m, dtype=np.float32)
    for i in range(n):
        s = up_ptr[i]
        for t in range(indptr[i], indptr[i + 1]):
            if indices[t] > i:
                up_indices[s] = indices[t]
                up_data[s] = data[t]
                s += 1
    return True, up_ptr, up_indices, up_data


# ------------------------------------------------------------------------------ exact repulsion


@threaded_kernel(**FAST)
def exact_repulsion(Y, R, dof, out, z_row):
    """Repulsion of the points ``Y`` (m, d) by the reference points ``R`` (n, d), exactly:
    ``out[i] = sum_j k(y_i - r_j) (y_i - r_j)`` with ``k = (1 + d^2/dof)^-(dof+1)`` and
    ``z_row[i] = sum_j (1 + d^2/dof)^-dof``. Pairs at distance 0 add nothing to ``out`` and 1 to
    ``z_row`` (subtract the self-pairs from ``z_row`` when ``R`` is ``Y``)."""
    m, d = Y.shape
    n = R.shape[0]
    if d == 2:
        # the common case in scalars over contiguous columns, with the kernel's branch out of
        # the inner loop: it vectorizes (about 3x the general loop at n = 1,000)
        rx = np.empty(n)
        ry = np.empty(n)
        for j in range(n):
            rx[j] = R[j, 0]
            ry[j] = R[j, 1]
        cauchy = dof == 1.0
        for i in prange(m):
            yx = Y[i, 0]
            yy = Y[i, 1]
            fx = 0.0
            fy = 0.0
            z = 0.0
            if cauchy:
                for j in range(n):
                    dx = yx - rx[j]
                    dy = yy - ry[j]
                    w = 1.0 / (1.0 + dx * dx + dy * dy)
                    z += w
                    fx += w * w * dx
                    fy += w * w * dy
            else:
                for j in range(n):
                    dx = yx - rx[j]
                    dy = yy - ry[j]
                    base = 1.0 / (1.0 + (dx * dx + dy * dy) / dof)
                    w = base**dof
                    z += w
                    fx += w * base * dx
                    fy += w * base * dy
            out[i, 0] = fx
            out[i, 1] = fy
            z_row[i] = z
        return
    for i in prange(m):
        for a in range(d):
            out[i, a] = 0.0
        z = 0.0
        for j in range(n):
            d2 = 0.0
            for a in range(d):
                diff = Y[i, a] - R[j, a]
                d2 += diff * diff
            base = 1.0 / (1.0 + d2 / dof)
            w = base if dof == 1.0 else base**dof
            z += w
            f = w * base
            for a in range(d):
                out[i, a] += f * (Y[i, a] - R[j, a])
        z_row[i] = z


# ------------------------------------------------------------------------------ interpolation


@threaded_kernel(**FAST)
def lagrange_setup(Y, lo, h, n_boxes, p, box, W):
    """Box index ``box[i, a]`` of each point along each axis and the ``p`` Lagrange weights
    ``W[i, a, :]`` of its coordinate on the box's nodes.

    Box ``b`` of axis ``a`` spans ``[lo[a] + b h, lo[a] + (b + 1) h)`` and holds ``p`` nodes at
    ``lo[a] + (b + (k + 1/2) / p) h``, so the nodes of all boxes form one equispaced grid of
    spacing ``h / p``. Coordinates outside the grid are clamped to its edge.
    """
    n, d = Y.shape
    for i in prange(n):
        for a in range(d):
            u = (Y[i, a] - lo[a]) / h
            if u < 0.0:
                u = 0.0
            b = int(np.floor(u))
            if b >= n_boxes[a]:
                b = n_boxes[a] - 1
                if u > n_boxes[a]:
                    u = float(n_boxes[a])
            box[i, a] = b
            t = (u - b) * p - 0.5  # position in node units, nodes at 0 .. p-1
            for k in range(p):
                num = 1.0
                den = 1.0
                for m in range(p):
                    if m != k:
                        num *= t - m
                        den *= k - m
                W[i, a, k] = num / den


@threaded_kernel(**FAST)
def spread_2d(box, W, charges, grids):
    """Per-chunk grids: ``grids[c]`` gets the charges of the ``c``-th of ``len(grids)`` equal
    point chunks, ``grids[c, q, u, v] += W[i,0,k] W[i,1,l] charges[q, i]`` at node
    ``(box[i,0] p + k, box[i,1] p + l)``. Sum ``grids`` over its first axis afterwards."""
    n_chunks = grids.shape[0]
    nq = charges.shape[0]
    n = box.shape[0]
    p = W.shape[2]
    for c in prange(n_chunks):
        g = grids[c]
        g[:] = 0.0
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            u0 = box[i, 0] * p
            v0 = box[i, 1] * p
            for k in range(p):
                wk = W[i, 0, k]
                for m in range(p):
                    w = wk * W[i, 1, m]
                    for q in range(nq):
                        g[q, u0 + k, v0 + m] += w * charges[q, i]


@threaded_kernel(**FAST)
def gather_2d(box, W, pot, out):
    """``out[q, i] = sum_kl W[i,0,k] W[i,1,l] pot[q, box[i,0] p + k, box[i,1] p + l]``."""
    n = box.shape[0]
    p = W.shape[2]
    nq = pot.shape[0]
    for i in prange(n):
        u0 = box[i, 0] * p
        v0 = box[i, 1] * p
        for q in range(nq):
            acc = 0.0
            for k in range(p):
                wk = W[i, 0, k]
                for m in range(p):
                    acc += wk * W[i, 1, m] * pot[q, u0 + k, v0 + m]
            out[q, i] = acc


@threaded_kernel(**FAST)
def spread_1d(box, W, charges, grids):
    """The 1-D :func:`spread_2d`: ``grids[c, q, box[i,0] p + k] += W[i,0,k] charges[q, i]``."""
    n_chunks = grids.shape[0]
    nq = charges.shape[0]
    n = box.shape[0]
    p = W.shape[2]
    for c in prange(n_chunks):
        g = grids[c]
        g[:] = 0.0
        for i in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            u0 = box[i, 0] * p
            for k in range(p):
                w = W[i, 0, k]
                for q in range(nq):
                    g[q, u0 + k] += w * charges[q, i]


@threaded_kernel(**FAST)
def gather_1d(box, W, pot, out):
    """The 1-D :func:`gather_2d`."""
    n = box.shape[0]
    p = W.shape[2]
    nq = pot.shape[0]
    for i in prange(n):
        u0 = box[i, 0] * p
        for q in range(nq):
            acc = 0.0
            for k in range(p):
                acc += W[i, 0, k] * pot[q, u0 + k]
            out[q, i] = acc


@threaded_kernel(**FAST)
def combine_potentials(Y, phi, dof, rep, z_point):
    """From the gathered potentials ``phi`` (d + 1, n) of the charges ``(1, y_j)``:
    ``rep[i] = y_i phi_0(i) - phi_{1:}(i)`` (the repulsion ``sum_j k_ij (y_i - y_j)``) and
    ``z_point[i] = (1 + 2 |y_i|^2 / dof) phi_0(i) - (2 / dof) y_i . phi_{1:}(i)``, whose sum
    less ``n`` is ``Z``. One pass, no BLAS call (whose threads would spin against ours)."""
    n, d = Y.shape
    for i in prange(n):
        p0 = phi[0, i]
        sq = 0.0
        dot = 0.0
        for a in range(d):
            y = Y[i, a]
            pa = phi[a + 1, i]
            rep[i, a] = y * p0 - pa
            sq += y * y
            dot += y * pa
        z_point[i] = (1.0 + 2.0 * sq / dof) * p0 - (2.0 / dof) * dot


@threaded_kernel()
def sum_grids(grids, out):
    """``out = grids.sum(axis=0)``, in parallel over the flattened grid."""
    n_chunks = grids.shape[0]
    g = grids.reshape((n_chunks, -1))
    o = out.reshape(-1)
    for t in prange(o.shape[0]):
        acc = 0.0
        for c in range(n_chunks):
            acc += g[c, t]
        o[t] = acc


# ------------------------------------------------------------------------------ optimizer


@threaded_kernel(**FAST)
def gradient_step(Y, grad, update, gains, learning_rate, momentum, min_gain, max_step):
    """One step of gradient descent with momentum and per-parameter gains (Jacobs' delta-bar-
    delta as in van der Maaten's t-SNE): a gain grows by 0.2 where the gradient points the way
    of the last update's descent (``grad * update < 0``) and shrinks by 0.8 elsewhere
    (floored at ``min_gain``); the update of each point is clipped to norm ``max_step`` (no
    clipping if ``max_step <= 0``).
    ``Y``, ``update`` and ``gains`` are updated in place."""
    n, d = Y.shape
    for i in prange(n):
        norm2 = 0.0
        for a in range(d):
            g = grad[i, a]
            if g * update[i, a] < 0.0:
                gains[i, a] += 0.2
            else:
                gains[i, a] *= 0.8
            if gains[i, a] < min_gain:
                gains[i, a] = min_gain
            u = momentum * update[i, a] - learning_rate * gains[i, a] * g
            update[i, a] = u
            norm2 += u * u
        scale = 1.0
        if max_step > 0.0 and norm2 > max_step * max_step:
            scale = max_step / np.sqrt(norm2)
        for a in range(d):
            update[i, a] *= scale
            Y[i, a] += update[i, a]


@njit(cache=True, nogil=True)
def column_means(Y):
    """Mean of each column of ``Y`` (float64)."""
    n, d = Y.shape
    out = np.zeros(d)
    for i in range(n):
        for a in range(d):
            out[a] += Y[i, a]
    return out / max(n, 1)


# ------------------------------------------------------------------------------ near field


@njit(cache=True, nogil=True)
def bounds(Y):
    """``(lo, hi)``: the smallest and largest coordinate of ``Y`` along each axis, in one pass
    (NumPy's ``Y.min(axis=0)`` of a 2-column array costs about 30x more)."""
    n, d = Y.shape
    lo = np.full(d, np.inf)
    hi = np.full(d, -np.inf)
    for i in range(n):
        for a in range(d):
            v = Y[i, a]
            if v < lo[a]:
                lo[a] = v
            if v > hi[a]:
                hi[a] = v
    return lo, hi


@njit(cache=True, nogil=True)
def local_density(Y, lo, width, bins):
    """Mean number of points per unit area around a point of the 2-D ``Y``: the histogram of
    ``bins x bins`` square cells of ``width`` from ``lo``, ``sum(count^2) / (n width^2)``."""
    n = Y.shape[0]
    counts = np.zeros(bins * bins)
    for i in range(n):
        bx = min(max(int((Y[i, 0] - lo[0]) / width), 0), bins - 1)
        by = min(max(int((Y[i, 1] - lo[1]) / width), 0), bins - 1)
        counts[by * bins + bx] += 1.0
    s = 0.0
    for c in range(bins * bins):
        s += counts[c] * counts[c]
    return s / (max(n, 1) * width * width)


@njit(cache=True, nogil=True)
def cell_sort_2d(Y, lo, width, ncx, ncy, start, order, xs, ys):
    """Counting sort of the 2-D points ``Y`` into square cells of ``width`` (``ncx`` by ``ncy``
    from ``lo``; points outside go to the edge cells). Cell ``c = cy * ncx + cx`` holds the
    sorted positions ``start[c] .. start[c + 1]``; ``order[t]`` is the row of ``Y`` at sorted
    position ``t``, whose coordinates are ``xs[t], ys[t]``. The cells of one row of cells are
    consecutive, so a 3 x 3 block of cells is three contiguous runs."""
    n = Y.shape[0]
    ncell = ncx * ncy
    cell = np.empty(n, dtype=np.int64)
    for c in range(ncell + 1):
        start[c] = 0
    for i in range(n):
        cx = int((Y[i, 0] - lo[0]) / width)
        cy = int((Y[i, 1] - lo[1]) / width)
        cx = min(max(cx, 0), ncx - 1)
        cy = min(max(cy, 0), ncy - 1)
        c = cy * ncx + cx
        cell[i] = c
        start[c + 1] += 1
    for c in range(ncell):
        start[c + 1] += start[c]
    fill = start[:ncell].copy()
    for i in range(n):
        t = fill[cell[i]]
        fill[cell[i]] += 1
        order[t] = i
        xs[t] = Y[i, 0]
        ys[t] = Y[i, 1]


@njit(cache=True, nogil=True)
def cell_pairs(start, ncx, ncy, reach):
    """Number of (query, point) pairs that :func:`near_field_2d` visits with the points
    themselves as the queries: the sum over cells of their count times the count of the
    ``(2 reach + 1)^2`` cells around them (a summed-area table of the counts)."""
    sat = np.zeros((ncy + 1, ncx + 1), dtype=np.int64)
    for cy in range(ncy):
        for cx in range(ncx):
            c = cy * ncx + cx
            sat[cy + 1, cx + 1] = (
                start[c + 1] - start[c] + sat[cy, cx + 1] + sat[cy + 1, cx] - sat[cy, cx]
            )
    total = 0
    for cy in range(ncy):
        y0 = max(cy - reach, 0)
        y1 = min(cy + reach + 1, ncy)
        for cx in range(ncx):
            c = cy * ncx + cx
            count = start[c + 1] - start[c]
            if count == 0:
                continue
            x0 = max(cx - reach, 0)
            x1 = min(cx + reach + 1, ncx)
            block = sat[y1, x1] - sat[y0, x1] - sat[y1, x0] + sat[y0, x0]
            total += count * block
    return total


@threaded_kernel(**FAST)
def near_field_2d(
    qx, qy, order, xs, ys, start, lo, width, ncx, ncy, reach, cutoff2, dof, coef, rep, z_point
):
    """Adds the near field of the points sorted by :func:`cell_sort_2d` at the query points
    ``(qx[i], qy[i])`` to ``rep[o]`` and ``z_point[o]`` (``o = order[i]``, or ``i`` when
    ``order`` is empty): ``sum_j k_near(r_ij) (q_i - x_j)`` and
    ``sum_j k_near(r_ij) (1 + r_ij^2 / dof)``, over the points ``j`` of the cells within
    ``reach`` cells of the query's (the cells are at least ``cutoff / reach`` wide, so that is
    every point closer than the cutoff). ``k_near(r) = k(r) - f(r^2)`` below the cutoff and 0
    beyond, with ``k(r) = (1 + r^2 / dof)^-(dof + 1)`` and ``f`` the cubic in ``s = r^2`` of
    coefficients ``coef`` in powers of ``s - cutoff2`` (the far field's kernel inside the
    cutoff). A point at distance 0 (the query itself) adds ``k_near(0)`` to ``z_point`` and
    nothing to ``rep``."""
    m = qx.shape[0]
    permuted = order.shape[0] == m
    cauchy = dof == 1.0
    c0 = coef[0]
    c1 = coef[1]
    c2 = coef[2]
    c3 = coef[3]
    for i in prange(m):
        x = qx[i]
        y = qy[i]
        cx = min(max(int((x - lo[0]) / width), 0), ncx - 1)
        cy = min(max(int((y - lo[1]) / width), 0), ncy - 1)
        fx = 0.0
        fy = 0.0
        z = 0.0
        for ry in range(max(cy - reach, 0), min(cy + reach + 1, ncy)):
            a = start[ry * ncx + max(cx - reach, 0)]
            b = start[ry * ncx + min(cx + reach, ncx - 1) + 1]
            # branch-free (a select, not a jump, at the cutoff), and over slices (indices
            # known to be nonnegative: no wraparound check), so that the loop vectorizes
            xr = xs[a:b]
            yr = ys[a:b]
            if cauchy:
                for t in range(xr.shape[0]):
                    dx = x - xr[t]
                    dy = y - yr[t]
                    s = dx * dx + dy * dy
                    u = 1.0 / (1.0 + s)
                    v = s - cutoff2
                    kn = u * u - (c0 + v * (c1 + v * (c2 + v * c3)))
                    kn = kn if s < cutoff2 else 0.0
                    fx += kn * dx
                    fy += kn * dy
                    z += kn * (1.0 + s)
            else:
                for t in range(xr.shape[0]):
                    dx = x - xr[t]
                    dy = y - yr[t]
                    s = dx * dx + dy * dy
                    u = 1.0 / (1.0 + s / dof)
                    v = s - cutoff2
                    kn = u ** (dof + 1.0) - (c0 + v * (c1 + v * (c2 + v * c3)))
                    kn = kn if s < cutoff2 else 0.0
                    fx += kn * dx
                    fy += kn * dy
                    z += kn * (1.0 + s / dof)
        o = order[i] if permuted else np.int64(i)
        rep[o, 0] += fx
        rep[o, 1] += fy
        z_point[o] += z
