"""Extensible rank-1 lattices and base-2 digital nets in radical-inverse order.

Both engines follow :class:`scipy.stats.qmc.QMCEngine` (``random``, ``reset``, ``fast_forward``,
``rng``). Point ``i`` of a sequence is built from the base-2 radical inverse of ``i`` (lattice)
or from the binary digits of ``i`` (net), so that the first ``2**m`` points of the sequence form
a lattice / net for every ``m``, and doubling the size of the design appends a second copy
shifted by the same structure (the order in which the fast transforms of ``skspectral.fft``
diagonalize shift-invariant and digitally-shift-invariant Gram matrices).

References
----------
Cools, Kuo and Nuyens, "Constructing embedded lattice rules for multivariate integration",
SIAM J. Sci. Comput. 28(6), 2006 (the shipped generating vector, from F. Y. Kuo's web page).
Joe and Kuo, "Constructing Sobol' sequences with better two-dimensional projections",
SIAM J. Sci. Comput. 30(5), 2008 (the direction numbers of the shipped generating matrices).
Owen, "Variance with alternative scramblings of digital nets", ACM TOMACS 13(4), 2003 (linear
matrix scrambling and digital shift).
"""

from __future__ import annotations

import functools
import os

import numpy as np
from scipy.stats import qmc

_DATA = os.path.join(os.path.dirname(__file__), "data")
_LATTICE_FILE = "lattice_kuo_33002_1024_1048576_9125.npy"
_SOBOL_FILE = "sobol_joe_kuo_6_1024x32.npy"

#: Bits of precision of the digital nets (points are integers below ``2**NET_BITS``).
NET_BITS = 32
_LATTICE_BITS = 32

PERIODIZATIONS = (None, "tent", "baker", "cosine")


@functools.cache
def _load(name):
    a = np.load(os.path.join(_DATA, name))
    a.setflags(write=False)
    return a


def default_generating_vector(d: int) -> np.ndarray:
    """The first ``d`` components of the shipped embedded lattice rule (Cools, Kuo and Nuyens
    2006, "lattice-33002-1024-1048576.9125"; good for ``2**10 <= n <= 2**20``, ``d <= 9125``)."""
    z = _load(_LATTICE_FILE)
    if d > z.shape[0]:
        raise ValueError(f"the shipped generating vector has {z.shape[0]} components; d={d}")
    return z[:d].astype(np.int64)


def default_generating_matrices(d: int) -> np.ndarray:
    """Sobol' generating matrices (Joe and Kuo 2008 direction numbers, ``new-joe-kuo-6``) of the
    first ``d`` dimensions: ``(d, 32)`` integers, column ``k`` of dimension ``j`` stored as the
    integer whose bit ``31 - r`` is the matrix entry of row ``r``."""
    c = _load(_SOBOL_FILE)
    if d > c.shape[0]:
        raise ValueError(f"the shipped generating matrices cover {c.shape[0]} dimensions; d={d}")
    return c[:d].astype(np.uint64)


def radical_inverse_int(i, bits: int = _LATTICE_BITS) -> np.ndarray:
    """Bits of the integers ``i`` reversed on ``bits`` bits (the radical inverse times 2**bits)."""
    i = np.asarray(i, dtype=np.uint64)
    out = np.zeros_like(i)
    for b in range(bits):
        out |= ((i >> np.uint64(b)) & np.uint64(1)) << np.uint64(bits - 1 - b)
    return out


