"""Frequency samplers of random Fourier features: the spectral measure of each kernel, drawn
i.i.d., in orthogonal blocks, as structured Hadamard products, or by quasi-Monte Carlo.

By Bochner's theorem a shift-invariant kernel ``k(x - y) = E_w[cos(w . (x - y))]`` for ``w``
drawn from its (normalized) Fourier transform:

* ``rbf`` ``exp(-gamma ||x - y||^2)``: ``w ~ N(0, 2 gamma I)``;
* ``laplacian`` ``exp(-gamma ||x - y||_1)``: coordinates i.i.d. Cauchy with scale ``gamma``;
* ``matern`` (``nu``, ``length_scale``, as :class:`sklearn.gaussian_process.kernels.Matern`):
  multivariate Student-t with ``2 nu`` degrees of freedom and scale ``1 / length_scale``,
  ``w = g / length_scale * sqrt(2 nu / u)``, ``g ~ N(0, I)``, ``u ~ chi2(2 nu)``;
* ``cauchy`` (the rational quadratic kernel ``(1 + r^2 / (2 alpha l^2))^-alpha``, as
  :class:`sklearn.gaussian_process.kernels.RationalQuadratic`; ``alpha = 1`` is the Cauchy
  kernel): a Gaussian scale mixture, ``w = sqrt(tau) g``, ``tau ~ Gamma(alpha, rate alpha l^2)``.

The three last are radial (``w = R * direction``, the direction uniform on the sphere), which
is what orthogonal and structured sampling need; the Laplacian kernel is not.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special

RADIAL = ("rbf", "matern", "cauchy")


def iid(kernel, params, d, m, rng):
    """``d x m`` frequencies drawn i.i.d. from the kernel's spectral measure (``rng`` a
    RandomState; for ``rbf`` the same draws as :class:`sklearn.kernel_approximation.RBFSampler`)."""
    if kernel == "rbf":
        return math.sqrt(2.0 * params["gamma"]) * rng.normal(size=(d, m))
    if kernel == "laplacian":
        return params["gamma"] * rng.standard_cauchy(size=(d, m))
    g = rng.normal(size=(d, m))
    return g * _mixing(kernel, params, m, rng)


def _mixing(kernel, params, m, rng, u=None):
    """The per-frequency scale ``R / ||g||`` of the Gaussian scale mixtures (``u`` uniforms for
    the inverse-CDF draw of QMC; ``None`` draws at random)."""
    if kernel == "rbf":
        return np.full(m, math.sqrt(2.0 * params["gamma"]))
    if kernel == "matern":
        nu, ell = params["nu"], params["length_scale"]
        if np.isinf(nu):
            return np.full(m, 1.0 / ell)
        chi2 = rng.chisquare(2.0 * nu, size=m) if u is None else 2.0 * scipy.special.gammaincinv(
            nu, u
        )
        return np.sqrt(2.0 * nu / chi2) / ell
    # rational quadratic / Cauchy
    alpha, ell = params["alpha"], params["length_scale"]
    if u is None:
        tau = rng.gamma(alpha, 1.0 / (alpha * ell * ell), size=m)
    else:
        tau = scipy.special.gammaincinv(alpha, u) / (alpha * ell * ell)
    return np.sqrt(tau)


def radii(kernel, params, dim, m, rng):
    """``m`` norms ``||w||`` of frequencies of a radial kernel in ``dim`` dimensions."""
    chi = np.sqrt(rng.chisquare(dim, size=m))
    return chi * _mixing(kernel, params, m, rng)


def haar_orthogonal(d, rng):
    """A ``d x d`` orthogonal matrix drawn from the Haar measure (QR of a Gaussian matrix with
    the signs of ``R``'s diagonal moved into ``Q``)."""
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def orthogonal(kernel, params, d, m, rng):
    """Orthogonal random features (Yu et al. 2016): blocks of ``d`` frequencies whose directions
    are the columns of a Haar orthogonal matrix, with norms drawn from the radial law."""
    blocks = []
    for start in range(0, m, d):
        width = min(d, m - start)
        blocks.append(haar_orthogonal(d, rng)[:, :width])
    directions = np.concatenate(blocks, axis=1)
    return directions * radii(kernel, params, d, m, rng)


def structured(kernel, params, d, m, rng):
    """SORF (Yu et al. 2016): per block of ``p`` (``d`` padded to a power of two) frequencies,
    three diagonals of random signs; the frequency ``i`` of a block is row ``i`` of
    ``H D1 H D2 H D3`` (``H`` the orthonormal Hadamard matrix: unit rows) times a norm drawn from
    the radial law in ``p`` dimensions (the norm correction: the first ``d`` coordinates of an
    isotropic ``p``-dimensional frequency have the ``d``-dimensional law).

    Returns ``signs`` of shape ``(3, n_blocks, p)`` and ``radial`` of shape ``(m,)``, the norms
    times ``p**-1.5`` (the scale of the three unnormalized transforms)."""
    p = 1 << max(d - 1, 0).bit_length()
    n_blocks = -(-m // p)
    signs = rng.randint(0, 2, size=(3, n_blocks, p)).astype(np.float64) * 2.0 - 1.0
    radial = radii(kernel, params, p, m, rng) * p**-1.5
    return signs, radial


def qmc(kernel, params, d, m, rng, with_offset):
    """Randomized quasi-Monte Carlo frequencies: a scrambled Sobol' sequence (Owen scrambling,
    seeded from ``rng``) mapped by the inverse CDF of the spectral law, one extra coordinate
    for the radial mixing variable (Matern, Cauchy) and one for the phase ``b``.

    Returns ``(W, b)`` (``b`` is ``None`` without offset)."""
    from scipy.stats import qmc as sqmc

    extra = (kernel in ("matern", "cauchy")) + bool(with_offset)
    dim = d + extra
    if dim > 21201:
        raise ValueError(
            f"sampling='qmc' supports at most 21201 dimensions (Sobol' directions); the map "
            f"needs {dim} for {d} features"
        )
    seed = rng.randint(0, 2**31 - 1)
    engine = sqmc.Sobol(dim, scramble=True, seed=seed)
    u = engine.random_base2(max(0, math.ceil(math.log2(max(m, 1)))))[:m]
    u = np.clip(u, 1e-12, 1.0 - 1e-12)  # (m, dim)
    if kernel == "laplacian":
        W = params["gamma"] * np.tan(math.pi * (u[:, :d] - 0.5)).T
    else:
        g = scipy.special.ndtri(u[:, :d]).T
        mix = _mixing(kernel, params, m, rng, u=u[:, d] if kernel in ("matern", "cauchy")
                      else None)
        W = g * mix
    b = 2.0 * math.pi * u[:, -1] if with_offset else None
    return np.ascontiguousarray(W), b
