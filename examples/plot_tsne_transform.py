"""
=================================================
Placing held-out points into a t-SNE embedding
=================================================

scikit-learn's TSNE has no ``transform``; :class:`skspectral.manifold.TSNE` does. We fit a
pipeline ``PCA(30) -> TSNE`` on 1,400 digits and place the other 397 with ``transform``: each
new point is optimized against the frozen reference embedding (which never moves). A 10-NN
classifier trained on the reference embedding scores the placed points.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from skspectral.manifold import TSNE

X, y = load_digits(return_X_y=True)
order = np.random.default_rng(0).permutation(len(X))
X, y = X[order], y[order]
X_train, y_train, X_test, y_test = X[:1400], y[:1400], X[1400:], y[1400:]

pipe = make_pipeline(PCA(30, random_state=0), TSNE(random_state=0, n_jobs=-1))
E_train = pipe.fit_transform(X_train)
E_test = pipe.transform(X_test)
acc = KNeighborsClassifier(10).fit(E_train, y_train).score(E_test, y_test)

fig, ax = plt.subplots(figsize=(6.5, 6))
ax.scatter(E_train[:, 0], E_train[:, 1], c=y_train, cmap="tab10", s=4, alpha=0.35)
ax.scatter(E_test[:, 0], E_test[:, 1], c=y_test, cmap="tab10", s=28, marker="x")
ax.set_title(f"held-out digits (x) placed by transform: 10-NN accuracy {acc:.3f}")
ax.set_xticks([])
ax.set_yticks([])
fig.tight_layout()
plt.show()
