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
        chi2 = (
            rng.chisquare(2.0 * nu, size=m) if u is None else 2.0 * scipy.special.gammaincinv(nu, u)
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


def simplex(kernel, params, d, m, rng):
    """Simplex random features (Reid, Choromanski, Likhosherstov and Weller, "Simplex random
    features", ICML 2023): per block of ``d`` frequencies the directions are the vertices of a
    regular simplex (pairwise inner products ``-1 / (d - 1)``: the normalized ``e_i - 1/d``),
    randomly rotated by a Haar orthogonal matrix; norms i.i.d. from the radial law."""
    if d < 2:
        return iid(kernel, params, d, m, rng)
    V = np.eye(d) - 1.0 / d
    V /= np.linalg.norm(V, axis=0)
    blocks = []
    for start in range(0, m, d):
        width = min(d, m - start)
        blocks.append((haar_orthogonal(d, rng) @ V)[:, :width])
    directions = np.concatenate(blocks, axis=1)
    return directions * radii(kernel, params, d, m, rng)


def _stratified(m, rng):
    """``m`` uniforms, one in each stratum ``[i/m, (i+1)/m)``, in random order (a randomized
    one-dimensional QMC set: unbiased, variance ``O(m^-3)`` for smooth integrands)."""
    return (rng.permutation(m) + rng.uniform(size=m)) / m


def qmc_radii(kernel, params, d, m, rng):
    """``m`` frequency norms of a radial kernel by randomized QMC of the radial law's inverse
    CDF: ``||w|| = chi_d^-1(u) * mixing``, ``u`` stratified (rbf); for the scale mixtures
    (Matern, Cauchy) a scrambled two-dimensional Sobol' set for ``(chi, mixing)``."""
    from scipy.stats import qmc as sqmc

    if kernel == "rbf":
        u = np.clip(_stratified(m, rng), 1e-15, 1.0 - 1e-15)
        chi = np.sqrt(2.0 * scipy.special.gammaincinv(d / 2.0, u))
        return chi * math.sqrt(2.0 * params["gamma"])
    seed = rng.randint(0, 2**31 - 1)
    u = sqmc.Sobol(2, scramble=True, seed=seed).random_base2(max(0, math.ceil(math.log2(m))))
    u = np.clip(u[rng.permutation(u.shape[0])[:m]], 1e-15, 1.0 - 1e-15)
    chi = np.sqrt(2.0 * scipy.special.gammaincinv(d / 2.0, u[:, 0]))
    return chi * _mixing(kernel, params, m, rng, u=u[:, 1])


def qmc(kernel, params, d, m, rng, with_offset):
    """Randomized quasi-Monte Carlo frequencies.

    Radial kernels (rbf, Matern, Cauchy): the radial-angular decomposition ``w = R * theta``:
    directions ``theta`` from orthogonal blocks (an exactly balanced design on the sphere,
    Yu et al. 2016) and norms ``R`` by randomized QMC of the radial law's inverse CDF
    (:func:`qmc_radii`). Laplacian: a scrambled Sobol' sequence (Owen scrambling) through the
    Cauchy inverse CDF coordinate by coordinate (Yang et al. 2014).

    With an offset (``features="cos"``) the phases are antithetic: frequencies come in pairs
    ``(w, b)``, ``(w, b + pi/2)``, whose product terms add to ``cos(w . (x - y))`` exactly, so
    the phase-noise term of the cos estimator cancels (the pair is the cos/sin pair, rotated).

    Returns ``(W, b)`` (``b`` is ``None`` without offset)."""
    from scipy.stats import qmc as sqmc

    n_freq = (m + 1) // 2 if with_offset else m
    if kernel in RADIAL:
        blocks = []
        for start in range(0, n_freq, d):
            width = min(d, n_freq - start)
            blocks.append(haar_orthogonal(d, rng)[:, :width])
        W = np.concatenate(blocks, axis=1) * qmc_radii(kernel, params, d, n_freq, rng)
    else:
        if d > 21201:
            raise ValueError(
                f"sampling='qmc' with kernel='laplacian' supports at most 21201 features "
                f"(Sobol' directions), got {d}"
            )
        seed = rng.randint(0, 2**31 - 1)
        engine = sqmc.Sobol(d, scramble=True, seed=seed)
        u = engine.random_base2(max(0, math.ceil(math.log2(max(n_freq, 1)))))[:n_freq]
        u = np.clip(u, 1e-12, 1.0 - 1e-12)
        W = params["gamma"] * np.tan(math.pi * (u - 0.5)).T
    if not with_offset:
        return np.ascontiguousarray(W), None
    b0 = rng.uniform(0, 2 * np.pi, size=n_freq)
    W = np.repeat(W, 2, axis=1)[:, :m]
    b = np.stack([b0, b0 + 0.5 * np.pi], axis=1).ravel()[:m]
    return np.ascontiguousarray(W), b
