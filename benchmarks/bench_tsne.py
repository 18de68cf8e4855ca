"""t-SNE: skspectral.manifold.TSNE against openTSNE (FFT, n_jobs=2) and sklearn's TSNE.

Quality of every final embedding is scored the same way: the exact KL(P || Q) against one
common P (perplexity 30, exact neighbours), 10-NN preservation (the share of each point's 10
nearest input-space neighbours that are among its 10 nearest in the embedding), and the
accuracy of a 10-NN classifier trained on half the embedding (digit labels; for the tweets, the
labels of a 20-cluster k-means of the input, as there are no classes). Times are total fit
times (neighbours + affinities + 750 iterations), both with 2 threads, alternating.

    python -m benchmarks.bench_tsne [--quick] [--sizes digits,tweets20k] [--sklearn]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._runner import Benchmark

# ``shared/data`` beside the project or one level further up
_HERE = Path(__file__).resolve()
DATA = next(
    (p / "shared" / "data" for p in _HERE.parents[1:4] if (p / "shared" / "data").is_dir()),
    _HERE.parents[2] / "shared" / "data",
)


def _tweets(n):
    from sklearn.decomposition import PCA

    path = DATA / "tweets_minilm.npy"
    X = np.load(path, allow_pickle=False)[:n].astype(np.float64)
    return PCA(50, random_state=0).fit_transform(X)


def _labels_of(X, name):
    if name == "digits":
        from sklearn.datasets import load_digits

        return load_digits().target
    from sklearn.cluster import KMeans

    return KMeans(20, n_init=1, random_state=0).fit_predict(X)


def _knn_preservation(X, E, k=10, n_eval=5000, seed=0):
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), size=min(n_eval, len(X)), replace=False)
    a = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X[idx])[1][:, 1:]
    b = NearestNeighbors(n_neighbors=k + 1).fit(E).kneighbors(E[idx])[1][:, 1:]
    return float(np.mean([len(set(u) & set(v)) / k for u, v in zip(a, b, strict=True)]))


def _knn_accuracy(E, y, seed=0):
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(E))
    half = len(E) // 2
    tr, te = order[:half], order[half:]
    return float(KNeighborsClassifier(10).fit(E[tr], y[tr]).score(E[te], y[te]))


def _timed_callback(stamps):
    def cb(iteration, kl, embedding):
        stamps.append(time.perf_counter())  # every 50 iterations, in order (15 in all)
        return False

    return cb


def _case(bench, name, X, y, with_sklearn):
    import openTSNE
    from sklearn.manifold import TSNE as SkTSNE

    from skspectral.manifold import TSNE, kl_divergence

    n = len(X)
    P = TSNE(max_iter=0, neighbors="exact", random_state=0).fit(X).affinities_
    results = {}

    def ours():
        stamps = []
        est = TSNE(random_state=0, n_jobs=2, callbacks=_timed_callback(stamps))
        est.fit(X)
        results["ours"] = (np.asarray(est.embedding_), stamps, est)

    def anchor():
        stamps = []
        E = openTSNE.TSNE(
            negative_gradient_method="fft",
            n_jobs=2,
            random_state=0,
            callbacks=_timed_callback(stamps),
            callbacks_every_iters=50,
        ).fit(X)
        results["openTSNE"] = (np.asarray(E), stamps, None)

    def sk():
        E = SkTSNE(random_state=0, n_jobs=2, max_iter=750).fit_transform(X)
        results["sklearn"] = (E, [], None)

    case = f"{name} n={n} fit (750 it)"
    if n <= 5000:
        # our kernels come from numba's on-disk cache; openTSNE compiles nothing
        bench.compare(case, ours, anchor, "openTSNE fft n_jobs=2", repeats=3, warmup=0)
        bench.compare(case, ours, sk, "sklearn TSNE (BH)", repeats=3, warmup=0)
    else:
        # large fits: one alternating pair each (ours first), timed once
        pairs = [("openTSNE fft n_jobs=2", anchor)]
        if with_sklearn:
            pairs.append(("sklearn TSNE (BH)", sk))
        for anchor_name, fn in pairs:
            t_ours = bench.time(ours, repeats=1, warmup=0)
            t_anchor = bench.time(fn, repeats=1, warmup=0)
            bench.record(
                case + f" vs {anchor_name}",
                ours_s=t_ours,
                anchor_s=t_anchor,
                ratio=t_anchor / t_ours,
            )
    for lib, (E, stamps, _) in results.items():
        row = dict(
            kl_exact=kl_divergence(P, E, n_jobs=2),
            nn10_preservation=_knn_preservation(X, E),
            knn_accuracy=_knn_accuracy(E, y),
            width=float(np.ptp(E, axis=0).max()),
        )
        if len(stamps) == 15:
            row["first50_after_ee_s"] = stamps[5] - stamps[4]
            row["last50_s"] = stamps[14] - stamps[13]
        bench.record(f"{name} n={n} {lib}", **row)
    # the floor: the grid FFTs alone on the final embedding's grid, beside a whole iteration
    E, _, est = results["ours"]
    field = est._field()
    Y = np.asarray(E, dtype=np.float64)
    origin, h, nb = field.layout(Y.min(0), Y.max(0))
    grid = np.random.default_rng(0).standard_normal((3, *(nb * field.p)))
    t_fft = bench.time(lambda: field.convolve(grid, h, 2), repeats=5)
    t_it = bench.time(lambda: est._gradient(est.affinities_, Y, 1.0, field, False), repeats=5)
    bench.record(
        f"{name} n={n} per iteration (ours)",
        iteration_s=t_it,
        grid_fft_s=t_fft,
        grid=f"{nb[0] * field.p}x{nb[1] * field.p}",
    )


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="digits,tweets20k")
    parser.add_argument("--sklearn", action="store_true", help="also time sklearn's TSNE")
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    bench = Benchmark("bench_tsne", "TSNE (FIt-SNE) vs openTSNE 1.0.4 and sklearn TSNE")

    for name in args.sizes.split(","):
        if name == "digits":
            from sklearn.datasets import load_digits

            X = load_digits().data.astype(np.float64)
        else:
            X = _tweets(int(name.replace("tweets", "").replace("k", "000")))
        _case(bench, name, X, _labels_of(X, name), args.sklearn)
    bench.finish()


if __name__ == "__main__":
    main()
