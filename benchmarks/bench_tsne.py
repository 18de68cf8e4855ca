"""t-SNE: skspectral.manifold.TSNE against openTSNE (FFT, n_jobs=2) and sklearn's TSNE.

Quality of every final embedding is scored the same way: the exact KL(P || Q) against one
common P (perplexity 30, exact neighbours), 10-NN preservation (the share of each point's 10
nearest input-space neighbours that are among its 10 nearest in the embedding), and the
accuracy of a 10-NN classifier trained on half the embedding (digit labels; otherwise the
labels of a 20-cluster k-means of the input, as there are no classes). Times are total fit
times (neighbours + affinities + 750 iterations), both with 2 threads, alternating.

Each part is its own command (so that none runs for long)::

    python -m benchmarks.bench_tsne --sizes digits,tweets20k [--anchors openTSNE,sklearn]
        [--pairs 3]                       # in one process, alternating
    python -m benchmarks.bench_tsne --sizes tweets500,tweets1000 --anchors sklearn
    python -m benchmarks.bench_tsne --transform        # held-out digits
    python -m benchmarks.bench_tsne --flatness --sizes tweets20k --pairs 3
    python -m benchmarks.bench_tsne --sizes tweetsmix100k --subprocess   # + peak memory
    python -m benchmarks.bench_tsne --score tweetsmix100k   # quality of the saved embeddings
    python -m benchmarks.bench_tsne --sizes gmm1m --subprocess --anchors none

Data: ``digits`` (scikit-learn's 1,797 x 64); ``tweetsN``: the first N rows of the 20,663
MiniLM sentence embeddings of ``shared/data/tweets_minilm.npy``, PCA to 50 dimensions;
``tweetsmix100k``: those 20,663 real rows plus 79,337 rows each a random point on the segment
from a random tweet to one of its 10 nearest neighbours (in the 384-dimensional space), put
back on the unit sphere, then PCA to 50 (interpolation between real neighbours: the data are
real only at the 20,663 originals); ``gmm1m``: 1,000,000 points of a 50-dimensional mixture of
20 unit Gaussians with N(0, 4 I) centres. With ``--subprocess`` every fit runs in a fresh
process (data read from a cached ``.npy``), which reports its fit time and its peak resident
memory (``getrusage`` maxrss; the process's whole peak, with Python and the data).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
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


def _timed_callback(stamps, snapshots=None):
    def cb(iteration, kl, embedding):
        stamps.append(time.perf_counter())  # every 50 iterations, in order (15 in all)
        if snapshots is not None:
            snapshots[iteration] = np.array(embedding, dtype=np.float64)
        return False

    return cb


RESULTS = Path(__file__).resolve().parent / "results"


def _tweets_mix(n, seed=0):
    """The real tweet embeddings plus points between real neighbours, to ``n`` rows (PCA 50)."""
    from sklearn.decomposition import PCA
    from sklearn.neighbors import NearestNeighbors

    T = np.load(DATA / "tweets_minilm.npy", allow_pickle=False).astype(np.float64)
    rng = np.random.default_rng(seed)
    nn = NearestNeighbors(n_neighbors=11).fit(T).kneighbors(T)[1][:, 1:]
    m = n - len(T)
    i = rng.integers(0, len(T), m)
    j = nn[i, rng.integers(0, 10, m)]
    lam = rng.random((m, 1))
    S = T[i] + lam * (T[j] - T[i])
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    return PCA(50, random_state=0).fit_transform(np.vstack([T, S]))


def _gmm(n, d=50, k=20, seed=0):
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.standard_normal((k, d))
    X = rng.standard_normal((n, d))
    X += centres[rng.integers(0, k, n)]
    return X


def _data(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        return load_digits().data.astype(np.float64)
    size = name.lstrip("abcdefghijklmnopqrstuvwxyz").replace("k", "000").replace("m", "000000")
    n = int(size)
    if name.startswith("tweetsmix"):
        return _tweets_mix(n)
    if name.startswith("gmm"):
        return _gmm(n)
    return _tweets(n)


def _cached(name):
    """The data set as a ``.npy`` under ``benchmarks/results`` (made once)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"tsne_data_{name}.npy"
    if not path.exists():
        np.save(path, _data(name))
    return path