# ------------------------------------------------------------------------------------------
# periodizing fold maps T: [0, 1] -> [0, 1] with T(u) = T(1 - u); x = T(u) on the design
# ------------------------------------------------------------------------------------------
def periodize(u, kind):
    """Map unit points ``u`` through the periodizing fold ``kind`` (``x = T(u)``).

    ``"tent"`` (alias ``"baker"``): ``T(u) = 1 - |2u - 1|`` (Hickernell 2002), measure-preserving
    but with a kink at ``u = 1/2``. ``"cosine"``: ``T(u) = (1 - cos(2 pi u)) / 2``, infinitely
    smooth and periodic, so ``f(T(u))`` is as smooth as ``f`` and periodic for any smooth ``f``.
    """
    u = np.asarray(u, dtype=float)
    if kind is None:
        return u
    if kind in ("tent", "baker"):
        return 1.0 - np.abs(2.0 * u - 1.0)
    if kind == "cosine":
        return 0.5 - 0.5 * np.cos(2.0 * np.pi * u)
    raise ValueError(f"unknown periodization {kind!r}; expected one of {PERIODIZATIONS}")


def unperiodize(x, kind):
    """A preimage in ``[0, 1/2]`` of ``x`` under :func:`periodize` (its inverse on that half)."""
    x = np.asarray(x, dtype=float)
    if kind is None:
        return x
    if kind in ("tent", "baker"):
        return 0.5 * x
    if kind == "cosine":
        return np.arccos(np.clip(1.0 - 2.0 * x, -1.0, 1.0)) / (2.0 * np.pi)
    raise ValueError(f"unknown periodization {kind!r}; expected one of {PERIODIZATIONS}")


class _Design(qmc.QMCEngine):
    """Shared part: randomization drawn once at construction, box and periodization."""

    def __init__(self, d, *, l_bounds=None, u_bounds=None, periodization=None, seed=None):
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"d must be a positive integer, got {d!r}")
        super()._initialize(int(d), rng=seed)
        if periodization not in PERIODIZATIONS:
            raise ValueError(
                f"periodization must be one of {PERIODIZATIONS}, got {periodization!r}"
            )
        self.periodization = "tent" if periodization == "baker" else periodization
        lb = (
            np.zeros(self.d)
            if l_bounds is None
            else np.broadcast_to(np.asarray(l_bounds, dtype=float), (self.d,)).copy()
        )
        ub = (
            np.ones(self.d)
            if u_bounds is None
            else np.broadcast_to(np.asarray(u_bounds, dtype=float), (self.d,)).copy()
        )
        if not (np.all(np.isfinite(lb)) and np.all(np.isfinite(ub)) and np.all(ub > lb)):
            raise ValueError("l_bounds and u_bounds must be finite with u_bounds > l_bounds")
        self.l_bounds, self.u_bounds = lb, ub

    # the design in unit coordinates (before box and periodization)
    def _unit(self, start, n):
        raise NotImplementedError

    def _random(self, n=1, *, workers=1):
        return self.from_unit(self._unit(self.num_generated, n))

    def random(self, n=1, *, workers=1):
        """Next ``n`` points of the sequence (in the box, after the periodization)."""
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be non-negative, got {n}")
        return super().random(n, workers=workers)

    def fast_forward(self, n):
        """Skip the next ``n`` points (no points are generated)."""
        self.num_generated += int(n)
        return self

    def from_unit(self, u):
        """Box and periodization applied to unit-cube design points ``u``."""
        return self.l_bounds + (self.u_bounds - self.l_bounds) * periodize(u, self.periodization)

    def to_unit(self, x, *, check=True, atol=1e-12):
        """Inverse of :meth:`from_unit` (a preimage in ``[0, 1/2]`` under a periodization).

        Raises ValueError when ``check`` and a point lies outside the box (beyond ``atol`` of
        its width).
        """
        x = np.asarray(x, dtype=float)
        t = (x - self.l_bounds) / (self.u_bounds - self.l_bounds)
        if check and (np.any(t < -atol) or np.any(t > 1.0 + atol)):
            raise ValueError(
                "X has points outside the box of the design "
                f"[{self.l_bounds.tolist()}, {self.u_bounds.tolist()}]"
            )
        return unperiodize(np.clip(t, 0.0, 1.0) if self.periodization else t, self.periodization)


