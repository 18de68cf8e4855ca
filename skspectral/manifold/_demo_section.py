"""The demo's t-SNE section: ours beside scikit-learn's TSNE on the digits bundled with
scikit-learn (offline); listed in ``skspectral._demo.SECTIONS``."""

from __future__ import annotations

import time
import warnings

import numpy as np


def section(quick: bool = False):
    """t-SNE of the 8x8 digits: fit time, exact KL against one common P, 10-NN accuracy of
    held-out points (ours placed by ``transform``; scikit-learn's TSNE has none, so its score
    is cross-validated on the fitted embedding), and both scatter plots."""
    from sklearn.datasets import load_digits
    from sklearn.manifold import TSNE as SkTSNE
    from sklearn.neighbors import KNeighborsClassifier

    from skspectral._demo import Row, Section
    from skspectral.manifold import TSNE, kl_divergence

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]
    n_fit = 800 if quick else 1500
    max_iter = 400 if quick else 750
    Xf, yf, Xt, yt = X[:n_fit], y[:n_fit], X[n_fit:], y[n_fit:]
    section = Section(
        f"t-SNE: {n_fit} digits (64-d), exact KL(P||Q) and 10-NN accuracy of "
        f"{len(Xt)} held-out digits"
    )
    ours = TSNE(max_iter=max_iter, random_state=0, n_jobs=-1)
    ours.fit(Xf[:60])  # compile the kernels once, outside the timing
    t0 = time.perf_counter()
    E = ours.fit_transform(Xf)
    t_ours = time.perf_counter() - t0
    P = ours.affinities_
    t0 = time.perf_counter()
    E_new = ours.transform(Xt)
    t_transform = time.perf_counter() - t0
    acc = KNeighborsClassifier(10).fit(E, yf).score(E_new, yt)
    section.rows.append(
        Row("embed digits", "TSNE (FIt-SNE)", "skspectral", "KL(P||Q)", kl_divergence(P, E), t_ours)
    )
    section.rows.append(
        Row(
            "place held-out digits",
            "TSNE.transform",
            "skspectral",
            "10-NN accuracy",
            acc,
            t_transform,
        )
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        E_sk = SkTSNE(max_iter=max_iter, random_state=0, n_jobs=-1).fit_transform(Xf)
    t_sk = time.perf_counter() - t0
    section.rows.append(
        Row(
            "embed digits",
            "TSNE (Barnes-Hut)",
            "scikit-learn",
            "KL(P||Q)",
            kl_divergence(P, E_sk),
            t_sk,
        )
    )
    half = n_fit // 2
    acc_sk = KNeighborsClassifier(10).fit(E_sk[:half], yf[:half]).score(E_sk[half:], yf[half:])
    section.rows.append(
        Row(
            "held-out digits",
            "no transform: half of the fit",
            "scikit-learn",
            "10-NN accuracy",
            acc_sk,
            0.0,
        )
    )

    def plot(ax):
        ax.scatter(E[:, 0], E[:, 1], c=yf, cmap="tab10", s=3, alpha=0.5, linewidths=0)
        ax.scatter(E_new[:, 0], E_new[:, 1], c=yt, cmap="tab10", s=14, marker="x", linewidths=0.8)
        ax.set_title("t-SNE of digits (x: held-out, placed by transform)")
        ax.set_xticks([])
        ax.set_yticks([])

    section.plot = plot
    return section
