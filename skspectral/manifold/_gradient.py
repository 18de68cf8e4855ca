"""The t-SNE gradient: attraction on the sparse affinities, repulsion exactly or by FIt-SNE.

With ``w_ij = (1 + |y_i - y_j|^2 / a)^-a`` (``a`` the degrees of freedom, ``dof``; 1 is the
Cauchy kernel of t-SNE), ``Z = sum_{i != j} w_ij`` and ``q_ij = w_ij / Z``, the gradient of
``KL(P || Q)`` is 4 times (for every ``a``)

    g_i = exaggeration * sum_j p_ij r_ij (y_i - y_j)  -  (1 / Z) sum_j k_ij (y_i - y_j),

``r_ij = (1 + |y_i - y_j|^2 / a)^-1`` and ``k_ij = w_ij r_ij``; as in FIt-SNE and openTSNE we
return ``g`` without the constant, which the learning rate absorbs.

The repulsive sums are, for ``phi_q(y_i) = sum_j k(y_i - y_j) c_q(j)`` with the ``d + 1``
charges ``c = (1, y_j)``: ``sum_j k_ij (y_i - y_j) = y_i phi_0 - phi_{1:}``, and since
``w = k (1 + |y_i - y_j|^2 / a)``, ``Z = sum_i [(1 + 2|y_i|^2 / a) phi_0 - (2 / a) y_i . phi_{1:}]
- N`` (the term ``sum_ij k_ij |y_j|^2`` equals ``sum_j |y_j|^2 phi_0(y_j)`` because ``k`` is
symmetric). So ``d + 1`` convolutions give both the force and ``Z``. FIt-SNE ([1]_) computes the
``phi_q`` by Lagrange interpolation of the charges onto an equispaced grid, a convolution on the
grid with the kernel (:func:`skspectral.fft.convolve_grid`) and interpolation back. Spreading
and gathering use the same weights and the grid kernel is symmetric, so the identity above holds
for the interpolated sums too: ``Z`` costs no extra convolution. Once the embedding is wide
(2-D), the kernel is split into a near field summed directly and a smooth far field on a
grid of wider boxes (:class:`GridField`), so that the grid stops growing with the embedding.

References
----------
.. [1] G. C. Linderman, M. Rachh, J. G. Hoskins, S. Steinerberger, Y. Kluger, "Fast
   interpolation-based t-SNE for improved visualization of single-cell RNA-seq data",
   Nature Methods 16, 243-245 (2019).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

import numba
import numpy as np
import scipy.sparse

from .._backend import effective_n_jobs
from ..fft import convolve_grid, grid_kernel
from . import _kernels as K


def repulsion_kernel(dof: float, ndim: int, cutoff2: float = 0.0):
    """``k(d) = (1 + |d|^2 / dof)^-(dof + 1)`` as a callable of per-axis offsets; with a
    ``cutoff2 > 0``, the far field's kernel: ``k`` beyond the distance ``sqrt(cutoff2)`` and,
    inside it, the cubic in ``s = |d|^2`` that continues ``k`` with three matched derivatives
    (:func:`near_coefficients`), smooth on the scale of the cutoff."""
    a = float(dof)

    def k_of_s(s):
        if a == 1.0:  # the Cauchy kernel squared, without a general power
            return 1.0 / np.square(1.0 + s)
        return (1.0 + s / a) ** -(a + 1.0)

    if cutoff2 > 0:
        c = near_coefficients(a, cutoff2)

        def k_far(s):
            v = np.minimum(s - cutoff2, 0.0)
            inside = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
            return np.where(s < cutoff2, inside, k_of_s(s))
    else:
        k_far = k_of_s
    if ndim == 1:
        return lambda dx: k_far(dx * dx)
    return lambda dx, dy: k_far(dx * dx + dy * dy)


def near_coefficients(dof: float, cutoff2: float) -> np.ndarray:
    """Taylor coefficients of ``k(s) = (1 + s / dof)^-(dof + 1)`` at ``s = cutoff2``, in powers
    of ``s - cutoff2`` up to the cube: the far field's kernel inside the cutoff."""
    a = float(dof)
    u = 1.0 + cutoff2 / a
    out = np.empty(4)
    term = u ** -(a + 1.0)
    for j in range(4):
        out[j] = term
        term *= -(a + 1.0 + j) / (a * u * (j + 1))
    return out


