"""Embedding reduction: recall@10 of every method on real MiniLM embeddings, and speed of the
fast transforms against scikit-learn's random projections and the equivalent ``scipy.fft``
one-liners (the strongest anchors a user could write: ``scipy.fft`` computes in float32 for
float32 input, where ``numpy.fft`` works in complex128).

Run from the repository root::

    python -m benchmarks.bench_reduce           # full sizes (several minutes)
    python -m benchmarks.bench_reduce --quick   # small sizes, fewer seeds

Quality: the 20,663 x 384 MiniLM embeddings of ``../shared/data/tweets_minilm.npy``; 1,000 query
rows (fixed seed); the database is every row, each query excluded from its own list; the truth is
the exact cosine top 10 in 384 dimensions. Random methods are averaged over seeds. Speed: random
float32 data (the cost of a transform does not depend on the values), maps fitted first, the
transform alone timed, ours and the anchor alternately.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.fft
from sklearn.decomposition import PCA
from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection

from skspectral.random_projection import (
    FFTEmbeddingReducer,
    SubsampledRandomizedHadamard,
    recall_at_k,
)

from ._runner import Benchmark

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tweets_minilm.npy"


def load_embeddings():
    if DATA.exists():
        return np.load(DATA).astype(np.float32), DATA.name
    from skspectral.datasets import load_tweet_embeddings

    return load_tweet_embeddings(), "bundled 3,000-row subsample (shared data not found)"


def methods():
    """(name, factory(k, seed), random?) for every method compared."""
    return [
        ("PCA", lambda k, s: PCA(n_components=k, random_state=0), False),
        ("GaussianRP", lambda k, s: GaussianRandomProjection(k, random_state=s), True),
        ("SparseRP", lambda k, s: SparseRandomProjection(k, random_state=s), True),
        ("FFT magnitude (paper)", lambda k, s: FFTEmbeddingReducer(k, mode="magnitude"), False),
        (
            "FFT magnitude, energy",
            lambda k, s: FFTEmbeddingReducer(k, mode="magnitude", select="energy"),
            False,
        ),
        ("FFT fourier", lambda k, s: FFTEmbeddingReducer(k, mode="fourier"), False),
        (
            "FFT fourier, energy",
            lambda k, s: FFTEmbeddingReducer(k, mode="fourier", select="energy"),
            False,
        ),
        ("FFT dct", lambda k, s: FFTEmbeddingReducer(k, mode="dct"), False),
        (
            "FFT dct, energy",
            lambda k, s: FFTEmbeddingReducer(k, mode="dct", select="energy"),
            False,
        ),
        ("SRHT hadamard", lambda k, s: SubsampledRandomizedHadamard(k, random_state=s), True),
        (
            "SRHT dct",
            lambda k, s: SubsampledRandomizedHadamard(k, basis="dct", random_state=s),
            True,
        ),
        (
            "FJLT sparse",
            lambda k, s: SubsampledRandomizedHadamard(k, projection="sparse", random_state=s),
            True,
        ),
    ]


def quality(bench, X, ks, seeds):
    for name, make, is_random in methods():
        values = {}
        for k in ks:
            recalls = [
                recall_at_k(X, make(k, s).fit_transform(X), k=10, n_queries=1000, random_state=0)
                for s in (seeds if is_random else [0])
            ]
            values[f"k={k}"] = round(float(np.mean(recalls)), 4)
            if is_random:
                values[f"sd k={k}"] = round(float(np.std(recalls)), 4)
        bench.record(f"recall@10 {name}", **values)


def speed(bench, quick):
    rng = np.random.default_rng(0)
    n_wide = 20_000 if quick else 200_000
    X = rng.standard_normal((n_wide, 4096), dtype=np.float32)
    srht = SubsampledRandomizedHadamard(256, random_state=0, n_jobs=-1).fit(X[:1000])
    grp = GaussianRandomProjection(256, random_state=0).fit(X[:1000])
    bench.compare(
        f"SRHT {n_wide:,} x 4,096 -> 256 f32",
        ours=lambda: srht.transform(X),
        anchor=lambda: grp.transform(X),
        anchor_name="GaussianRP.transform",
        repeats=5,
    )
    del X
    n_long = 100_000 if quick else 1_000_000
    X = rng.standard_normal((n_long, 384), dtype=np.float32)
    srht = SubsampledRandomizedHadamard(64, random_state=0, n_jobs=-1).fit(X[:1000])
    srht_dct = SubsampledRandomizedHadamard(64, basis="dct", random_state=0, n_jobs=-1)
    srht_dct.fit(X[:1000])
    grp = GaussianRandomProjection(64, random_state=0).fit(X[:1000])
    bench.compare(
        f"SRHT {n_long:,} x 384 -> 64 f32",
        ours=lambda: srht.transform(X),
        anchor=lambda: grp.transform(X),
        anchor_name="GaussianRP.transform",
        repeats=5,
    )
    bench.compare(
        f"SRHT dct {n_long:,} x 384 -> 64 f32",
        ours=lambda: srht_dct.transform(X),
        anchor=lambda: grp.transform(X),
        anchor_name="GaussianRP.transform",
        repeats=5,
    )
    for n_jobs, workers in ((-1, -1), (1, None)):
        mag = FFTEmbeddingReducer(64, mode="magnitude", n_jobs=n_jobs).fit(X[:10])
        dct = FFTEmbeddingReducer(64, mode="dct", n_jobs=n_jobs).fit(X[:10])
        bench.compare(
            f"FFT magnitude n_jobs={n_jobs} {n_long:,} x 384 -> 64 f32",
            ours=lambda mag=mag: mag.transform(X),
            anchor=lambda w=workers: np.abs(scipy.fft.rfft(X, axis=1, workers=w)[:, :64]),
            anchor_name="abs(scipy.fft.rfft)[:, :k]",
            repeats=5,
        )
        bench.compare(
            f"FFT dct n_jobs={n_jobs} {n_long:,} x 384 -> 64 f32",
            ours=lambda dct=dct: dct.transform(X),
            anchor=lambda w=workers: scipy.fft.dct(X, norm="ortho", axis=1, workers=w)[:, :64],
            anchor_name="scipy.fft.dct(norm='ortho')[:, :k]",
            repeats=5,
        )


def main():
    bench = Benchmark(
        "bench_reduce",
        "recall@10 on MiniLM embeddings (1,000 queries, database = all rows, self excluded); "
        "transform speed of SRHT / FFT reduction against GaussianRandomProjection and the "
        "equivalent scipy.fft one-liners",
    )
    X, source = load_embeddings()
    print(f"# quality data: {source}, {X.shape[0]:,} x {X.shape[1]}")
    ks = [64] if bench.quick else [32, 64, 128]
    seeds = [0, 1] if bench.quick else [0, 1, 2, 3, 4]
    quality(bench, X, ks, seeds)
    speed(bench, bench.quick)
    bench.finish()


if __name__ == "__main__":
    main()
