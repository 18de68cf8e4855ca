"""
=================================================================
Quantized random Fourier features: kernel error at equal memory
=================================================================

How much memory does a kernel approximation need? Full-precision random Fourier features cost
32 bits per feature; :class:`~skspectral.kernel_approximation.QuantizedRandomFourierFeatures`
stores each feature in one or two bits (memoryless or stochastic rounding), or quantizes them
by Sigma-Delta / noise shaping and condenses blocks of them (Zhang, Kannan, Cloninger and
Saab, arXiv:2106.02614). We plot the relative Frobenius error of the rbf kernel matrix of
the digits data against the bits stored per sample (``bits_per_sample_``, exactly what
:meth:`~skspectral.kernel_approximation.QuantizedRandomFourierFeatures.encode` writes).
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics.pairwise import rbf_kernel

from skspectral.kernel_approximation import QuantizedRandomFourierFeatures, RandomFourierFeatures

X = load_digits().data[:600] / 16.0
gamma = 1.0 / (X.shape[1] * X.var())
K = rbf_kernel(X, gamma=gamma)
budgets = [256, 512, 1024, 2048, 4096]


def rel(A):
    return np.linalg.norm(A - K) / np.linalg.norm(K)


def quantized_error(bits, seed, asym=False, **params):
    probe = QuantizedRandomFourierFeatures(n_components=params.get("block_size", 1), **params)
    probe._setup_quantizer()  # the code size of one block decides m for this budget
    per_block = probe.bits_per_sample_
    m = max(1, bits // per_block) * probe.block_size_
    q = QuantizedRandomFourierFeatures(n_components=m, gamma=gamma, random_state=seed,
                                       **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Z = q.fit(X).transform(X)
        other = q.transform_unquantized(X) if asym else Z
    return rel(Z @ other.T), q.bits_per_sample_


methods = {
    "MSQ 1-bit": dict(quantizer="msq", n_bits=1, block_size=1),
    "MSQ 2-bit": dict(quantizer="msq", n_bits=2, block_size=1),
    "stochastic 1-bit": dict(quantizer="stochastic", n_bits=1, block_size=1),
    "stochastic 2-bit": dict(quantizer="stochastic", n_bits=2, block_size=1),
    "noise shaping 1-bit (beta=1.5, l=8)": dict(quantizer="noise_shaping", block_size=8),
    "Sigma-Delta r=1 1-bit (l=15)": dict(quantizer="sigma_delta", block_size=15),
    "Sigma-Delta r=2 2-bit (l=9)": dict(quantizer="sigma_delta", order=2, n_bits=2,
                                         block_size=9),
}
fig, ax = plt.subplots(figsize=(6.5, 4.5))
full = [np.mean([rel(Z @ Z.T) for Z in (
    RandomFourierFeatures(b // 32, gamma=gamma, random_state=s).fit_transform(
        X.astype(np.float32)).astype(np.float64) for s in range(3))]) for b in budgets]
ax.loglog(budgets, full, "--ks", label="float32 RFF")
for name, params in methods.items():
    errs, used = [], []
    for b in budgets:
        runs = [quantized_error(b, s, **params) for s in range(3)]
        errs.append(np.mean([r[0] for r in runs]))
        used.append(runs[0][1])
    ax.loglog(used, errs, "-o", label=name)
semi = [np.mean([quantized_error(b, s, asym=True, quantizer="semi", block_size=1)[0]
                 for s in range(3)]) for b in budgets]
ax.loglog(budgets, semi, ":^", label="semi-quantized (asymmetric)")
ax.set_xlabel("bits per sample")
ax.set_ylabel("relative Frobenius error of K")
ax.set_title("rbf kernel of digits (600 rows), equal memory")
ax.legend(fontsize=7)
ax.grid(alpha=0.3, which="both")
plt.tight_layout()