class CompactAffinities:
    """The fit's affinities ``P`` as the attraction kernel reads them every iteration.

    A symmetric ``P`` (the joint affinities always are) is kept as its upper triangle only
    (CSR of the pairs ``i < j``), which :func:`attraction` visits once per pair: half the
    bytes streamed and half the kernel evaluations of the full matrix. Any other ``P`` keeps
    all of its entries (``symmetric`` is then False). Column indices are int32 (while they
    fit) and values float32: that changes the force by about 1e-7 of itself, far below the
    interpolation error.
    """

    __slots__ = ("data", "indices", "indptr", "shape", "symmetric")

    def __init__(self, P):
        self.shape = P.shape
        P = scipy.sparse.csr_matrix(P)
        if not P.has_canonical_format:
            P = P.copy()
            P.sum_duplicates()
        indptr, indices, data = P.indptr, P.indices, P.data
        self.symmetric = False
        if P.shape[0] == P.shape[1]:
            # the entries right of the diagonal (the diagonal adds no force)
            self.symmetric, up_ptr, up_indices, up_data = K.upper_triangle(indptr, indices, data)
            if self.symmetric:
                indptr, indices, data = up_ptr, up_indices, up_data
        self.indptr = np.asarray(indptr, dtype=np.int64)
        big = P.shape[1] > np.iinfo(np.int32).max
        self.indices = np.asarray(indices, dtype=np.int64 if big else np.int32)
        self.data = np.asarray(data, dtype=np.float32)


# Fewest pairs per chunk of the pairwise attraction: below this, one chunk on the calling
# thread is as fast as a parallel launch and a reduction (measured on 2 cores: equal at 8,600
# pairs, two chunks 1.3x faster at 21,000).
PAIRS_PER_CHUNK = 1 << 13


def attraction(P, Y, dof, n_jobs, want_kl=False, R=None):
    """``(F, sum_ij p_ij log w_ij)``: the attractive term (without exaggeration) of the points
    ``Y`` towards the points ``R`` (``Y`` itself by default) and, when ``want_kl``, the KL's
    cross term (else ``nan``).

    ``P`` is a CSR matrix (int64 or int32 indices) or a :class:`CompactAffinities`; a
    symmetric one is summed over its pairs ``i < j`` (``R`` must then be ``Y``), in static
    chunks of equal pair counts, one per thread (so the result depends on ``n_jobs`` only,
    not on the scheduling)."""
    if getattr(P, "symmetric", False):
        if R is not None and R is not Y:
            raise ValueError("pairwise affinities attract the points towards each other")
        return _attraction_pairs(P, Y, dof, n_jobs, want_kl)
    out = np.empty_like(Y)
    log_w = np.empty(Y.shape[0] if want_kl else 0)
    R = Y if R is None else R
    K.attraction(n_jobs, P.indptr, P.indices, P.data, Y, R, float(dof), out, log_w)
    return out, (float(log_w.sum()) if want_kl else math.nan)


