"""The demo's kernel approximation section (``skspectral._demo.SECTIONS`` adds it)."""

from __future__ import annotations

import time

import numpy as np


def section(quick: bool = False):
    """Approximate the rbf kernel of bundled MiniLM tweet embeddings; score: relative Frobenius
    error of the kernel matrix (lower is better), ours beside ``RBFSampler`` and ``Nystroem``,
    and quantized features at equal bits per sample."""
    from sklearn.kernel_approximation import Nystroem, RBFSampler
    from sklearn.metrics.pairwise import rbf_kernel

    from skspectral._demo import Row, Section
    from skspectral.datasets import load_tweet_embeddings
    from skspectral.kernel_approximation import (
        QuantizedRandomFourierFeatures,
        RandomFourierFeatures,
    )

    X = load_tweet_embeddings()[: 600 if quick else 1500].astype(np.float64)
    gamma = 1.0 / (X.shape[1] * X.var())
    K = rbf_kernel(X, gamma=gamma)
    D = 1024

    def err(Z):
        return float(np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K))

    methods = [
        ("RandomFourierFeatures orthogonal cossin", "skspectral",
         lambda: RandomFourierFeatures(D, gamma=gamma, sampling="orthogonal", features="cossin",
                                       random_state=0)),
        ("RandomFourierFeatures structured cossin", "skspectral",
         lambda: RandomFourierFeatures(D, gamma=gamma, sampling="structured", features="cossin",
                                       random_state=0)),
        ("RBFSampler", "scikit-learn", lambda: RBFSampler(gamma=gamma, n_components=D,
                                                          random_state=0)),
        # Nystroem with fewer landmarks than rows (with as many it is the exact kernel)
        ("Nystroem, 256 landmarks", "scikit-learn",
         lambda: Nystroem(gamma=gamma, n_components=256, random_state=0)),
    ]
    sec = Section(
        f"Kernel approximation: rbf kernel of {X.shape[0]} MiniLM tweet embeddings, "
        "relative Frobenius error of the kernel matrix (lower is better)"
    )
    for name, library, make in methods:
        t0 = time.perf_counter()
        Z = make().fit_transform(X)
        seconds = time.perf_counter() - t0
        sec.rows.append(Row(f"rbf kernel, D={D}", name, library, "rel. Frobenius error",
                            err(Z), seconds))
    bits = 2048
    for name, library, make in [
        ("float32 RFF, 64 features", "skspectral",
         lambda: RandomFourierFeatures(bits // 32, gamma=gamma, random_state=0)),
        ("Sigma-Delta 1-bit, l=15", "skspectral",
         lambda: QuantizedRandomFourierFeatures(15 * (bits // 4), block_size=15, gamma=gamma,
                                                random_state=0)),
        ("stochastic rounding 2-bit", "skspectral",
         lambda: QuantizedRandomFourierFeatures(bits // 2, quantizer="stochastic", n_bits=2,
                                                gamma=gamma, random_state=0)),
    ]:
        t0 = time.perf_counter()
        Z = make().fit_transform(X)
        seconds = time.perf_counter() - t0
        sec.rows.append(Row(f"{bits} bits per sample", name, library, "rel. Frobenius error",
                            err(Z), seconds))
    return sec