class Lattice(_Design):
    """Extensible rank-1 lattice sequence in radical-inverse order with a random shift.

    Point ``i`` is ``frac(phi(i) z + Delta)`` with ``phi`` the base-2 radical inverse (van der
    Corput), ``z`` the generating vector and ``Delta`` a uniform random shift. The first ``2**m``
    points form the rank-1 lattice ``{frac(k z / 2**m + Delta)}``; a kernel matrix of a
    shift-invariant kernel on them is circulant in bit-reversed order (diagonalized by
    :func:`skspectral.fft.fftbr`).

    Parameters
    ----------
    d : int
        Dimension.
    generating_vector : array-like of int, optional
        Odd integers ``z`` (``z[0]`` odd); by default the first ``d`` components of the embedded
        rule of Cools, Kuo and Nuyens (2006) shipped in ``skspectral/qmc/data``
        (``d <= 9125``, tuned for ``2**10 <= n <= 2**20``).
    randomize : bool, default=True
        Apply a uniform random shift (drawn once, at construction, from ``seed``).
    l_bounds, u_bounds : array-like, optional
        Box the points are scaled to (default the unit cube).
    periodization : {None, "tent", "baker", "cosine"}, default=None
        Fold map applied to the unit points before scaling (see :func:`periodize`).
    seed : None, int or numpy.random.Generator
        Randomness of the shift.

    Attributes
    ----------
    generating_vector : ndarray of int64
    shift : ndarray of float, shape (d,)

    Examples
    --------
    >>> from skspectral.qmc import Lattice
    >>> x = Lattice(2, seed=0).random(8)
    >>> x.shape
    (8, 2)
    """

    def __init__(
        self,
        d,
        *,
        generating_vector=None,
        randomize=True,
        l_bounds=None,
        u_bounds=None,
        periodization=None,
        seed=None,
    ):
        super().__init__(
            d, l_bounds=l_bounds, u_bounds=u_bounds, periodization=periodization, seed=seed
        )
        if generating_vector is None:
            z = default_generating_vector(self.d)
            self.generators_name = "Cools-Kuo-Nuyens lattice-33002-1024-1048576.9125"
        else:
            z = np.asarray(generating_vector)
            if z.shape != (self.d,) or not np.issubdtype(z.dtype, np.integer):
                raise ValueError(f"generating_vector must hold {self.d} integers")
            if np.any(z < 0) or np.any(z >= 2**_LATTICE_BITS) or z[0] % 2 == 0:
                raise ValueError("generating_vector must be in [0, 2**32) with z[0] odd")
            z = z.astype(np.int64)
            self.generators_name = "user generating vector"
        self.generating_vector = z
        self.randomize = bool(randomize)
        self.shift = self.rng.random(self.d) if self.randomize else np.zeros(self.d)

    def _unit(self, start, n):
        i = np.arange(start, start + n, dtype=np.uint64)
        r = radical_inverse_int(i)
        zz = self.generating_vector.astype(np.uint64) & np.uint64(2**_LATTICE_BITS - 1)
        k = (r[:, None] * zz[None, :]) & np.uint64(2**_LATTICE_BITS - 1)
        u = k.astype(float) / 2.0**_LATTICE_BITS + self.shift
        return u - np.floor(u)