def _fit(lib, X, stamps, verbose=False):
    """One default fit of ``lib`` (2 threads); the embedding."""
    if lib == "ours":
        from skspectral.manifold import TSNE

        est = TSNE(random_state=0, n_jobs=2, callbacks=_timed_callback(stamps), verbose=verbose)
        return np.asarray(est.fit(X).embedding_), est
    if lib == "openTSNE":
        import openTSNE

        E = openTSNE.TSNE(
            negative_gradient_method="fft",
            n_jobs=2,
            random_state=0,
            callbacks=_timed_callback(stamps),
            callbacks_every_iters=50,
            verbose=verbose,
        ).fit(X)
        return np.asarray(E), None
    from sklearn.manifold import TSNE as SkTSNE

    return SkTSNE(random_state=0, n_jobs=2, max_iter=750).fit_transform(X), None


ANCHOR_NAMES = {"openTSNE": "openTSNE fft n_jobs=2", "sklearn": "sklearn TSNE (BH)"}


def _flatness(stamps):
    # stamps every 50 iterations (15 in all): the 50 after early exaggeration and the last 50
    if len(stamps) != 15:
        return {}
    return dict(first50_after_ee_s=stamps[5] - stamps[4], last50_s=stamps[14] - stamps[13])


def _score(bench, name, X, embeddings, P=None):
    from skspectral.manifold import TSNE, kl_divergence

    if P is None:
        P = TSNE(max_iter=0, neighbors="exact", random_state=0, n_jobs=2).fit(X).affinities_
    y = _labels_of(X, name)
    for lib, (E, extra) in embeddings.items():
        bench.record(
            f"{name} n={len(X)} {lib}",
            kl_exact=kl_divergence(P, E, n_jobs=2),
            nn10_preservation=_knn_preservation(X, E),
            knn_accuracy=_knn_accuracy(E, y),
            width=float(np.ptp(E, axis=0).max()),
            **extra,
        )


def _per_iteration(bench, name, est, Y, label):
    """One gradient at ``Y`` (as the fit computes it) beside the grid FFTs alone on its grid
    (the floor), the grid the cost model picks, its near field, and the relative error of the
    repulsive force against the exact O(n^2) sums (and that of the unsplit grid of boxes of
    width 1)."""
    from skspectral.manifold import _gradient as G
    from skspectral.manifold import _kernels as K

    field = est._field()
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    P = G.CompactAffinities(est.affinities_)
    lo, hi = K.bounds(Y)
    h, cells = field.plan(Y, lo, hi)
    origin, h, nb = field.layout(lo, hi, h)
    cutoff = 0.0 if cells is None else cells.cutoff
    grid = np.random.default_rng(0).standard_normal((3, *(nb * field.p))).astype(np.float32)
    t_fft = bench.time(lambda: field.convolve(grid, h, 2, cutoff), repeats=9)
    # as the fit computes it on 2 threads (attraction and repulsion side by side, below
    # G.OVERLAP_BELOW points)
    overlap = G.Overlap(2) if len(Y) < G.OVERLAP_BELOW else None
    try:
        t_it = bench.time(lambda: est._gradient(P, Y, 1.0, field, False, overlap), repeats=9)
    finally:
        if overlap is not None:
            overlap.close()
    extra = {}
    if cells is not None:
        rep = np.zeros_like(Y)
        z = np.zeros(len(Y))

        def near():
            cells.add_near_field(cells.xs, cells.ys, cells.order, field.dof, 2, rep, z)

        extra["near_field_s"] = bench.time(near, repeats=9)
    rep_x, _ = G.exact_repulsion(Y, field.dof, 2)
    plain = est._field()
    plain.NEAR_BUDGET = 0

    def rel(field):
        r, _ = field.repulsion(Y, 2)
        return float(np.sqrt(((r - rep_x) ** 2).sum() / (rep_x**2).sum()))

    bench.record(
        f"{name} n={len(Y)} one gradient at {label} (ours)",
        gradient_s=t_it,
        grid_fft_s=t_fft,
        grid=f"{nb[0] * field.p}x{nb[1] * field.p}",
        box_width=float(h),
        near_cutoff=cutoff,
        force_error=rel(field),
        force_error_unsplit=rel(plain),
        **extra,
    )


