"""
=====================================
t-SNE of handwritten digits (FIt-SNE)
=====================================

The 1,797 8x8 digits of scikit-learn, embedded with :class:`skspectral.manifold.TSNE` at three
perplexities. Small perplexities attend to few neighbours and show local detail; large ones
show more of how the clusters sit relative to each other. Each panel gives the exact
KL(P || Q) against the affinities of its own perplexity.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from skspectral.manifold import TSNE, kl_divergence

X, y = load_digits(return_X_y=True)

fig, axes = plt.subplots(1, 3, figsize=(13, 4.5))
for ax, perplexity in zip(axes, [5, 30, 100], strict=True):
    tsne = TSNE(perplexity=perplexity, random_state=0, n_jobs=-1)
    E = tsne.fit_transform(X)
    kl = kl_divergence(tsne.affinities_, E)
    ax.scatter(E[:, 0], E[:, 1], c=y, cmap="tab10", s=4)
    ax.set_title(f"perplexity {perplexity}: KL {kl:.3f}")
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