def _attraction_pairs(P, Y, dof, n_jobs, want_kl):
    n, d = Y.shape
    n_pairs = int(P.indptr[-1])
    threads = min(effective_n_jobs(n_jobs), numba.config.NUMBA_NUM_THREADS)
    n_chunks = max(1, min(threads, n_pairs // PAIRS_PER_CHUNK))
    cuts = np.arange(n_chunks + 1) * (n_pairs / n_chunks)
    bounds = np.searchsorted(P.indptr, cuts, side="left").astype(np.int64)
    bounds[0], bounds[-1] = 0, n
    work = np.empty((n_chunks, n, 2 * d))
    out = np.empty_like(Y)
    log_w = np.empty(n_chunks if want_kl else 0)
    K.attraction_pairs(
        n_jobs if n_chunks > 1 else 1,
        P.indptr,
        P.indices,
        P.data,
        Y,
        float(dof),
        bounds,
        work,
        out,
        log_w,
    )
    return out, (2.0 * float(log_w.sum()) if want_kl else math.nan)


def exact_repulsion(Y, dof, n_jobs):
    """``(sum_j k_ij (y_i - y_j), Z)``, exactly, in O(N^2)."""
    rep = np.empty_like(Y)
    z_row = np.empty(Y.shape[0])
    K.exact_repulsion(n_jobs, Y, Y, float(dof), rep, z_row)
    return rep, float(z_row.sum()) - Y.shape[0]


class GridField:
    """The FIt-SNE repulsive field of a point set, on an equispaced grid sized to the points.

    Parameters
    ----------
    n_interpolation_points : int
        Lagrange nodes per box and axis (``p``).
    min_num_intervals : int
        Fewest boxes along the widest axis.
    ints_in_interval : float
        Box width when that gives between ``min_num_intervals`` and ``max_num_intervals``
        boxes.
    max_num_intervals : int
        Most boxes along the widest axis: beyond it the boxes widen instead, so that the grid
        (and the time per iteration) stays bounded however far the embedding expands. In 2-D
        the pairs closer than ``NEAR_BOXES`` widened boxes are then summed directly (the near
        field) and only the rest is interpolated, with a kernel that is smooth on the scale of
        the widened boxes, more accurate than unsplit boxes of width ``ints_in_interval``
        (unless the near field would be too dense to sum: see :meth:`plan`).
    dof : float
        Degrees of freedom of the kernel.
    fft_dtype : {numpy.float32, numpy.float64}
        Precision of the grid convolution.

    Box widths are snapped down to a ladder of ``2**(j/8)``, so that while the embedding grows
    slowly the width (and with the box count, the kernel's spectrum) is reused from iteration
    to iteration; the last few kernels are kept.

    The near/far split is that of particle-particle particle-mesh methods (Hockney and
    Eastwood, "Computer Simulation Using Particles", 1981): the kernel is ``k = k_far +
    k_near``, ``k_far`` equal to ``k`` beyond the cutoff and continued inside it by a cubic in
    the squared distance (:func:`repulsion_kernel`), ``k_near`` the rest, zero beyond the
    cutoff, summed over the points of neighbouring cells. The interpolation error of a pair
    at distance ``r`` scales as ``(h / r)^3`` for boxes of width ``h``: with the pairs closer
    than ``1.5 h`` exact it is below that of unsplit boxes of width 1 once ``h`` is a few units,
    and the near field costs in proportion to the points within ``1.5 h`` of each point (a
    number that stays put as the embedding expands: widths and distances grow together).
    """

    LADDER = 8
    CACHE = 4
    # near-field cutoff in box widths (relative error of the repulsive force at a converged
    # 20,000-point embedding, 2 threads: 1.0% with 1.5 and its boxes of width 2.6, 0.3% with
    # 2 and boxes of width 2.2, against 3.1% for unsplit boxes of width 1; 1.5 was the faster
    # whole fit)
    NEAR_BOXES = 1.5
    # time of one near-field pair against that of one grid node (its share of the d + 1
    # padded FFTs, spreading and gathering), measured on 2 cores
    NEAR_PAIR_COST = 1.0 / 100.0
    # most pairs per point that the near field may visit (else it is not used)
    NEAR_BUDGET = 400

    def __init__(
        self,
        n_interpolation_points,
        min_num_intervals,
        ints_in_interval,
        max_num_intervals,
        dof,
        fft_dtype=np.float32,
    ):
        self.p = int(n_interpolation_points)
        self.min_intervals = int(min_num_intervals)
        self.ints_in_interval = float(ints_in_interval)
        self.max_intervals = int(max(max_num_intervals, min_num_intervals))
        self.dof = float(dof)
        self.fft_dtype = np.dtype(fft_dtype).type
        self._kernels = OrderedDict()

    # -------------------------------------------------------------- layout
    def box_width(self, extent: float, at_least: float = 0.0) -> float:
        """Width of a box for points spread over ``extent`` along the widest axis (at least
        ``at_least``)."""
        extent = max(float(extent), 1e-12)
        h = self.ints_in_interval
        h = min(h, extent / self.min_intervals)
        h = max(h, extent / self.max_intervals, at_least)
        return 2.0 ** (math.floor(math.log2(h) * self.LADDER) / self.LADDER)

    def plan(self, Y, lo, hi):
        """``(h, cells)``: the box width for the 1-D or 2-D points ``Y`` (within ``[lo, hi]``)
        and the :class:`CellList` of the near field, or ``None`` (no near field; always in 1-D).

        The boxes widen past ``ints_in_interval`` when ``max_num_intervals`` demands it, or
        when widening is cheaper by a cost model: grid nodes (each costs its share of the
        FFTs) against the pairs that the near field visits (the cells around each point, at
        the points' local density, measured on a 32 x 32 histogram). Both are quadratic in
        the width, the first inversely, so the cheapest width solves a quartic; as the
        embedding expands, its grid then stops growing. The near field is dropped when its
        cells would visit more than ``NEAR_BUDGET`` pairs per point (counted exactly, before
        any is visited): then the boxes stay at their unwidened width, or, widened by
        ``max_num_intervals``, lose accuracy instead of time.
        """
        ext = hi - lo
        extent = float(ext.max())
        h = self.box_width(extent)
        if Y.shape[1] != 2:
            return h, None
        n = Y.shape[0]
        bins = 32
        density = K.local_density(Y, lo, max(extent, 1e-12) / bins, bins)
        nodes = self.p * self.p * float(ext[0]) * float(ext[1])
        reach = CellList.REACH
        pairs = n * density * ((2 * reach + 1) / reach * self.NEAR_BOXES) ** 2
        best = (nodes / (self.NEAR_PAIR_COST * max(pairs, 1e-300))) ** 0.25
        unbounded = min(self.ints_in_interval, max(extent, 1e-12) / self.min_intervals)
        widened = h > unbounded * (1 + 1e-9)  # by max_num_intervals
        # (no near field while the boxes are narrower than ``ints_in_interval``: the grid is
        # then the smallest, ``min_num_intervals`` boxes, and the points densest)
        if not widened and best <= max(h, self.ints_in_interval) * 2 ** (1 / self.LADDER):
            return h, None
        wide = self.box_width(extent, best)
        cells = CellList.build(Y, lo, hi, self.NEAR_BOXES * wide, self.NEAR_BUDGET * n)
        if cells is None:
            return h, None
        return wide, cells

    def layout(self, lo, hi, h=None):
        """``(origin, h, n_boxes)`` of a grid of boxes of width ``h`` (by default
        :meth:`box_width`'s) covering the box ``[lo, hi]``, centred on it."""
        lo = np.asarray(lo, dtype=np.float64)
        hi = np.asarray(hi, dtype=np.float64)
        ext = hi - lo
        h = self.box_width(float(ext.max())) if h is None else float(h)
        n_boxes = np.maximum(1, np.ceil(ext / h * (1 + 1e-12)))
        # box counts rounded up to a ladder of 2^(1/16) steps: while the embedding expands, the
        # grid's shape (and with it the kernel's spectrum) changes every few percent of growth,
        # not at every box
        n_boxes = np.ceil(2.0 ** (np.ceil(np.log2(n_boxes) * 16 - 1e-9) / 16) - 1e-9)
        n_boxes = n_boxes.astype(np.int64)
        origin = lo - 0.5 * (n_boxes * h - ext)
        return origin, h, n_boxes

    def kernel(self, shape, spacing, ndim, cutoff=0.0):
        key = (tuple(shape), spacing, cutoff)
        k = self._kernels.get(key)
        if k is None:
            kern = repulsion_kernel(self.dof, ndim, cutoff * cutoff)
            k = grid_kernel(kern, shape, spacing, dtype=self.fft_dtype)
            self._kernels[key] = k
            while len(self._kernels) > self.CACHE:
                self._kernels.popitem(last=False)
        else:
            self._kernels.move_to_end(key)
        return k

    # -------------------------------------------------------------- the steps
    def weights(self, Y, origin, h, n_boxes, n_jobs):
        n, d = Y.shape
        box = np.empty((n, d), dtype=np.int64)
        W = np.empty((n, d, self.p))
        K.lagrange_setup(n_jobs, Y, origin, float(h), n_boxes, self.p, box, W)
        return box, W

    def spread(self, box, W, charges, n_boxes, n_jobs, dtype=np.float64):
        """The charges on the grid (``dtype``: the convolution's float32 grid is spread into
        directly, with no conversion copy)."""
        shape = tuple(int(b) * self.p for b in n_boxes)
        # one grid per thread only pays once the points outnumber the grid's nodes
        n_chunks = max(1, min(effective_n_jobs(n_jobs), box.shape[0] // 200_000 + 1))
        grids = np.empty((n_chunks, charges.shape[0], *shape), dtype=dtype)
        # one chunk runs on the calling thread: no parallel launch (whose idle workers spin for
        # a while) just before the FFT's threads start
        spread = K.spread_1d if len(shape) == 1 else K.spread_2d
        spread(n_jobs if n_chunks > 1 else 1, box, W, charges, grids)
        if n_chunks == 1:
            return grids[0]
        out = np.empty(grids.shape[1:], dtype=dtype)
        K.sum_grids(n_jobs, grids, out)
        return out

    # Grids of fewer padded nodes than this are transformed on one thread: starting scipy.fft's
    # workers costs more than it saves there (measured on 2 cores: 186^2 grids, 3 charges).
    FFT_THREADS_FROM = 1 << 18

    def convolve(self, grid, h, n_jobs, cutoff=0.0):
        """The grid convolution, in ``self.fft_dtype`` (float32 by default: its rounding,
        about 1e-7 of the largest potential, is far below the interpolation error); the
        potentials are returned in that dtype (the gathering accumulates in float64). With a
        ``cutoff``, of the far field's kernel."""
        shape = grid.shape[1:]
        kern = self.kernel(shape, h / self.p, len(shape), cutoff)
        workers = effective_n_jobs(n_jobs)
        if math.prod(kern.fft_shape) < self.FFT_THREADS_FROM:
            workers = 1
        return convolve_grid(grid.astype(self.fft_dtype, copy=False), kern, workers=workers)

    def gather(self, box, W, pot, n_jobs):
        out = np.empty((pot.shape[0], box.shape[0]))
        (K.gather_1d if pot.ndim == 2 else K.gather_2d)(n_jobs, box, W, pot, out)
        return out

    # -------------------------------------------------------------- the field of a point set
    def prepare(self, Y):
        """``(h, cells, origin, n_boxes)``: the grid (:meth:`plan`, :meth:`layout`) and the
        near field's :class:`CellList` (or ``None``) of the 1-D or 2-D points ``Y``."""
        if Y.shape[1] not in (1, 2):
            raise ValueError("the FFT-interpolated gradient supports 1-D and 2-D embeddings")
        lo, hi = K.bounds(Y)
        h, cells = self.plan(Y, lo, hi)
        origin, h, n_boxes = self.layout(lo, hi, h)
        return h, cells, origin, n_boxes

    def far_grid(self, Y, h, cells, origin, n_boxes, n_jobs):
        """``(box, W, potentials)``: the points' Lagrange weights and the potentials of the
        ``d + 1`` charges ``(1, y_j)`` on the grid (of the far field's kernel when there is a
        near field, ``cells``)."""
        n, d = Y.shape
        cutoff = 0.0 if cells is None else cells.cutoff
        box, W = self.weights(Y, origin, h, n_boxes, n_jobs)
        charges = np.empty((d + 1, n))
        charges[0] = 1.0
        charges[1:] = Y.T
        grid = self.spread(box, W, charges, n_boxes, n_jobs, dtype=self.fft_dtype)
        return box, W, self.convolve(grid, h, n_jobs, cutoff)

    def far_points(self, Y, box, W, pot, part, n_jobs, rep, z_point):
        """``rep[part]`` and ``z_point[part]``: the points' interpolated repulsion ``sum_j k_ij
        (y_i - y_j)`` and their rows of ``Z`` (with the point itself), gathered from the
        potentials ``pot``. Each point's values do not depend on ``part``."""
        phi = self.gather(box[part], W[part], pot, n_jobs)
        # no NumPy reduction that could call BLAS here: OpenBLAS's threads keep spinning for a
        # while after a call and, on few cores, slow numba's and scipy.fft's threads several fold
        K.combine_potentials(n_jobs, Y[part], phi, self.dof, rep[part], z_point[part])

    def repulsion(self, Y, n_jobs):
        """``(sum_j k_ij (y_i - y_j), Z)`` by interpolation: ``d + 1`` grid convolutions (and
        the near field, when the boxes are widened)."""
        h, cells, origin, n_boxes = self.prepare(Y)
        box, W, pot = self.far_grid(Y, h, cells, origin, n_boxes, n_jobs)
        rep = np.empty_like(Y)
        z_point = np.empty(Y.shape[0])
        self.far_points(Y, box, W, pot, slice(None), n_jobs, rep, z_point)
        if cells is not None:
            cells.add_near_field(cells.xs, cells.ys, cells.order, self.dof, n_jobs, rep, z_point)
        return rep, float(z_point.sum()) - Y.shape[0]


# Fewest points at which the attraction and the repulsion no longer run side by side (one
# thread a side) but each on all threads in turn: the attraction then dominates, and on one
# thread it takes longer than both on two (measured on 2 cores, one gradient at the final
# embedding: 20,000 points 5.4-6.6 ms side by side against 7.2-7.6 ms in turn, 100,000 points
# 56-63 ms against 59-70 ms, 1,000,000 points 0.87-1.0 s against 0.56-0.82 s).
OVERLAP_BELOW = 200_000


class Overlap:
    """The attraction on a second Python thread while the calling thread computes the FFT
    repulsion, each side on half the threads (one each for ``n_jobs=2``).

    Spreading and the grid FFT are serial steps, and on few cores a thread that has just left
    a parallel kernel spins for a while, slowing the next serial step; two serial streams
    side by side use both cores with neither. The calling thread computes the grid's
    potentials while the other computes the attraction and then its share of the near field
    (when there is one); both then gather the potentials, each at half the points, and the
    calling thread sums the rest of the near field. Every point's sums are computed alike
    whichever side computes them, so the result does not depend on the shares (and with one
    thread a side it equals the one-thread result); the near field's share follows the
    measured times of the previous call, so that both sides finish together. :meth:`close`
    ends the worker thread."""

    def __init__(self, n_jobs):
        from concurrent.futures import ThreadPoolExecutor

        threads = effective_n_jobs(n_jobs)
        self.attraction_jobs = max(1, threads // 2)
        self.repulsion_jobs = max(1, threads - threads // 2)
        self.share = 0.5  # of the near field's queries, on the attraction's side
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skspectral-tsne")

    def close(self):
        self._pool.shutdown(wait=True)

    def forces(self, P, Y, field, want_kl):
        """``(attraction, cross term, repulsion, Z)`` as :func:`attraction` and
        :meth:`GridField.repulsion` give them."""
        n = Y.shape[0]
        h, cells, origin, n_boxes = field.prepare(Y)
        m = 0 if cells is None else n
        cut = int(round(self.share * m))
        half = n // 2
        dof = field.dof
        rep = np.empty_like(Y)
        z_point = np.empty(n)
        grid = []  # the calling side's (box, W, potentials), once ready
        ready = threading.Event()

        def near_part(part, jobs):
            out = (np.zeros_like(Y), np.zeros(n))
            qx, qy, order = cells.xs[part], cells.ys[part], cells.order[part]
            cells.add_near_field(qx, qy, order, dof, jobs, out[0], out[1])
            return out

        def side():
            start = time.perf_counter()
            jobs = self.attraction_jobs
            attr, cross = attraction(P, Y, dof, jobs, want_kl)
            t_near = time.perf_counter()
            near = near_part(slice(0, cut), jobs) if cut else None
            t_near = time.perf_counter() - t_near
            ready.wait()
            if grid:
                field.far_points(Y, *grid[0], slice(half, n), jobs, rep, z_point)
            return attr, cross, near, t_near, time.perf_counter() - start

        future = self._pool.submit(side)
        start = time.perf_counter()
        near = None
        try:
            try:
                grid.append(field.far_grid(Y, h, cells, origin, n_boxes, self.repulsion_jobs))
            finally:
                ready.set()  # (also on failure: the other side must not wait forever)
            field.far_points(Y, *grid[0], slice(0, half), self.repulsion_jobs, rep, z_point)
            t_near = time.perf_counter()
            if cut < m:
                near = near_part(slice(cut, m), self.repulsion_jobs)
            end = time.perf_counter()
        finally:
            # (always joined: the worker writes into arrays of this call)
            attr, cross, near_a, t_near_a, t_side = future.result()
        for part in (near_a, near):
            if part is not None:
                rep += part[0]
                z_point += part[1]
        if m:
            self._rebalance(t_side, end - start, t_near_a + end - t_near)
        return attr, cross, rep, float(z_point.sum()) - n

    def _rebalance(self, t_side, t_here, t_near):
        """Moves the share of the near field by the part that would have made both sides take
        as long (``t_near``: the whole near field's time); half-way there (the times are
        noisy)."""
        if t_near <= 0:
            return
        s = min(1.0, max(0.0, self.share + (t_here - t_side) / (2.0 * t_near)))
        self.share = 0.5 * (self.share + s)


class CellList:
    """2-D points sorted into square cells (``reach`` cells to the cutoff), for the near field:
    the sums of ``k_near`` (:func:`repulsion_kernel`'s remainder below the cutoff) over the
    points closer than ``cutoff`` to each query."""

    REACH = 2  # cells of half the cutoff: 5 x 5 of them hold a disc in 30% less area than 3 x 3

    def __init__(self, R, lo, width, ncx, ncy, cutoff):
        n = R.shape[0]
        self.cutoff = float(cutoff)
        self.lo = np.asarray(lo, dtype=np.float64)
        self.width = float(width)
        self.ncx = int(ncx)
        self.ncy = int(ncy)
        self.start = np.empty(self.ncx * self.ncy + 1, dtype=np.int64)
        self.order = np.empty(n, dtype=np.int64)
        self.xs = np.empty(n)
        self.ys = np.empty(n)
        K.cell_sort_2d(
            R, self.lo, self.width, self.ncx, self.ncy, self.start, self.order, self.xs, self.ys
        )

    @classmethod
    def build(cls, R, lo, hi, cutoff, max_pairs):
        """The cell list of ``R`` for ``cutoff``, or ``None`` when it would have more than
        ``4 n + 2^20`` cells (an outlier far from the rest) or its queries at ``R`` would visit
        more than ``max_pairs`` pairs (too dense for the cutoff)."""
        n = R.shape[0]
        lo = np.asarray(lo, dtype=np.float64)
        ext = np.asarray(hi, dtype=np.float64) - lo
        width = float(cutoff) / cls.REACH * (1 + 1e-12)
        ncx, ncy = (max(1, math.ceil(float(e) / width)) for e in ext)
        if ncx * ncy > 4 * n + (1 << 20):
            return None
        cells = cls(R, lo, width, ncx, ncy, cutoff)
        if K.cell_pairs(cells.start, ncx, ncy, cls.REACH) > max_pairs:
            return None
        return cells

    def add_near_field(self, qx, qy, order, dof, n_jobs, rep, z):
        """Adds the near field at the queries ``(qx, qy)`` to ``rep[order]`` and ``z[order]``
        (``order`` empty: in the queries' order)."""
        coef = near_coefficients(dof, self.cutoff**2)
        K.near_field_2d(
            n_jobs,
            qx,
            qy,
            order,
            self.xs,
            self.ys,
            self.start,
            self.lo,
            self.width,
            self.ncx,
            self.ncy,
            self.REACH,
            self.cutoff**2,
            float(dof),
            coef,
            rep,
            z,
        )


class ReferenceField:
    """The repulsive field of a frozen reference embedding, computed once, for placing new
    points: potentials of the ``d + 2`` charges ``(1, y_j, |y_j|^2)`` on a grid that covers the
    reference with a margin (points outside it see the field of its edge), and, when the
    grid's boxes are widened, the near field summed directly (as in :meth:`GridField.repulsion`).
    ``evaluate(Y)`` gives each new point's repulsion ``sum_j k(y - r_j)(y - r_j)`` and its own
    normalization ``Z(y) = sum_j w(y - r_j)`` over the reference points."""

    def __init__(self, R, field: GridField, n_jobs, margin=0.1):
        n, d = R.shape
        lo, hi = K.bounds(R)
        pad = margin * float((hi - lo).max()) + 2.0
        self.field = field
        h, self.cells = field.plan(R, lo - pad, hi + pad)
        cutoff = 0.0 if self.cells is None else self.cells.cutoff
        self.origin, self.h, self.n_boxes = field.layout(lo - pad, hi + pad, h)
        box, W = field.weights(R, self.origin, self.h, self.n_boxes, n_jobs)
        charges = np.empty((d + 2, n))
        charges[0] = 1.0
        charges[1 : d + 1] = R.T
        charges[d + 1] = np.einsum("ij,ij->i", R, R)
        grid = field.spread(box, W, charges, self.n_boxes, n_jobs)
        self.potentials = field.convolve(grid, self.h, n_jobs, cutoff)
        field._kernels.clear()  # the reference's kernel is not needed again

    def evaluate(self, Y, n_jobs):
        d = Y.shape[1]
        box, W = self.field.weights(Y, self.origin, self.h, self.n_boxes, n_jobs)
        phi = self.field.gather(box, W, self.potentials, n_jobs)
        rep = Y * phi[0][:, None] - phi[1 : d + 1].T
        sq = np.einsum("ij,ij->i", Y, Y)
        a = self.field.dof
        z = (1.0 + sq / a) * phi[0] - (2.0 / a) * np.einsum("ij,ji->i", Y, phi[1 : d + 1])
        z += phi[d + 1] / a
        if self.cells is not None:
            qx = np.ascontiguousarray(Y[:, 0], dtype=np.float64)
            qy = np.ascontiguousarray(Y[:, 1], dtype=np.float64)
            self.cells.add_near_field(qx, qy, np.empty(0, np.int64), a, n_jobs, rep, z)
        return rep, np.maximum(z, np.finfo(np.float64).tiny)


class ExactReference:
    """The repulsion of a frozen reference, summed exactly (small references, ``d > 2``)."""

    def __init__(self, R, dof):
        self.R = R
        self.dof = float(dof)

    def evaluate(self, Y, n_jobs):
        rep = np.empty_like(Y)
        z = np.empty(Y.shape[0])
        K.exact_repulsion(n_jobs, Y, self.R, self.dof, rep, z)
        return rep, np.maximum(z, np.finfo(np.float64).tiny)