def _flat(bench, name, rounds):
    """Flatness: the time of the 50 iterations after early exaggeration and of the last 50
    (``rounds`` fits), and one gradient at iteration 300 and at the end, each beside the grid
    FFTs alone."""
    from skspectral.manifold import TSNE

    X = _data(name)
    rows = []
    for _ in range(rounds):
        stamps, snaps = [], {}
        t0 = time.perf_counter()
        est = TSNE(random_state=0, n_jobs=2, callbacks=_timed_callback(stamps, snaps)).fit(X)
        rows.append(_flatness(stamps))
        # neighbours + affinities + start, taking the first 50 iterations as long as the next 50
        rows[-1]["before_iterations_s"] = stamps[0] - t0 - (stamps[1] - stamps[0])
        rows[-1]["fit_s"] = time.perf_counter() - t0
    first = [r["first50_after_ee_s"] for r in rows]
    last = [r["last50_s"] for r in rows]
    bench.record(
        f"{name} n={len(X)} flatness (ours, {rounds} fits)",
        first50_after_ee_s=float(np.median(first)),
        last50_s=float(np.median(last)),
        ratio=float(np.median([b / a for a, b in zip(first, last, strict=True)])),
        all_first=[round(x, 3) for x in first],
        all_last=[round(x, 3) for x in last],
        fit_s=float(np.median([r["fit_s"] for r in rows])),
        before_iterations_s=float(np.median([r["before_iterations_s"] for r in rows])),
    )
    for it in (300, 750):
        _per_iteration(bench, name, est, snaps[it], f"iteration {it}")


def _in_process(bench, name, anchors, pairs):
    X = _data(name)
    n = len(X)
    out = {}

    def run(lib):
        stamps = []
        E, est = _fit(lib, X, stamps)
        out[lib] = (E, _flatness(stamps), est)

    case = f"{name} n={n} fit (750 it)"
    for lib in anchors:
        if n <= 5000:
            # alternating rounds (the runner's first sizing call of each warms up; our kernels
            # come from numba's on-disk cache, the anchors compile nothing)
            bench.compare(
                case,
                lambda: run("ours"),
                lambda lib=lib: run(lib),
                ANCHOR_NAMES[lib],
                repeats=pairs,
                warmup=0,
            )
            continue
        # large fits: alternating pairs (who goes first alternates), each fit timed once
        t = {"ours": [], lib: []}
        for i in range(pairs):
            for who in ("ours", lib) if i % 2 == 0 else (lib, "ours"):
                t[who].append(bench.time(lambda who=who: run(who), repeats=1, warmup=0))
        ratios = [a / o for a, o in zip(t[lib], t["ours"], strict=True)]
        bench.record(
            f"{case} vs {ANCHOR_NAMES[lib]}",
            ours_s=float(np.median(t["ours"])),
            anchor_s=float(np.median(t[lib])),
            ratio=float(np.median(ratios)),
            pairs=pairs,
            all_ours=[round(x, 2) for x in t["ours"]],
            all_anchor=[round(x, 2) for x in t[lib]],
        )
    _score(bench, name, X, {lib: (E, extra) for lib, (E, extra, _) in out.items()})
    if n > 5000 and "ours" in out:
        E, _, est = out["ours"]
        _per_iteration(bench, name, est, E, "the final embedding")


def _child(lib, path, out_path):
    """A fit in a fresh process: prints its time and peak memory as JSON."""
    X = np.load(path, allow_pickle=False)
    stamps = []
    t0 = time.perf_counter()
    E, _ = _fit(lib, X, stamps, verbose=len(X) > 500_000)
    fit_s = time.perf_counter() - t0
    np.save(out_path, E)
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB -> MiB
    print(json.dumps(dict(fit_s=fit_s, peak_rss_mib=maxrss, **_flatness(stamps))), flush=True)


