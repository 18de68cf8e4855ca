"""
==========================================================
Fast transforms: lattice kernel matrices and timing
==========================================================

Two things the fast transforms of :mod:`skspectral.fft` are for.

First, the Gram matrix of a shift-invariant kernel on a rank-1 lattice, with the points in
radical-inverse order, is diagonalized by the FFT in bit-reversed order
(:func:`~skspectral.fft.fftbr`, :func:`~skspectral.fft.ifftbr`): a product with it, or a solve,
costs :math:`O(n \\log n)` from its first column alone. We check this against the dense matrix.

Second, how the fast Walsh-Hadamard transform (:func:`~skspectral.fft.fwht`) scales against a
dense Hadamard product and against :func:`scipy.fft.fft`.
"""

# %%
# A lattice in radical-inverse order and a shift-invariant kernel
# ---------------------------------------------------------------
# A rank-1 lattice of :math:`n = 2^m` points with generating vector :math:`z`, taken in
# radical-inverse order, is :math:`x_i = \{\beta(i) z / n\}`, where :math:`\beta` reverses the
# :math:`m` bits of :math:`i`. The Korobov kernel of smoothness two is built from the Bernoulli
# polynomial :math:`B_2(u) = u^2 - u + 1/6`:
#
# .. math::
#
#    K(x, t) = \prod_j \bigl(1 + 2\pi^2 \eta\, B_2(\{x_j - t_j\})\bigr).
#
# Its value depends only on :math:`x - t` modulo one. Any odd generating vector shows the
# structure; its quality matters for integration error, not here.

import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.fft
from scipy.linalg import hadamard

from skspectral.fft import bit_reversal_permutation, fftbr, fwht, ifftbr

m, eta = 7, 0.5
n = 2**m
z = np.array([1, 47])
rev = bit_reversal_permutation(m)
x = (rev[:, None] * z / n) % 1.0


def korobov(a, b):
    """Korobov kernel of smoothness two between the rows of ``a`` and of ``b``."""
    u = (a[:, None, :] - b[None, :, :]) % 1.0
    return np.prod(1.0 + 2.0 * np.pi**2 * eta * (u * u - u + 1.0 / 6.0), axis=-1)


K = korobov(x, x)  # dense n x n: only to check the fast path

# %%
# The product and the solve from the first column
# -----------------------------------------------
# The eigenvalues are :math:`\lambda = \sqrt{n}\,\mathrm{fftbr}(K_{:,0})`; then
# :math:`K y = \mathrm{ifftbr}(\lambda \odot \mathrm{fftbr}(y))`, and dividing by
# :math:`\lambda` instead of multiplying solves :math:`K c = y`. Only the first column of
# :math:`K` (the kernel between every point and :math:`x_0 = 0`) is computed.

first_column = korobov(x, x[:1])[:, 0]
lam = np.sqrt(n) * fftbr(first_column)
y = np.random.default_rng(0).normal(size=n)

fast_product = ifftbr(lam * fftbr(y)).real
fast_solve = ifftbr(fftbr(y) / lam).real

print(f"largest imaginary part of the eigenvalues: {np.abs(lam.imag).max():.1e}")
print(f"smallest eigenvalue: {lam.real.min():.4f} (positive definite)")
print(f"max |K y - fast K y|      = {np.abs(K @ y - fast_product).max():.1e}")
print(f"max |K c - y| (fast solve) = {np.abs(K @ fast_solve - y).max():.1e}")
assert np.allclose(K @ y, fast_product)
assert np.allclose(K @ fast_solve, y)

# %%
# Why it works: the same matrix, its rows and columns put back in bit-reversed order, is
# circulant (every row is the previous one shifted by one place), and the DFT diagonalizes every
# circulant matrix. :func:`~skspectral.fft.fftbr` and :func:`~skspectral.fft.ifftbr` include the
# reordering.

circulant = K[np.ix_(rev, rev)]
assert np.allclose(circulant, [np.roll(circulant[0], i) for i in range(n)])

fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), layout="constrained")
for ax, mat, title in [
    (axes[0], K, "Gram matrix, radical-inverse order"),
    (axes[1], circulant, "rows and columns bit-reversed: circulant"),
]:
    im = ax.imshow(mat, cmap="viridis")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(im, ax=axes, shrink=0.8, label="$K(x_i, x_j)$")
plt.show()

# %%
# Timing: fast Walsh-Hadamard transform against dense products and the FFT
# --------------------------------------------------------------------------
# Time to transform one vector of length :math:`n`. The dense Hadamard product is
# :math:`O(n^2)` and needs the :math:`n \times n` matrix in memory, so it stops at
# :math:`n = 2^{12}` (a 128 MiB matrix). :func:`scipy.fft.fft` is shown for scale: the FFT does
# the same number of butterflies as the Walsh-Hadamard transform, but with complex twiddle
# factors.


def best_time(fn, budget=0.02, repeats=3):
    """Smallest time per call over ``repeats`` batches of calls lasting about ``budget`` s."""
    fn()  # warm up (and compile numba kernels on the first use)
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= budget or number >= 1 << 16:
            break
        number *= 4
    best = elapsed / number
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


rng = np.random.default_rng(1)
sizes = [2**p for p in range(6, 17)]
dense_max = 2**12
t_fwht, t_dense, t_fft = [], [], []
for size in sizes:
    v = rng.normal(size=size)
    # the fast transform agrees with the dense definition before anything is timed
    if size <= 2**10:
        assert np.allclose(fwht(v, norm="backward"), hadamard(size) @ v)
    t_fwht.append(best_time(lambda v=v: fwht(v)))
    t_fft.append(best_time(lambda v=v: scipy.fft.fft(v)))
    if size <= dense_max:
        H = hadamard(size).astype(np.float64)
        t_dense.append(best_time(lambda H=H, v=v: H @ v))
        del H

fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
ax.loglog(sizes, t_fwht, "o-", label="skspectral.fft.fwht")
ax.loglog(sizes, t_fft, "s-", label="scipy.fft.fft")
ax.loglog(sizes[: len(t_dense)], t_dense, "^-", label="dense Hadamard product")
ax.set_xscale("log", base=2)
ax.set_xlabel("length $n$")
ax.set_ylabel("seconds per vector")
ax.set_title("One transform of a float64 vector (one thread)")
ax.grid(True, which="both", alpha=0.3)
ax.legend()
plt.show()

# %%
# For short vectors the time of a call is mostly its fixed cost -- for
# :func:`~skspectral.fft.fwht`, checking the input and setting up its thread pool -- so transform
# many rows in one call (any leading batch shape works) rather than one row at a time. Past a few
# thousand entries the dense product grows like :math:`n^2` and soon cannot even be stored, while
# both fast transforms grow like :math:`n \log n`.
