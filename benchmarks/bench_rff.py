"""Random Fourier features: kernel accuracy of every sampler against ``RBFSampler``, quantized
features at equal bits, and transform speed against ``RBFSampler``, ``Nystroem`` and the bare
product ``X @ W``.

Run from the repository root::

    python -m benchmarks.bench_rff                    # everything (tens of minutes)
    python -m benchmarks.bench_rff --part accuracy    # or speed, quantized, svm
    python -m benchmarks.bench_rff --quick            # smaller sizes, fewer seeds

Accuracy: relative Frobenius error ``||K - Z Z^T||_F / ||K||_F`` of the rbf kernel matrix
(``gamma = 1 / (d Var X)``, as ``gamma="scale"``) on 2,000 rows (Gaussian d = 64; MiniLM
sentence embeddings of ``shared/data/tweets_minilm.npy``, first 2,000 rows) and on
``load_digits`` (1,797 rows), mean of 5 seeds, ratio to RBFSampler's error at the same output
dimension. Speed: ours with ``n_jobs=-1`` (row blocks on all cores, one BLAS thread each);
the anchors with BLAS on all cores; ours and the anchor alternately in one process.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.kernel_approximation import Nystroem, RBFSampler
from sklearn.metrics.pairwise import rbf_kernel

from skspectral.kernel_approximation import QuantizedRandomFourierFeatures, RandomFourierFeatures

from ._runner import Benchmark

_HERE = Path(__file__).resolve()
_CANDIDATES = [_HERE.parents[i] / "shared" / "data" / "tweets_minilm.npy" for i in (2, 3)]


def load_tweets(n):
    for path in _CANDIDATES:
        if path.exists():
            return np.load(path)[:n].astype(np.float64), "tweets_minilm"
    from skspectral.datasets import load_tweet_embeddings

    return load_tweet_embeddings()[:n].astype(np.float64), "tweets_minilm (bundled subsample)"


def datasets(quick):
    n = 600 if quick else 2000
    rng = np.random.default_rng(0)
    out = [("gaussian d=64", rng.normal(size=(n, 64)))]
    X, name = load_tweets(n)
    out.append((name, X))
    digits = load_digits().data.astype(np.float64)
    out.append(("load_digits", digits[:n] if quick else digits))
    return out


def scale_gamma(X):
    return 1.0 / (X.shape[1] * X.var())


def rel_err(Z, K):
    return float(np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K))


# ---------------------------------------------------------------------------- accuracy
def _fitted(X, dim, g, sampling, features, seed):
    """A fitted map; ``"simplex"`` (Reid et al. 2023, not a public option: it measured no
    better than orthogonal) is the orthogonal map with its frequencies replaced."""
    from skspectral.kernel_approximation import _samplers

    public = "orthogonal" if sampling == "simplex" else sampling
    est = RandomFourierFeatures(
        n_components=dim, gamma=g, sampling=public, features=features, random_state=seed
    ).fit(X)
    if sampling == "simplex":
        m = est.n_frequencies_
        rng = np.random.RandomState(seed)
        est.random_weights_ = _samplers.simplex("rbf", {"gamma": g}, X.shape[1], m, rng)
    return est


def accuracy(bench):
    seeds = range(3 if bench.quick else 5)
    D = 1024
    configs = [
        ("iid cos", "iid", "cos"),
        ("iid cossin", "iid", "cossin"),
        ("orthogonal cos", "orthogonal", "cos"),
        ("orthogonal cossin", "orthogonal", "cossin"),
        ("structured cossin", "structured", "cossin"),
        ("qmc cos", "qmc", "cos"),
        ("qmc cossin", "qmc", "cossin"),
        ("simplex cos (not public)", "simplex", "cos"),
        ("simplex cossin (not public)", "simplex", "cossin"),
    ]
    for name, X in datasets(bench.quick):
        g = scale_gamma(X)
        K = rbf_kernel(X, gamma=g)
        for dim in [D] if bench.quick else [D, 4096]:
            base = np.mean(
                [
                    rel_err(
                        RBFSampler(gamma=g, n_components=dim, random_state=s).fit_transform(X), K
                    )
                    for s in seeds
                ]
            )
            row = {"RBFSampler": base}
            for label, sampling, features in configs:
                if dim != D and sampling not in ("qmc", "orthogonal", "simplex"):
                    continue
                e = np.mean(
                    [
                        rel_err(_fitted(X, dim, g, sampling, features, s).transform(X), K)
                        for s in seeds
                    ]
                )
                row[label] = e / base
            bench.record(f"rel. Frobenius error / RBFSampler's, {name}, D={dim}", **row)


# ---------------------------------------------------------------------------- quantized
def _quantized_configs(bits):
    """(label, params) at about ``bits`` bits per sample."""
    out = [("float32 RFF", None, bits // 32)]
    for b in (1, 2):
        out.append((f"MSQ {b}-bit", dict(quantizer="msq", n_bits=b), bits // b))
        out.append((f"stochastic {b}-bit", dict(quantizer="stochastic", n_bits=b), bits // b))
    out.append(("semi-quantized (asym.)", dict(quantizer="semi"), bits))
    out.append(
        (
            "noise shaping 1-bit b=1.5 l=8",
            dict(quantizer="noise_shaping", n_bits=1, beta=1.5, block_size=8),
            bits,
        )
    )
    # Sigma-Delta codes are the condensed integers: p * code_bits bits
    for r, nb, lam in ((1, 1, 15), (1, 2, 15), (2, 1, 9), (2, 2, 9)):
        probe = QuantizedRandomFourierFeatures(
            n_components=lam, quantizer="sigma_delta", order=r, n_bits=nb, block_size=lam
        )
        probe._setup_quantizer()
        p = max(1, bits // probe.code_bits_)
        out.append(
            (
                f"Sigma-Delta r={r} {nb}-bit l={lam}",
                dict(quantizer="sigma_delta", order=r, n_bits=nb, block_size=lam),
                p * lam,
            )
        )
        if r == 2 and nb == 1:
            out.append(
                (
                    f"Sigma-Delta r={r} {nb}-bit l={lam} (asym.)",
                    dict(quantizer="sigma_delta", order=r, n_bits=nb, block_size=lam, asym=True),
                    p * lam,
                )
            )
    return out


def _quantized_error(X, K, g, params, m, seed):
    if params is None:
        Z = RandomFourierFeatures(n_components=max(m, 1), gamma=g, random_state=seed)
        Z = Z.fit_transform(X.astype(np.float32)).astype(np.float64)
        return rel_err(Z, K), 32 * max(m, 1)
    params = dict(params)
    asym = params.pop("asym", False) or params["quantizer"] == "semi"
    q = QuantizedRandomFourierFeatures(n_components=m, gamma=g, random_state=seed, **params)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q.fit(X)
        Z = q.transform(X)
        if asym:
            A = Z @ q.transform_unquantized(X).T
        else:
            A = Z @ Z.T
    return float(np.linalg.norm(A - K) / np.linalg.norm(K)), q.bits_per_sample_


def quantized(bench):
    seeds = range(2)
    budgets = [512, 2048] if bench.quick else [512, 2048, 8192]
    sets = [d for d in datasets(bench.quick) if d[0] != "gaussian d=64"]
    if not bench.quick:
        sets = [(name, X[:1000]) for name, X in sets]
    for name, X in sets:
        g = scale_gamma(X)
        K = rbf_kernel(X, gamma=g)
        for label, params, _ in _quantized_configs(budgets[0]):
            row = {}
            for bits in budgets:
                mm = [c for c in _quantized_configs(bits) if c[0] == label][0][2]
                errs, used = [], None
                for s in seeds:
                    e, used = _quantized_error(X, K, g, params, mm, s)
                    errs.append(e)
                row[f"{bits}b"] = float(np.mean(errs))
                row[f"{bits}b used"] = used
            bench.record(f"{name}: {label}", **row)
    # decay with the block size at a fixed number p of condensed features (the paper's m)
    name, X = sets[-1]
    g = scale_gamma(X)
    K = rbf_kernel(X, gamma=g)
    p = 64
    for label, params in (
        ("Sigma-Delta r=1 1-bit", dict(quantizer="sigma_delta", order=1)),
        ("Sigma-Delta r=2 1-bit", dict(quantizer="sigma_delta", order=2)),
        ("Sigma-Delta r=2 2-bit", dict(quantizer="sigma_delta", order=2, n_bits=2)),
        ("noise shaping 1-bit b=1.5", dict(quantizer="noise_shaping")),
        ("condensed, not quantized", None),
    ):
        row = {}
        for lam in (3, 5, 9, 17, 33):
            if params is None:
                errs = []
                for s in seeds:
                    q = QuantizedRandomFourierFeatures(
                        n_components=p * lam, block_size=lam, gamma=g, random_state=s
                    ).fit(X)
                    errs.append(rel_err(q.transform_unquantized(X), K))
                row[f"l={lam}"] = float(np.mean(errs))
                continue
            errs, used = [], 0
            for s in seeds:
                e, used = _quantized_error(X, K, g, dict(params, block_size=lam), p * lam, s)
                errs.append(e)
            row[f"l={lam}"] = float(np.mean(errs))
            row[f"bits l={lam}"] = used
        bench.record(f"{name}, p={p}, error vs block size: {label}", **row)


def svm(bench):
    from sklearn.model_selection import train_test_split
    from sklearn.svm import LinearSVC

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float64)
    g = scale_gamma(X)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    seeds = range(2)
    budgets = [512, 2048] if bench.quick else [256, 1024, 4096]
    labels = [
        "float32 RFF",
        "MSQ 1-bit",
        "stochastic 1-bit",
        "stochastic 2-bit",
        "semi-quantized (asym.)",
        "noise shaping 1-bit b=1.5 l=8",
        "Sigma-Delta r=1 1-bit l=15",
        "Sigma-Delta r=2 1-bit l=9",
        "Sigma-Delta r=2 2-bit l=9",
    ]
    import warnings

    for label in labels:
        row = {}
        for bits in budgets:
            params, m = [(c[1], c[2]) for c in _quantized_configs(bits) if c[0] == label][0]
            accs, used = [], 0
            for s in seeds:
                if params is None:
                    f = RandomFourierFeatures(n_components=max(m, 1), gamma=g, random_state=s)
                    f.fit(Xtr)
                    Ztr, Zte, used = f.transform(Xtr), f.transform(Xte), 32 * max(m, 1)
                else:
                    f = QuantizedRandomFourierFeatures(
                        n_components=m, gamma=g, random_state=s, **params
                    )
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        f.fit(Xtr)
                        Ztr = f.transform(Xtr)
                        Zte = (
                            f.transform_unquantized(Xte)
                            if params["quantizer"] == "semi"
                            else f.transform(Xte)
                        )
                    used = f.bits_per_sample_
                clf = LinearSVC(C=1.0, max_iter=5000).fit(Ztr, ytr)
                accs.append(clf.score(Zte, yte))
            row[f"{bits}b"] = float(np.mean(accs))
            row[f"{bits}b used"] = used
        bench.record(f"digits LinearSVC accuracy: {label}", **row)
    lin = LinearSVC(C=1.0, max_iter=5000).fit(Xtr / 16, ytr).score(Xte / 16, yte)
    bench.record("digits LinearSVC accuracy: raw pixels (/16)", acc=float(lin))


# ---------------------------------------------------------------------------- speed
def _numpy_quantizer_loop(Y, lam, delta):
    """The straightforward NumPy loop: first-order Sigma-Delta, one column at a time,
    vectorized over rows; condensed by block sums."""
    n, m = Y.shape
    Q = np.empty_like(Y)
    u = np.zeros(n)
    for j in range(m):
        if j % lam == 0:
            u[:] = 0
        w = u + Y[:, j]
        q = np.where(w >= 0, delta / 2, -delta / 2)
        u = w - q
        Q[:, j] = q
    return Q.reshape(n, m // lam, lam).sum(axis=2)


def _speed_dense(bench, X):
    ours = RandomFourierFeatures(n_components=2048, random_state=0, n_jobs=-1).fit(X)
    ref = RBFSampler(n_components=2048, random_state=0).fit(X)
    W = ref.random_weights_.astype(X.dtype)
    tag = f"{X.shape[0]} x 64 -> 2048 {X.dtype.name}"
    bench.compare(
        f"transform {tag}",
        lambda: ours.transform(X),
        lambda: ref.transform(X),
        "RBFSampler",
        repeats=5,
    )
    bench.compare(
        f"floor: transform {tag}",
        lambda: ours.transform(X),
        lambda: X @ W,
        "bare X @ W (BLAS)",
        repeats=5,
    )


def speed(bench):
    n = 20_000 if bench.quick else 100_000
    rng = np.random.default_rng(0)
    X64 = rng.normal(size=(n, 64)) * 0.2
    for dtype in (np.float32, np.float64):
        _speed_dense(bench, X64.astype(dtype))
    X = X64.astype(np.float32)
    ours = RandomFourierFeatures(n_components=2048, random_state=0, n_jobs=-1).fit(X)
    ny = Nystroem(n_components=2048, random_state=0).fit(X[:5000])
    bench.compare(
        f"transform {n} x 64 -> 2048 float32",
        lambda: ours.transform(X),
        lambda: ny.transform(X),
        "Nystroem",
        repeats=3,
    )
    # structured, d = 1024 -> D = 4096
    ns = 4000 if bench.quick else 10_000
    Xs = rng.normal(size=(ns, 1024)).astype(np.float32) * 0.03
    st = RandomFourierFeatures(
        n_components=4096, sampling="structured", random_state=0, n_jobs=-1
    ).fit(Xs)
    ref = RBFSampler(n_components=4096, random_state=0).fit(Xs)
    Ws = ref.random_weights_
    bench.compare(
        f"structured {ns} x 1024 -> 4096 float32",
        lambda: st.transform(Xs),
        lambda: ref.transform(Xs),
        "RBFSampler",
        repeats=3,
    )
    bench.compare(
        f"structured {ns} x 1024 -> 4096 float32 ",
        lambda: st.transform(Xs),
        lambda: Xs @ Ws,
        "bare X @ W (BLAS)",
        repeats=3,
    )
    # quantization overhead, same map
    q = QuantizedRandomFourierFeatures(
        n_components=2048, block_size=8, random_state=0, n_jobs=-1
    ).fit(X)
    full = RandomFourierFeatures(n_components=2048, random_state=0, n_jobs=-1).fit(X)
    bench.compare(
        f"quantized (Sigma-Delta, l=8) {n} x 64 -> 2048",
        lambda: q.transform(X),
        lambda: full.transform(X),
        "RandomFourierFeatures (unquantized)",
        repeats=5,
    )
    # the quantizer alone against a NumPy loop
    from skspectral.kernel_approximation import _kernels

    Y = np.cos(rng.normal(size=(20_000, 2048)))
    out = np.empty((Y.shape[0], 256))
    codes = np.zeros((Y.shape[0], 1), np.uint8)
    v = np.ones(8)

    def numba_q():
        _kernels.quantize_rows.serial(Y, 1, 1, 2.0, 1.5, 8, v, 1.0, np.uint64(0), out, codes, False)

    numba_q()
    np.testing.assert_allclose(out, _numpy_quantizer_loop(Y, 8, 2.0))
    bench.compare(
        "quantizer alone 20000 x 2048 (1 thread)",
        numba_q,
        lambda: _numpy_quantizer_loop(Y, 8, 2.0),
        "NumPy loop over columns",
        repeats=3,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--part", choices=["accuracy", "quantized", "svm", "speed", "all"], default="all"
    )
    args, _ = parser.parse_known_args(sys.argv[1:])
    bench = Benchmark("bench_rff", "random Fourier features: accuracy, quantization, speed")
    parts = ["accuracy", "quantized", "svm", "speed"] if args.part == "all" else [args.part]
    for part in parts:
        globals()[part](bench)
    bench.finish()


if __name__ == "__main__":
    main()