def _subprocess(bench, name, anchors, pairs):
    path = _cached(name)
    n = len(np.load(path, mmap_mode="r"))

    def run(lib):
        out_path = RESULTS / f"tsne_embedding_{name}_{lib}.npy"
        cmd = [sys.executable, "-m", "benchmarks.bench_tsne", "--child", lib, str(path)]
        res = subprocess.run(
            [*cmd, str(out_path)], capture_output=True, text=True, check=True, cwd=Path.cwd()
        )
        sys.stderr.write(res.stderr[-3000:])
        row = json.loads(res.stdout.strip().splitlines()[-1])
        bench.record(f"{name} n={n} {lib} (own process)", **row)
        return row["fit_s"]

    libs = ["ours", *anchors]
    times = {lib: [] for lib in libs}
    for i in range(pairs):
        for lib in libs if i % 2 == 0 else libs[::-1]:
            times[lib].append(run(lib))
    for lib in anchors:
        t_ours, t_anchor = float(np.median(times["ours"])), float(np.median(times[lib]))
        ratios = [a / o for a, o in zip(times[lib], times["ours"], strict=True)]
        bench.record(
            f"{name} n={n} fit vs {ANCHOR_NAMES[lib]}",
            ours_s=t_ours,
            anchor_s=t_anchor,
            ratio=float(np.median(ratios)),
            pairs=pairs,
        )


def _score_saved(bench, name):
    X = np.load(_cached(name), allow_pickle=False)
    embeddings = {}
    for lib in ("ours", "openTSNE", "sklearn"):
        path = RESULTS / f"tsne_embedding_{name}_{lib}.npy"
        if path.exists():
            embeddings[lib] = (np.load(path), {})
    _score(bench, name, X, embeddings)


def _transform(bench):
    """Held-out digits: fit on 80 %, place the other 20 %; the reference must not move."""
    from sklearn.datasets import load_digits
    from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

    from skspectral.manifold import TSNE

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order].astype(np.float64), y[order]
    m = int(0.8 * len(X))
    est = TSNE(random_state=0, n_jobs=2)
    t0 = time.perf_counter()
    est.fit(X[:m])
    t_fit = time.perf_counter() - t0
    E = est.embedding_
    before = E.copy()
    est.transform(X[m : m + 10])  # the reference field is built once, outside the timing
    t0 = time.perf_counter()
    Y_new = est.transform(X[m:])
    t_new = time.perf_counter() - t0
    acc = KNeighborsClassifier(10).fit(E, y[:m]).score(Y_new, y[m:])
    Y_own = est.transform(X[:300])
    moved = np.median(np.linalg.norm(Y_own - E[:300], axis=1))
    d10 = np.median(NearestNeighbors(n_neighbors=11).fit(E).kneighbors(E)[0][:, 10])
    bench.record(
        f"digits transform ({len(X) - m} held out, fit on {m})",
        in_own_label_cluster=acc,
        fit_s=t_fit,
        transform_s=t_new,
        transform_over_fit=t_new / t_fit,
        median_moved_training=float(moved),
        median_10nn_distance=float(d10),
        embedding_unchanged=bool(np.array_equal(before, est.embedding_)),
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return _child(*argv[1:4])
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="digits,tweets20k")
    parser.add_argument(
        "--anchors", default="openTSNE", help="comma list of openTSNE, sklearn, or none"
    )
    parser.add_argument("--pairs", type=int, default=3, help="alternating rounds per anchor")
    parser.add_argument("--subprocess", action="store_true", help="each fit in its own process")
    parser.add_argument("--score", default="", help="score the saved embeddings of these sizes")
    parser.add_argument("--transform", action="store_true", help="only the transform figures")
    parser.add_argument("--flatness", action="store_true", help="only the flatness figures")
    args, _ = parser.parse_known_args(argv)
    anchors = [a for a in args.anchors.split(",") if a in ANCHOR_NAMES]
    bench = Benchmark("bench_tsne", "TSNE (FIt-SNE) vs openTSNE 1.0.4 and sklearn TSNE", argv)
    if args.transform:
        _transform(bench)
    elif args.flatness:
        for name in args.sizes.split(","):
            _flat(bench, name, args.pairs)
    elif args.score:
        for name in args.score.split(","):
            _score_saved(bench, name)
    else:
        for name in args.sizes.split(","):
            if args.subprocess:
                _subprocess(bench, name, anchors, args.pairs)
            else:
                _in_process(bench, name, anchors, args.pairs)
    bench.finish()


if __name__ == "__main__":
    main()
