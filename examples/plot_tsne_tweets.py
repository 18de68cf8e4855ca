"""
==================================================
t-SNE of sentence embeddings (MiniLM, 3,000 texts)
==================================================

3,000 sentence embeddings of short public texts (bundled with skspectral), reduced to 50
principal components and embedded with :class:`skspectral.manifold.TSNE`. There are no labels;
colours are a 12-cluster k-means of the 50-dimensional input, to show that the clusters of the
input space stay together in the picture. The second panel uses heavy tails (``dof=0.5``),
which tighten clusters and reveal sub-clusters.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from skspectral.datasets import load_tweet_embeddings
from skspectral.manifold import TSNE

X = PCA(50, random_state=0).fit_transform(load_tweet_embeddings().astype(float))
labels = KMeans(12, n_init=1, random_state=0).fit_predict(X)

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, dof in zip(axes, [1.0, 0.5], strict=True):
    E = TSNE(dof=dof, metric="cosine", random_state=0, n_jobs=-1).fit_transform(X)
    ax.scatter(E[:, 0], E[:, 1], c=labels, cmap="tab20", s=3)
    ax.set_title(f"dof={dof}")
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
