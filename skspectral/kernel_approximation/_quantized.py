"""Quantized random Fourier features: Sigma-Delta and distributed noise-shaping quantization
with condensation (Zhang, Kannan, Cloninger and Saab, arXiv:2106.02614), and the baselines."""

from __future__ import annotations

import hashlib
import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._backend import float_dtype
from ._rff import _BaseRandomFeatures, _fit_input, run_blocks

_SCHEMES = {"sigma_delta", "noise_shaping", "msq", "stochastic", "semi"}


class QuantizationStabilityWarning(UserWarning):
    """The chosen order / alphabet / step is not provably stable, or a state grew past its
    bound."""


def _sigma_delta_filter(order, block_size):
    """The condensation row ``v`` of order ``r``: coefficients of
    ``(1 + z + ... + z^(t-1))^r`` with ``block_size = r (t - 1) + 1``."""
    t = (block_size - 1) // order + 1
    v = np.ones(1)
    for _ in range(order):
        v = np.convolve(v, np.ones(t))
    return v


class QuantizedRandomFourierFeatures(_BaseRandomFeatures):
    """Random Fourier features quantized to a few bits, condensed so that inner products of
    the codes still approximate the kernel.

    The unnormalized features ``y = cos(W^T x + b)`` in ``[-1, 1]^m`` (``m = n_components``,
    frequencies as in :class:`RandomFourierFeatures`) are quantized to the mid-rise alphabet of
    ``2K = 2**n_bits`` levels ``{(i - K + 1/2) delta}`` by one of (Zhang, Kannan, Cloninger and
    Saab [1]_):

    * ``"sigma_delta"``: Sigma-Delta quantization of order ``r`` (``order``), run on each
      block of ``block_size = lambda`` consecutive features with the state restarting at 0:
      order 1 ``q_i = Q(u_{i-1} + y_i)``, ``u_i = u_{i-1} + y_i - q_i``; order 2 (greedy,
      ``n_bits >= 2``) ``q_i = Q(2 u_{i-1} - u_{i-2} + y_i)``; order 2 with one bit, the stable
      rule ``q_i = sign(u_{i-1} + (y_i - u_{i-2}) / 2)``, ``u_i = 2 u_{i-1} - u_{i-2} + y_i - q_i``.
      The block is then condensed by ``v``, the coefficients of ``(1 + z + ... + z^(t-1))^r``
      (``lambda = r (t - 1) + 1``);
    * ``"noise_shaping"``: distributed noise shaping ``q_i = Q(beta u_{i-1} + y_i)``,
      ``u_i = beta u_{i-1} + y_i - q_i``, per block, condensed by
      ``v = (beta^-1, ..., beta^-lambda)``;
    * the baselines, no condensation (``lambda = 1``): ``"msq"`` memoryless rounding to the
      nearest level, ``"stochastic"`` unbiased stochastic rounding to the two neighbouring
      levels (LP-RFF, Zhang et al. [2]_; the dither is a counter-based hash of the row and
      ``random_state``, so a sample is rounded alike in any batch), ``"semi"`` one-bit
      ``sign(y)`` on the quantized side against full-precision features on the other
      (Schellekens and Jacques [3]_; an asymmetric estimate only).

    The output is the condensed ``p = m / lambda`` dimensional vector
    ``sqrt(2 / p) / ||v||_2 * (I_p kron v) q`` (the paper's normalization), whose inner products
    approximate ``k(x, y)``; :meth:`transform_unquantized` gives the same map without
    quantization, for the asymmetric estimate ``transform(X) @ transform_unquantized(Y).T``
    (one side in full precision). For ``"semi"`` the scale is ``sqrt(pi / (2 m))`` on both
    sides, since ``E[sign(cos a) cos b] = (2 / pi) cos(a - b)`` over a uniform phase.

    Stability (``||u||_inf <= delta / 2`` for all ``|y_i| <= 1``) holds when
    ``(2^r - 1) delta / 2 + 1 <= K delta`` (Sigma-Delta, greedy) or ``beta delta / 2 + 1 <=
    K delta`` (noise shaping). ``step="auto"`` takes the smallest such ``delta``:
    ``2 / (2K - 1)`` for order 1 (the alphabet then spans exactly ``[-1, 1]``),
    ``2 / (2K - 3)`` for order 2 (``n_bits >= 2``), ``2 / (2K - beta)`` for noise shaping
    (``beta < 2K``). So order 1, order 2 with ``n_bits >= 2`` and noise shaping are provably
    stable with ``step="auto"``; the one-bit second-order rule has a bounded state only for inputs
    of magnitude at most ``mu < 1``, with a bound that grows as ``mu -> 1``; features reach
    1, so its state is checked on the data (we measured at most 8.5 within blocks of 9 on
    uniform inputs in [-1, 1], but 62 over one block of 4095), and a warning is issued when
    it exceeds 10. A given ``step`` that fails the condition gives a
    :class:`QuantizationStabilityWarning` at fit.

    Parameters
    ----------
    n_components : int, default=128
        Number ``m`` of random features before condensation.
    quantizer : {"sigma_delta", "noise_shaping", "msq", "stochastic", "semi"}, \
            default="sigma_delta"
        The quantization scheme.
    n_bits : int, default=1
        Bits per quantized feature, ``log2(2K)`` (``"semi"``: 1).
    order : {1, 2}, default=1
        Order ``r`` of Sigma-Delta.
    beta : float, default=1.5
        Noise-shaping factor (``"noise_shaping"``), ``1 < beta < 2K``.
    block_size : int or "auto", default="auto"
        Condensation block ``lambda`` (``"sigma_delta"``, ``"noise_shaping"``); must divide
        ``n_components``, and for ``order=2`` be odd. ``"auto"``: the largest such value up
        to 8.
    step : float or "auto", default="auto"
        Alphabet step ``delta`` (``"sigma_delta"``, ``"noise_shaping"``; the others use
        ``2 / (2K - 1)``).
    kernel, gamma, nu, length_scale, alpha, sampling :
        The kernel and the frequency sampler, as in :class:`RandomFourierFeatures`.
    random_state : int, RandomState instance or None, default=None
        Frequencies, phases and the stochastic dither.
    n_jobs : int, default=None
        Threads of the numba kernels.

    Attributes
    ----------
    random_weights_, random_offset_, signs_, radial_, n_padded_, gamma_, n_frequencies_ :
        The fitted map, as in :class:`RandomFourierFeatures`.
    step_ : float
        The alphabet step ``delta`` used.
    condensation_ : ndarray of shape (block_size_,)
        The row ``v`` of the condensation ``V = I_p kron v``.
    block_size_ : int
        ``lambda`` (1 for the baselines).
    n_condensed_ : int
        Output dimension ``p = m / lambda``.
    bits_per_sample_ : int
        Exact number of bits of one sample's code from :meth:`encode`.
    code_bits_ : int
        Bits per stored code word (per condensed value for Sigma-Delta; per feature otherwise).
    provably_stable_ : bool
        Whether the setting satisfies the stability condition above.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when ``X`` has string feature names.

    Notes
    -----
    Storage. Sigma-Delta codes are stored condensed: each condensed value
    ``v . q_block / delta + const`` is an integer in ``[0, (2K - 1) ||v||_1]`` (``v`` has
    integer entries), stored in ``ceil(log2((2K - 1) ||v||_1 + 1))`` bits, so
    ``bits_per_sample_ = p * code_bits_``: the memory the paper counts, and the kernel is
    evaluated exactly from it. Noise-shaping condensed values take up to ``(2K)^lambda``
    values, so their codes are the ``m`` quantized features, ``m * n_bits`` bits (as for the
    baselines).

    References
    ----------
    .. [1] J. Zhang, H. Kannan, A. Cloninger and R. Saab, "Sigma-Delta and distributed
       noise-shaping quantization methods for random Fourier features", arXiv:2106.02614 (2021).
    .. [2] J. Zhang, A. May, T. Dao and C. Re, "Low-precision random Fourier features for
       memory-constrained kernel approximation", AISTATS (2019).
    .. [3] V. Schellekens and L. Jacques, "Breaking the waves: asymmetric random periodic
       features for low-bitrate kernel machines", arXiv:2004.06560 (2020).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics.pairwise import rbf_kernel
    >>> from skspectral.kernel_approximation import QuantizedRandomFourierFeatures
    >>> X = np.random.default_rng(0).normal(size=(100, 8))
    >>> q = QuantizedRandomFourierFeatures(n_components=4096, block_size=16, gamma=0.05,
    ...                                    random_state=0).fit(X)
    >>> Z = q.transform(X)
    >>> Z.shape, q.bits_per_sample_
    ((100, 256), 1280)
    >>> bool(np.abs(Z @ Z.T - rbf_kernel(X, gamma=0.05)).mean() < 0.1)
    True
    >>> codes = q.encode(X)
    >>> codes.dtype.name, codes.shape
    ('uint8', (100, 160))
    >>> bool(np.allclose(q.kernel_from_codes(codes), Z @ Z.T))
    True
    """

    _parameter_constraints: dict = {
        **_BaseRandomFeatures._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "quantizer": [StrOptions(_SCHEMES)],
        "n_bits": [Interval(Integral, 1, 8, closed="both")],
        "order": [Interval(Integral, 1, 2, closed="both")],
        "beta": [Interval(Real, 1, None, closed="neither")],
        "block_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "step": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        n_components=128,
        *,
        quantizer="sigma_delta",
        n_bits=1,
        order=1,
        beta=1.5,
        block_size="auto",
        step="auto",
        kernel="rbf",
        gamma=1.0,
        nu=1.5,
        length_scale=1.0,
        alpha=1.0,
        sampling="iid",
        random_state=None,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.quantizer = quantizer
        self.n_bits = n_bits
        self.order = order
        self.beta = beta
        self.block_size = block_size
        self.step = step
        self.kernel = kernel
        self.gamma = gamma
        self.nu = nu
        self.length_scale = length_scale
        self.alpha = alpha
        self.sampling = sampling
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ setup
    def _setup_quantizer(self):
        m = self.n_components
        K = 2 ** (self.n_bits - 1)
        q = self.quantizer
        if q == "semi" and self.n_bits != 1:
            raise ValueError(f"quantizer='semi' is one-bit (sign); got n_bits={self.n_bits}")
        condensed = q in ("sigma_delta", "noise_shaping")
        r = self.order
        lam = self.block_size if condensed else 1
        if lam == "auto":
            lam = max(t for t in range(1, 9) if m % t == 0 and (t - 1) % r == 0)
        if m % lam:
            raise ValueError(
                f"block_size={lam} must divide n_components={m} (the condensation V = I_p "
                "kron v works on whole blocks)"
            )
        if q == "sigma_delta" and (lam - 1) % r:
            raise ValueError(
                f"for order={r} block_size must be r (t - 1) + 1 for an integer t "
                f"(odd for order 2); got block_size={lam}"
            )
        beta = float(self.beta)
        stable = True
        if q == "sigma_delta":
            if r == 1:
                scheme, auto = 1, 2.0 / (2 * K - 1)
                need = lambda delta: delta / 2 + 1 <= K * delta + 1e-12  # noqa: E731
            elif K == 1:
                scheme, auto = 3, 2.0
                need = None
            else:
                scheme, auto = 2, 2.0 / (2 * K - 3)
                need = lambda delta: 1.5 * delta + 1 <= K * delta + 1e-12  # noqa: E731
            v = _sigma_delta_filter(r, lam)
        elif q == "noise_shaping":
            scheme = 4
            if beta >= 2 * K:
                raise ValueError(
                    f"noise shaping needs beta < 2K = {2 * K} (n_bits={self.n_bits}) to be "
                    f"stable with any step; got beta={beta}"
                )
            auto = 2.0 / (2 * K - beta)
            need = lambda delta: beta * delta / 2 + 1 <= K * delta + 1e-12  # noqa: E731
            v = beta ** -np.arange(1.0, lam + 1)
        else:
            scheme = {"msq": 0, "stochastic": 5, "semi": 0}[q]
            auto = 2.0 / (2 * K - 1)
            need = None
            v = np.ones(1)
        delta = auto if (self.step == "auto" or not condensed) else float(self.step)
        if need is not None and not need(delta):
            stable = False
            warnings.warn(
                f"{q} of order {r if q == 'sigma_delta' else 1} with {2 * K} levels and step "
                f"{delta:g} is not provably stable (the state may grow without bound); "
                f"step='auto' ({auto:g}) is",
                QuantizationStabilityWarning,
                stacklevel=3,
            )
        p = m // lam
        if q == "semi":
            c = math.sqrt(math.pi / (2 * m))
        else:
            c = math.sqrt(2.0 / p) / float(np.linalg.norm(v))
        self.step_ = delta
        self.condensation_ = v
        self.block_size_ = lam
        self.n_condensed_ = p
        self.provably_stable_ = stable
        self._scheme = scheme
        self._scale = c
        self._K = K
        if q == "sigma_delta":
            self.code_bits_ = max(1, math.ceil(math.log2((2 * K - 1) * v.sum() + 1)))
            self.bits_per_sample_ = p * self.code_bits_
        else:
            self.code_bits_ = self.n_bits
            self.bits_per_sample_ = m * self.n_bits

    def fit(self, X, y=None):
        """Draw the frequencies and phases; set up the quantizer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (its number of features, and variance for ``gamma="scale"``).
        y : None
            Ignored.

        Returns
        -------
        self : QuantizedRandomFourierFeatures
        """
        self._validate_params()
        self._reset()
        X = _fit_input(self, X)
        self._setup_quantizer()
        self._fit_map(X, self.n_components, with_offset=True)
        # the dither seed: a digest of the drawn map (reproducible across processes)
        drawn = self.random_weights_ if hasattr(self, "random_weights_") else self.radial_
        digest = hashlib.blake2b(drawn.tobytes() + self.random_offset_.tobytes(), digest_size=8)
        self._seed = int.from_bytes(digest.digest(), "little") >> 2
        self._n_features_out = self.n_condensed_
        return self

    # ------------------------------------------------------------------ the map
    def _quantize(self, X, want_codes):
        from . import _kernels

        X = self._validated(X)
        n = X.shape[0]
        m = self.n_components
        dtype = float_dtype(X.dtype)
        p = self.n_condensed_
        out = np.empty((n, p), dtype=dtype)
        codes = np.zeros((n, m) if want_codes else (n, 1), dtype=np.uint8)
        v = self.condensation_.astype(np.float64)
        prep = self._prepared(dtype, 1)
        worst = [0.0]

        def block(rows):
            # the block's features, then its quantization while they are in cache
            Y = np.empty((rows.stop - rows.start, m), dtype=dtype)
            self._features(X, 1, 1.0, Y, rows, prep)
            worst.append(
                _kernels.quantize_rows.serial(
                    Y,
                    self._scheme,
                    self._K,
                    self.step_,
                    float(self.beta),
                    self.block_size_,
                    v,
                    self._scale,
                    np.uint64(self._seed),
                    out[rows],
                    codes[rows],
                    want_codes,
                )
            )

        run_blocks(n, self._block_rows(dtype, m, n), block, self.n_jobs)
        if self._scheme in (2, 3, 4) and n:
            bound = 10.0 if self._scheme == 3 else self.step_ / 2 + 1e-9
            if max(worst) > bound:
                warnings.warn(
                    f"the quantizer's state reached {max(worst):.3g}, above its stability "
                    f"bound {bound:.3g}; the quantization error is not controlled",
                    QuantizationStabilityWarning,
                    stacklevel=3,
                )
        return out, codes

    def transform(self, X):
        """Quantize and condense the features of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_condensed_)
            ``Z @ Z.T`` approximates the kernel matrix (for ``"semi"``, use
            ``transform(X) @ transform_unquantized(Y).T``).
        """
        return self._quantize(X, False)[0]

    def transform_unquantized(self, X):
        """The same condensed map without quantization (the full-precision side of the
        asymmetric estimate).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_condensed_)
        """
        check_is_fitted(self)
        X = self._validated(X)
        Y = self._map(X, 1, 1.0, self.n_components)
        n = Y.shape[0]
        Z = Y.reshape(n, self.n_condensed_, self.block_size_) @ self.condensation_.astype(Y.dtype)
        return (Z * Y.dtype.type(self._scale)).astype(Y.dtype, copy=False)

    # ------------------------------------------------------------------ codes
    def encode(self, X):
        """Packed codes of ``X``: ``bits_per_sample_`` bits per row, in
        ``ceil(bits_per_sample_ / 8)`` bytes (most significant bit first).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        codes : ndarray of uint8, shape (n_samples, ceil(bits_per_sample_ / 8))
        """
        _, levels = self._quantize(X, True)
        if self.quantizer == "sigma_delta":
            n = levels.shape[0]
            blocks = levels.reshape(n, self.n_condensed_, self.block_size_).astype(np.int64)
            words = blocks @ self.condensation_.astype(np.int64)
        else:
            words = levels.astype(np.int64)
        return _pack(words, self.code_bits_)

    def decode(self, codes):
        """The condensed features (as :meth:`transform`) from the packed codes of
        :meth:`encode`.

        Parameters
        ----------
        codes : ndarray of uint8, shape (n_samples, ceil(bits_per_sample_ / 8))

        Returns
        -------
        Z : ndarray of shape (n_samples, n_condensed_), float64
        """
        check_is_fitted(self)
        codes = np.asarray(codes)
        width = -(-self.bits_per_sample_ // 8)
        if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != width:
            raise ValueError(
                f"codes must be a uint8 array of shape (n_samples, {width}) as from encode(); "
                f"got {codes.dtype} {codes.shape}"
            )
        K, delta, v = self._K, self.step_, self.condensation_
        if self.quantizer == "sigma_delta":
            words = _unpack(codes, self.code_bits_, self.n_condensed_)
            Z = delta * (words - (K - 0.5) * v.sum())
        else:
            words = _unpack(codes, self.code_bits_, self.n_components)
            q = (words - K + 0.5) * delta
            n = q.shape[0]
            Z = q.reshape(n, self.n_condensed_, self.block_size_) @ v
        return Z * self._scale

    def kernel_from_codes(self, codes_X, codes_Y=None):
        """Approximate kernel matrix ``Z_X Z_Y^T`` from packed codes (``codes_Y=None``: the
        codes of ``X`` against themselves)."""
        ZX = self.decode(codes_X)
        ZY = ZX if codes_Y is None else self.decode(codes_Y)
        return ZX @ ZY.T

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _pack(words, bits):
    """Pack non-negative integers ``words`` (n x w) of ``bits`` bits each, MSB first, row by
    row into bytes."""
    n, w = words.shape
    shifts = np.arange(bits - 1, -1, -1, dtype=np.int64)
    bitarr = ((words[:, :, None] >> shifts) & 1).astype(np.uint8).reshape(n, w * bits)
    return np.packbits(bitarr, axis=1)


def _unpack(codes, bits, w):
    n = codes.shape[0]
    bitarr = np.unpackbits(codes, axis=1, count=w * bits).reshape(n, w, bits).astype(np.int64)
    weights = 1 << np.arange(bits - 1, -1, -1, dtype=np.int64)
    return bitarr @ weights