class DigitalNet(_Design):
    """Base-2 digital net (Sobol') sequence in radical-inverse (natural) order.

    Point ``i`` has the integer coordinates ``C_j i XOR S_j`` (over GF(2), 32 bits), with ``C_j``
    the generating matrices (optionally linearly scrambled: ``L_j C_j`` with a random lower
    triangular unit-diagonal ``L_j``) and ``S_j`` a random digital shift; the float point is
    that integer times ``2**-32``. A digitally-shift-invariant kernel matrix on the first
    ``2**m`` points depends on ``i XOR k`` only and is diagonalized by the Walsh-Hadamard
    transform (:func:`skspectral.fft.fwht`).

    Parameters
    ----------
    d : int
    generating_matrices : array-like of shape (d, m_max), optional
        Columns as integers (bit ``31 - r`` is row ``r``); default the Joe-Kuo Sobol' matrices
        shipped in ``skspectral/qmc/data`` (``d <= 1024``, 32 columns).
    randomize : {"lms_ds", "ds", None}, default="ds"
        Linear matrix scrambling and digital shift, digital shift only, or none.
    l_bounds, u_bounds, periodization, seed
        As for :class:`Lattice`.

    Attributes
    ----------
    generating_matrices : ndarray of uint64, shape (d, m_max)
        The (scrambled) matrices in use.
    shift_int : ndarray of uint64, shape (d,)

    Examples
    --------
    >>> from skspectral.qmc import DigitalNet
    >>> DigitalNet(3, randomize=None).random(4)[:, 0]
    array([0.  , 0.5 , 0.25, 0.75])
    """

    def __init__(
        self,
        d,
        *,
        generating_matrices=None,
        randomize="ds",
        l_bounds=None,
        u_bounds=None,
        periodization=None,
        seed=None,
    ):
        super().__init__(
            d, l_bounds=l_bounds, u_bounds=u_bounds, periodization=periodization, seed=seed
        )
        if randomize not in ("lms_ds", "ds", None):
            raise ValueError(f"randomize must be 'lms_ds', 'ds' or None, got {randomize!r}")
        if generating_matrices is None:
            c = default_generating_matrices(self.d)
            self.generators_name = "Sobol' (Joe-Kuo new-joe-kuo-6) generating matrices"
        else:
            c = np.asarray(generating_matrices)
            if c.ndim != 2 or c.shape[0] != self.d or not np.issubdtype(c.dtype, np.integer):
                raise ValueError(f"generating_matrices must be integers of shape ({self.d}, m)")
            if c.shape[1] > NET_BITS or np.any(c < 0) or np.any(c >= 2**NET_BITS):
                raise ValueError("generating_matrices must have <= 32 columns in [0, 2**32)")
            c = c.astype(np.uint64)
            self.generators_name = "user generating matrices"
        self.randomize = randomize
        if randomize == "lms_ds":
            c = _linear_scramble(c, self.rng)
        self.generating_matrices = c
        self.shift_int = (
            self.rng.integers(0, 2**NET_BITS, size=self.d, dtype=np.uint64)
            if randomize is not None
            else np.zeros(self.d, dtype=np.uint64)
        )

    def unit_integers(self, start, n):
        """Integer coordinates (``< 2**32``) of points ``start`` to ``start + n - 1``."""
        i = np.arange(start, start + n, dtype=np.uint64)
        c = self.generating_matrices
        if n and start + n - 1 >= 2 ** c.shape[1]:
            raise ValueError(f"the net has at most 2**{c.shape[1]} points")
        out = np.broadcast_to(self.shift_int, (n, self.d)).copy()
        for k in range(c.shape[1]):
            bit = ((i >> np.uint64(k)) & np.uint64(1)).astype(bool)
            if not bit.any():
                continue
            out[bit] ^= c[:, k]
        return out

    def _unit(self, start, n):
        return self.unit_integers(start, n).astype(float) / 2.0**NET_BITS


def _linear_scramble(c, rng):
    """``L_j C_j`` for random lower-triangular unit-diagonal ``L_j`` (over GF(2), 32 rows)."""
    d, m = c.shape
    shifts = np.arange(NET_BITS - 1, -1, -1, dtype=np.uint64)  # row r <-> bit 31 - r
    weights = np.uint64(1) << shifts
    out = np.empty_like(c)
    for j in range(d):
        low = np.tril(rng.integers(0, 2, size=(NET_BITS, NET_BITS)), -1)
        L = low + np.eye(NET_BITS, dtype=low.dtype)
        bits = ((c[j][None, :] >> shifts[:, None]) & np.uint64(1)).astype(np.int64)  # (32, m)
        prod = (L @ bits) & 1
        out[j] = (prod.astype(np.uint64) * weights[:, None]).sum(axis=0, dtype=np.uint64)
    return out
